"""The incident SOPs' own actions (evidence, recovery, compliance), registered together.

Containment actions live with `toolkit.containment`; these are the ones after it.
"""

from __future__ import annotations

from toolkit.actions.base import ActionRegistry


def register_incident_actions(registry: ActionRegistry) -> None:
    from toolkit.actions.ansible.compliance import VerifyFixesAction
    from toolkit.actions.ansible.recovery import RestoreOrRebuildAction
    from toolkit.actions.documents.evidence import EvidenceCollectAction

    for action in (EvidenceCollectAction(), RestoreOrRebuildAction(), VerifyFixesAction()):
        registry.register(action)
