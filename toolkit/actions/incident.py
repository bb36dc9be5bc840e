"""The incident SOPs' own actions (evidence, recovery, compliance), registered together.

Containment actions live with `toolkit.containment`; these are the ones after it.
"""

from __future__ import annotations

from toolkit.actions.base import ActionRegistry


def register_incident_actions(registry: ActionRegistry) -> None:
    from toolkit.actions.compliance import VerifyFixesAction
    from toolkit.actions.evidence_action import EvidenceCollectAction
    from toolkit.actions.recovery import RestoreOrRebuildAction

    for action in (EvidenceCollectAction(), RestoreOrRebuildAction(), VerifyFixesAction()):
        registry.register(action)
