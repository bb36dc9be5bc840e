"""The Jaringan Intra actions' data: the request they accept, their plans and the facts they record.

Kept apart from the actions so the shapes an approver sees (plans) and later steps and documents read
(facts) are one short file; the analysis facts carry the plan digest the head of office approves.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from toolkit.actions.base import ActionFacts, ActionPlan
from toolkit.network.inventory import ID_RE
from toolkit.settings import QualityThresholds

PLAN_KIND = "network_plan"  # the attachment kind of the analysis's plan (a `NetworkChange` as JSON)


def plan_attachment(ticket_id: str) -> str:
    """The name of the plan file the analysis attaches to the ticket (`spbe network verify --ticket`)."""
    return f"{ticket_id}_plan.json"


class JaringanRequest(BaseModel):
    """The ticket fields the network steps use, validated against the inventory."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    site: str = Field(pattern=ID_RE, max_length=64)
    users: int = Field(ge=1, le=500)
    apps: tuple[str, ...] = Field(min_length=1, max_length=20)

    @field_validator("apps", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("apps")
    @classmethod
    def _ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for app in value:
            if not re.fullmatch(ID_RE, app):
                raise ValueError(f"invalid application code {app[:40]!r}: lower-case letters, digits and '-'")
        if len(set(value)) != len(value):
            raise ValueError("an application is listed twice")
        return value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Analysis(_Frozen):
    """What the analysis found and chose: the plan, every device's rendered lines and diff, and the
    digest over plan and lines that the head of office approves."""

    site: str
    site_name: str
    opd: str
    users: int
    vlan_id: int
    vlan_name: str
    subnet: str
    gateway: str
    netmask: str
    usable_hosts: int
    ports: dict[str, list[str]]
    apps: list[dict[str, Any]]
    devices: list[dict[str, Any]]
    plan: dict[str, Any]
    rendered: dict[str, list[str]]
    diffs: dict[str, str]
    plan_digest: str


class AnalysisNetwork(_Frozen):
    analysis: Analysis


class AnalysisFacts(ActionFacts):
    network: AnalysisNetwork


class Install(_Frozen):
    vlan_id: int
    acl_name: str
    plan_digest: str
    devices: list[dict[str, Any]]
    ok: bool


class InstallNetwork(_Frozen):
    install: Install


class InstallFacts(ActionFacts):
    network: InstallNetwork


class Quality(_Frozen):
    ok: bool
    vlan_id: int
    subnet: str
    thresholds: dict[str, Any]
    results: list[dict[str, Any]]


class QualityNetwork(_Frozen):
    quality: Quality


class QualityFacts(ActionFacts):
    network: QualityNetwork


class AnalysePlan(ActionPlan):
    action: Literal["network.analyse"] = "network.analyse"
    request: JaringanRequest
    inventory: str


class InstallPlan(ActionPlan):
    """The approved analysis this job pushes, by its digest (the worker refuses any other)."""

    action: Literal["network.install"] = "network.install"
    plan_digest: str
    site: str
    vlan_id: int
    devices: tuple[str, ...]


class QualityPlan(ActionPlan):
    action: Literal["network.quality_test"] = "network.quality_test"
    vlan_id: int
    prober: str | None
    thresholds: QualityThresholds
