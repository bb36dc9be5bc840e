"""Profiles as data: rules with a Bahasa Indonesia title and rationale, a severity, references, a typed
check and a reversible remediation, validated when a profile file is loaded (`toolkit.compliance.loader`).

A remediation must be undoable, because issue 14 runs it after an approval and rolls it back when it
fails: either a playbook with its undo playbook, or, for network profiles, the existing Jaringan Intra
plan/diff/push/rollback path (``network-plan``), whose rollback already exists, or, for the API gateway,
gateway calls that each have an inverse (``gateway-change``: disable a consumer, a credential or an OAuth2
client, add a route-wide rate limit). A rule with no such remediation does not load.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, overload

from pydantic import BaseModel, ConfigDict, Field, model_validator

from toolkit.compliance.facts import GatewayFacts, ServerFacts, SwitchFacts
from toolkit.compliance.gateway_checks import GatewayAction, GatewayCheck
from toolkit.compliance.outcome import Outcome
from toolkit.compliance.server_checks import ServerCheck
from toolkit.compliance.switch_checks import SwitchCheck

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


class GatewayChangeRemediation(BaseModel):
    """Gateway (and Keycloak) calls, each with its inverse, on what the rule's check found.

    Only switches are offered: deleting a consumer or revoking a key cannot be undone (the secret is gone),
    so an orphan consumer or an expired key is *disabled*; ``add-rate-limit`` adds a route-wide limit of
    ``per_minute`` that the undo removes again."""
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["gateway-change"]
    action: GatewayAction
    per_minute: int | None = Field(default=None, ge=1, le=100000, description="add-rate-limit only")

    @model_validator(mode="after")
    def _per_minute_fits(self) -> GatewayChangeRemediation:
        if (self.action == "add-rate-limit") != (self.per_minute is not None):
            raise ValueError("per_minute is required for add-rate-limit and only for it")
        return self


Remediation = Annotated[PlaybookRemediation | NetworkPlanRemediation | GatewayChangeRemediation,
                        Field(discriminator="kind")]
REMEDIATION_KINDS: tuple[str, ...] = ("playbook", "network-plan", "gateway-change")


class _RuleBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=RULE_ID, description="stable id findings and waivers are keyed by, e.g. SD-SSH-01")
    title: str = Field(min_length=1, description="Bahasa Indonesia, as on the ticket")
    rationale: str = Field(min_length=1, description="Bahasa Indonesia: why the rule matters")
    severity: Severity
    references: tuple[Reference, ...] = Field(min_length=1)
    remediation: Remediation


class ServerRule(_RuleBase):
    check: ServerCheck

    def evaluate(self, facts: ServerFacts) -> Outcome:
        return self.check.evaluate(facts)


class SwitchRule(_RuleBase):
    check: SwitchCheck

    def evaluate(self, facts: SwitchFacts) -> Outcome:
        return self.check.evaluate(facts)


class GatewayRule(_RuleBase):
    check: GatewayCheck

    def evaluate(self, facts: GatewayFacts) -> Outcome:
        return self.check.evaluate(facts)


def _remediations_of(rules: tuple[_RuleBase, ...], kind: str, target: str, needs: str) -> None:
    for index, rule in enumerate(rules):
        if rule.remediation.kind != kind:
            raise ValueError(f"rules[{index}].remediation.kind: {rule.remediation.kind} does not fit a {target} "
                             f"profile; a {target} rule needs {needs}")


class _ProfileBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)


class ServerProfile(_ProfileBase):
    """Rules over `ServerFacts`; each remediated by a playbook with its undo playbook."""
    target: Literal["server"]
    rules: tuple[ServerRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _remediations_fit_target(self) -> ServerProfile:
        _remediations_of(self.rules, "playbook", "server", "a playbook with its undo_playbook")
        return self


class SwitchProfile(_ProfileBase):
    """Rules over `SwitchFacts`; each remediated through the Jaringan Intra plan/diff/push/rollback path."""
    target: Literal["switch"]
    rules: tuple[SwitchRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _remediations_fit_target(self) -> SwitchProfile:
        _remediations_of(self.rules, "network-plan", "switch", "network-plan (plan, diff, push, rollback)")
        return self


class GatewayProfile(_ProfileBase):
    """Rules over `GatewayFacts`; each remediated by reversible gateway calls (``gateway-change``)."""
    target: Literal["gateway"]
    rules: tuple[GatewayRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _remediations_fit_target(self) -> GatewayProfile:
        _remediations_of(self.rules, "gateway-change", "gateway", "gateway-change (calls with their inverse)")
        for index, rule in enumerate(self.rules):
            remediation = rule.remediation
            if isinstance(remediation, GatewayChangeRemediation) and remediation.action not in rule.check.remedies:
                raise ValueError(f"rules[{index}].remediation.action: {remediation.action} does not fit check "
                                 f"{rule.check.type} (it takes {', '.join(rule.check.remedies)})")
        return self


Profile = Annotated[ServerProfile | SwitchProfile | GatewayProfile, Field(discriminator="target")]
AnyProfile = ServerProfile | SwitchProfile | GatewayProfile
Rule = ServerRule | SwitchRule | GatewayRule
TARGETS: tuple[str, ...] = ("server", "switch", "gateway")


class RuleResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    rule_id: str
    title: str
    severity: Severity
    outcome: Outcome


def _result(rule: _RuleBase, outcome: Outcome) -> RuleResult:
    return RuleResult(rule_id=rule.id, title=rule.title, severity=rule.severity, outcome=outcome)


@overload
def evaluate(profile: ServerProfile, facts: ServerFacts) -> tuple[RuleResult, ...]: ...
@overload
def evaluate(profile: SwitchProfile, facts: SwitchFacts) -> tuple[RuleResult, ...]: ...
@overload
def evaluate(profile: GatewayProfile, facts: GatewayFacts) -> tuple[RuleResult, ...]: ...
def evaluate(profile: AnyProfile, facts: ServerFacts | SwitchFacts | GatewayFacts) -> tuple[RuleResult, ...]:
    """Every rule of ``profile`` on one target's facts, in the profile's order; pure."""
    if isinstance(profile, ServerProfile) and isinstance(facts, ServerFacts):
        return tuple(_result(r, r.evaluate(facts)) for r in profile.rules)
    if isinstance(profile, SwitchProfile) and isinstance(facts, SwitchFacts):
        return tuple(_result(r, r.evaluate(facts)) for r in profile.rules)
    if isinstance(profile, GatewayProfile) and isinstance(facts, GatewayFacts):
        return tuple(_result(r, r.evaluate(facts)) for r in profile.rules)
    raise TypeError(f"profile {profile.id} checks a {profile.target}, not {type(facts).__name__}")
