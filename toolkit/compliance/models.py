"""Profiles as data: rules with a Bahasa Indonesia title and rationale, a severity, references, a typed
check and a reversible remediation, validated when a profile file is loaded (`toolkit.compliance.loader`).

A remediation must be undoable, because issue 14 runs it after an approval and rolls it back when it
fails: either a playbook with its undo playbook, or, for network profiles, the existing Jaringan Intra
plan/diff/push/rollback path (``network-plan``), whose rollback already exists. A rule with no such
remediation does not load.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from toolkit.compliance.facts import ServerFacts
from toolkit.compliance.outcome import Outcome
from toolkit.compliance.server_checks import ServerCheck

RULE_ID = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
PLAYBOOK = r"^[a-z0-9_]+(/[a-z0-9_]+)*\.yml$"


class Severity(StrEnum):
    RENDAH = "rendah"
    SEDANG = "sedang"
    TINGGI = "tinggi"
    KRITIS = "kritis"


class Reference(BaseModel):
    """Where a rule comes from, e.g. ``{source: CIS Debian Linux 12 Benchmark, item: "5.1.20"}``."""
    model_config = ConfigDict(frozen=True, extra="forbid")
    source: str = Field(min_length=1)
    item: str = Field(min_length=1)


class PlaybookRemediation(BaseModel):
    """A playbook (relative to ``playbooks_dir``) and the playbook that puts back what it changed."""
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["playbook"]
    playbook: str = Field(pattern=PLAYBOOK)
    undo_playbook: str = Field(pattern=PLAYBOOK)

    @model_validator(mode="after")
    def _undo_differs(self) -> PlaybookRemediation:
        if self.undo_playbook == self.playbook:
            raise ValueError("undo_playbook must be another playbook than playbook: a remediation is reversible")
        return self


class NetworkPlanRemediation(BaseModel):
    """The Jaringan Intra path: a typed plan, its diff for approval, push, and rollback from the backup."""
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["network-plan"]


Remediation = Annotated[PlaybookRemediation | NetworkPlanRemediation, Field(discriminator="kind")]
REMEDIATION_KINDS: tuple[str, ...] = ("playbook", "network-plan")


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=RULE_ID, description="stable id findings and waivers are keyed by, e.g. SD-SSH-01")
    title: str = Field(min_length=1, description="Bahasa Indonesia, as on the ticket")
    rationale: str = Field(min_length=1, description="Bahasa Indonesia: why the rule matters")
    severity: Severity
    references: tuple[Reference, ...] = Field(min_length=1)
    check: ServerCheck
    remediation: Remediation

    def evaluate(self, facts: ServerFacts) -> Outcome:
        return self.check.evaluate(facts)


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    target: Literal["server"] = Field(description="what the profile checks; its check types read that kind's facts")
    rules: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _remediations_fit_target(self) -> Profile:
        for index, rule in enumerate(self.rules):
            if isinstance(rule.remediation, NetworkPlanRemediation):
                raise ValueError(f"rules[{index}].remediation.kind: network-plan is the switch profiles' "
                                 f"remediation; a {self.target} rule needs a playbook with its undo_playbook")
        return self


class RuleResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    rule_id: str
    title: str
    severity: Severity
    outcome: Outcome


def evaluate(profile: Profile, facts: ServerFacts) -> tuple[RuleResult, ...]:
    """Every rule of ``profile`` on one target's facts, in the profile's order; pure."""
    return tuple(RuleResult(rule_id=r.id, title=r.title, severity=r.severity, outcome=r.evaluate(facts))
                 for r in profile.rules)
