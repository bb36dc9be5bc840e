"""Plans and facts of the Audit TI actions, and the ticket fields they are computed from.

The profile and target come from the ticket's fields, validated again here (a ticket row can be edited):
a profile id and an inventory-style name, nothing that could become a path, a command or template text.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.actions.base import ActionContext, ActionFacts, ActionPlan
from toolkit.errors import InvalidInputError
from toolkit.ports.compliance_records import PROFILE_ID, RUN_ID, TARGET_NAME


class AuditTarget(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    profile: str = Field(pattern=PROFILE_ID)
    target: str = Field(pattern=TARGET_NAME)
    run_id: str | None = Field(default=None, pattern=RUN_ID)


def audit_target(ctx: ActionContext) -> AuditTarget:
    fields = ctx.ticket.fields
    try:
        return AuditTarget.model_validate(
            {"profile": fields.get("profil"), "target": fields.get("target"), "run_id": fields.get("run_id")})
    except ValidationError as exc:
        errors = [(str(e["loc"][0]) if e["loc"] else "-", e["msg"]) for e in exc.errors(include_url=False)]
        raise InvalidInputError("invalid Audit TI ticket: " + "; ".join(f"{f}: {m}" for f, m in errors),
                                errors=errors) from None


class IdentifyPlan(ActionPlan):
    action: Literal["compliance.identify"] = "compliance.identify"
    audit: AuditTarget


class CheckFacts(ActionFacts):
    """What a check of one target saw: the rules failing (unwaived), in error, waived; with evidence."""
    profile: str
    target: str
    run_id: str
    failing: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    waived: list[dict[str, Any]]
    unreachable: str | None = None


class PlanRemediationPlan(ActionPlan):
    action: Literal["compliance.plan_remediation"] = "compliance.plan_remediation"
    audit: AuditTarget


class RemediationFacts(ActionFacts):
    profile: str
    target: str
    rule_ids: list[str]
    plan: dict[str, Any] | None
    plan_digest: str | None


class RemediatePlan(ActionPlan):
    action: Literal["compliance.remediate"] = "compliance.remediate"
    audit: AuditTarget
    remediation: dict[str, Any] | None
    plan_digest: str | None


class RemediateFacts(ActionFacts):
    target: str
    applied: bool
    rolled_back: bool
    plan_digest: str | None


class VerifyPlan(ActionPlan):
    action: Literal["compliance.verify"] = "compliance.verify"
    audit: AuditTarget
