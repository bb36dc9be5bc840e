"""Compliance history and waivers as data (issue 14, points 5 and 6): what a run saw, rule by rule, and
which findings a person excused until when.

Why beside the state ports: the runner writes runs, the report and the metrics read them, the waiver
commands write waivers and the runner reads them, and the store that keeps both (`ComplianceHistory`,
`Waivers` in `toolkit.ports.state`) depends only on these models. Evidence is kept verbatim (what the
target said); escaping is the renderer's job.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

RUN_ID = r"^[a-f0-9]{32}$"
WAIVER_ID = r"^W-[0-9]{4,}$"
RULE_ID = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
PROFILE_ID = r"^[a-z][a-z0-9-]{1,63}$"
TARGET_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
USER = r"^[a-z][a-z0-9._-]{0,63}$"

Verdict = Literal["pass", "fail", "error"]
Trigger = Literal["schedule", "manual", "ticket"]
WaiverStatus = Literal["requested", "approved", "rejected", "revoked"]


class RuleRecord(BaseModel):
    """One rule on one target in one run. ``waiver`` names the approved, unexpired waiver that excused a
    ``fail`` (the verdict stays ``fail``; reports show it as waived and it opens no ticket)."""
    model_config = ConfigDict(frozen=True, extra="forbid")
    rule_id: Annotated[str, StringConstraints(pattern=RULE_ID)]
    title: str
    severity: Literal["rendah", "sedang", "tinggi", "kritis"]
    verdict: Verdict
    evidence: str = Field(max_length=20_000)
    waiver: Annotated[str, StringConstraints(pattern=WAIVER_ID)] | None = None


class TargetRecord(BaseModel):
    """One target in one run: its rules, or ``unreachable`` (the gather failure) with every rule ``error``."""
    model_config = ConfigDict(frozen=True, extra="forbid")
    target: Annotated[str, StringConstraints(pattern=TARGET_NAME)]
    unreachable: str | None = None
    rules: tuple[RuleRecord, ...]

    def failing(self) -> tuple[RuleRecord, ...]:
        """Failures no waiver excuses: what a ticket is opened for."""
        return tuple(r for r in self.rules if r.verdict == "fail" and r.waiver is None)

    def errors(self) -> tuple[RuleRecord, ...]:
        return tuple(r for r in self.rules if r.verdict == "error")


class ComplianceRun(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: Annotated[str, StringConstraints(pattern=RUN_ID)]
    profile: Annotated[str, StringConstraints(pattern=PROFILE_ID)]
    trigger: Trigger
    trigger_ref: str | None = Field(default=None, description="schedule id or ticket id", max_length=64)
    by: Annotated[str, StringConstraints(pattern=USER)]
    started_at: AwareDatetime
    finished_at: AwareDatetime
    targets: tuple[TargetRecord, ...]

    def pass_rate(self) -> float | None:
        """Share of rule results that passed or were waived, errors counted as not passing; None if empty."""
        results = [r for t in self.targets for r in t.rules]
        if not results:
            return None
        good = sum(1 for r in results if r.verdict == "pass" or (r.verdict == "fail" and r.waiver))
        return good / len(results)


class Waiver(BaseModel):
    """A rule excused on one target until ``expires_on`` (inclusive, in the deployment's zone), with a reason.

    Requested by one person, decided by another who holds the trait the catalog's roles name
    (``approves-compliance-waivers``); from the day after ``expires_on`` the finding counts again.
    """
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: Annotated[str, StringConstraints(pattern=WAIVER_ID)]
    profile: Annotated[str, StringConstraints(pattern=PROFILE_ID)]
    rule_id: Annotated[str, StringConstraints(pattern=RULE_ID)]
    target: Annotated[str, StringConstraints(pattern=TARGET_NAME)]
    reason: str = Field(min_length=10, max_length=2000)
    expires_on: date
    requested_by: Annotated[str, StringConstraints(pattern=USER)]
    requested_at: AwareDatetime
    status: WaiverStatus = "requested"
    decided_by: Annotated[str, StringConstraints(pattern=USER)] | None = None
    decided_at: AwareDatetime | None = None
    decision_note: str | None = Field(default=None, max_length=2000)

    def in_force(self, today: date) -> bool:
        return self.status == "approved" and today <= self.expires_on


class WaiverRequest(BaseModel):
    """What a person asks for; the store assigns the id and the times."""
    model_config = ConfigDict(frozen=True, extra="forbid")
    profile: Annotated[str, StringConstraints(pattern=PROFILE_ID)]
    rule_id: Annotated[str, StringConstraints(pattern=RULE_ID)]
    target: Annotated[str, StringConstraints(pattern=TARGET_NAME)]
    reason: str = Field(min_length=10, max_length=2000)
    expires_on: date

