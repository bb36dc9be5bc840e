"""What the Audit TI actions ask of compliance (`Services.compliance`): profiles, and per target kind how to
read facts and how to put a target right.

A port rather than `toolkit.compliance.runner.ComplianceKit` itself because `toolkit.services` sits below
the features: it may name this Protocol, not the kit. Results are typed ``Any`` here for the same reason;
the kit's own signatures (`Gatherer`, `Remediator`, the profile models) are what mypy checks in the
features that use them.
"""

from __future__ import annotations

from typing import Any, Protocol


class ComplianceTools(Protocol):
    def profile(self, profile_id: str) -> Any:
        """The loaded profile; `NotFoundError` for an unknown id."""
        ...

    def gatherer(self, kind: str) -> Any:
        """The `toolkit.compliance.gathering.Gatherer` of ``kind``; `ConfigurationError` when none is wired."""
        ...

    def remediator(self, kind: str) -> Any:
        """The `toolkit.compliance.gathering.Remediator` of ``kind``; `ConfigurationError` when none is wired."""
        ...
