"""The two seams between a compliance run and its targets: reading facts and changing them back to the rule.

Why Protocols here: the runner (`toolkit.compliance.runner`) knows profiles, findings, tickets and history;
*how* a server, a switch or the API gateway is read (one SSH session, netmiko ``show`` commands, the
gateway's admin API and Keycloak) and how it is put right (a playbook with its undo, the Jaringan Intra
plan/diff/push/rollback path, gateway calls) belongs to one module per target kind, chosen by the
profile's ``target``. Each is built once by the composition root and handed to the runner.

**Reading never changes a target** (issue 14, point 2). A target whose facts could not be read at all
(unreachable, timeout, authentication) comes back as a `GatherFailure`, and every rule of the profile ends
``error`` on it: never a pass.

**A remediation is a plan before it is a change.** `Remediator.plan` computes, without changing anything,
what would be done (the check-mode diff, the network diff, the list of gateway calls) as a
`RemediationPlan` the ticket shows and the approver approves by its digest; `apply` runs exactly that plan
and, when it fails part way, undoes what it did before raising; `undo` puts back the before-state the plan
recorded. Plans are pydantic models so the plan stored on the ticket is the plan run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from toolkit.compliance.facts import GatewayFacts, ServerFacts, SwitchFacts

TargetKind = Literal["server", "switch", "gateway"]
Facts = ServerFacts | SwitchFacts | GatewayFacts


class GatherFailure(BaseModel):
    """A target that could not be read at all; every rule ends ``error`` with this reason as evidence."""
    model_config = ConfigDict(frozen=True)
    target: str
    reason: str = Field(description="short, masked, English or Indonesian; shown on the ticket")


class Gatherer(Protocol):
    """Reads the facts of targets of one kind, read-only, one session per target, targets in parallel."""

    kind: TargetKind

    def resolve(self, selectors: Sequence[str]) -> list[str]:
        """Target names for selectors (inventory names, ``group:NAME``, ``*``); an unknown name raises
        `toolkit.errors.NotFoundError` naming it, before anything is read."""
        ...

    def gather(self, targets: Sequence[str],
               progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """``{target: facts model | GatherFailure}`` for every target asked; ``progress(target)`` after each."""
        ...


class RemediationPlan(BaseModel):
    """What a remediation will do to one target, as data attached to the ticket before anything runs.

    ``preview`` is the human-readable diff (check-mode diff, network diff, gateway calls) shown on the
    ticket; ``detail`` is what `Remediator.apply` needs, kind-specific and validated by the remediator.
    """
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: TargetKind
    target: str
    rule_ids: tuple[str, ...] = Field(min_length=1)
    preview: str
    detail: Mapping[str, Any] = Field(default_factory=dict)

    def digest(self) -> str:
        """SHA-256 of the canonical JSON: what an approval approves and `apply` re-checks."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class RemediationOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: bool
    rolled_back: bool = False
    log: str = Field(default="", description="masked output worth keeping on the ticket")
    error: str | None = None


class Remediator(Protocol):
    """Puts one kind of target right for failing rules, reversibly."""

    kind: TargetKind

    def plan(self, target: str, rules: Sequence[Any], facts: Any, work_dir: Any) -> RemediationPlan:
        """The plan for ``rules`` (the profile's failing rule models) on ``target``; changes nothing."""
        ...

    def apply(self, plan: RemediationPlan, work_dir: Any, log: Callable[[str], None]) -> RemediationOutcome:
        """Run ``plan``; on failure undo what was done, then report ``ok=False, rolled_back=True``."""
        ...

    def undo(self, plan: RemediationPlan, work_dir: Any, log: Callable[[str], None]) -> RemediationOutcome:
        """Put back what ``plan`` changed (the undo playbooks, the network rollback, the reverse calls)."""
        ...
