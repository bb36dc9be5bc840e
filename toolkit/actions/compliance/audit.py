"""The Audit TI steps: identify the findings, plan their remediation, remediate as approved, verify.

Every step reads the target again through the same `toolkit.compliance.runner.sweep` a scheduled run uses
(read-only), so what the ticket says was found, fixed and verified is judged by one code path. Only
``compliance.remediate`` changes a target, and only with the plan the previous step attached, unchanged
(its digest), after the catalog's plan-approval step was approved by the role it names (the trusted
timeline: a forged approval row does not count). A remediation that fails part way is undone by the
remediator before the step fails, and the ticket says so.
"""

from __future__ import annotations

import time
from typing import Any

from toolkit.actions.base import ActionContext, ActionResult, BaseAction, RunContext, prior_facts
from toolkit.actions.compliance.audit_models import (
    AuditTarget,
    CheckFacts,
    IdentifyPlan,
    PlanRemediationPlan,
    RemediateFacts,
    RemediatePlan,
    RemediationFacts,
    VerifyPlan,
    audit_target,
)
from toolkit.compliance.gathering import RemediationPlan
from toolkit.compliance.runner import ComplianceKit, Sweep, sweep
from toolkit.domain.catalog.models import StepPurpose
from toolkit.domain.principal import ENGINE_USER
from toolkit.domain.tickets.models import EventKind
from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.compliance_records import TargetRecord


def _sweep(run: RunContext, audit: AuditTarget, ticket_id: str) -> Sweep:
    kit: ComplianceKit = run.services.compliance  # type: ignore[assignment]
    return sweep(run.services, kit, audit.profile, [audit.target], by=ENGINE_USER, trigger="ticket",
                 trigger_ref=ticket_id)


def _facts(audit: AuditTarget, run_id: str, record: TargetRecord) -> CheckFacts:
    return CheckFacts(profile=audit.profile, target=audit.target, run_id=run_id, unreachable=record.unreachable,
                      failing=[r.model_dump() for r in record.failing()],
                      errors=[r.model_dump() for r in record.errors()],
                      waived=[r.model_dump() for r in record.rules if r.waiver])


def _comment(run: RunContext, ctx: ActionContext, heading: str, facts: CheckFacts, **extra: Any) -> str:
    return str(run.services.renderer.render("comments", "hasil_audit_ti", {
        "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "judul": heading, "job_id": run.job_id,
        "hasil": facts.model_dump(), **extra}))


class IdentifyAction(BaseAction):
    """Audit TI step 1: the findings with severity and evidence, from the run that opened the ticket (its
    ``run_id``) or, for a ticket opened by hand, from a check run now."""
    name = "compliance.identify"
    idempotent = True  # reads only
    Plan = IdentifyPlan
    Facts = CheckFacts

    def plan(self, ctx: ActionContext) -> IdentifyPlan:
        return IdentifyPlan(audit=audit_target(ctx))

    def execute(self, ctx: ActionContext, plan: IdentifyPlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        audit = plan.audit
        record: TargetRecord | None = None
        run_id = audit.run_id
        if run_id is not None:
            try:
                stored = run.services.state.compliance_history.get(run_id)
                record = next((t for t in stored.targets if t.target == audit.target), None)
            except NotFoundError:
                record = None
        if record is None or run_id is None:
            done = _sweep(run, audit, ctx.ticket.id)
            run.services.state.compliance_history.record(done.run)
            run_id, record = done.run.id, done.run.targets[0]
        facts = _facts(audit, run_id, record)
        return ActionResult(ok=True, facts=facts, comment=run.mask(_comment(run, ctx, "Hasil identifikasi", facts)),
                            summary=f"{audit.profile} on {audit.target}: {len(facts.failing)} finding(s)",
                            duration_s=time.monotonic() - started)


class PlanRemediationAction(BaseAction):
    """Audit TI step 2: read the target again and compute the remediation of what still fails, as a plan
    (check-mode diff, network diff, gateway calls) attached to the ticket for the approver; changes nothing."""
    name = "compliance.plan_remediation"
    idempotent = True
    Plan = PlanRemediationPlan
    Facts = RemediationFacts

    def plan(self, ctx: ActionContext) -> PlanRemediationPlan:
        return PlanRemediationPlan(audit=audit_target(ctx))

    def execute(self, ctx: ActionContext, plan: PlanRemediationPlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        audit = plan.audit
        done = _sweep(run, audit, ctx.ticket.id)
        record = done.run.targets[0]
        failing = record.failing()
        checked = _facts(audit, done.run.id, record)
        if not failing:
            facts = RemediationFacts(profile=audit.profile, target=audit.target, rule_ids=[], plan=None,
                                     plan_digest=None)
            return ActionResult(ok=True, facts=facts, summary=f"nothing to remediate on {audit.target}",
                                comment=run.mask(_comment(run, ctx, "Rencana perbaikan", checked, rencana=None)),
                                duration_s=time.monotonic() - started)
        kit: ComplianceKit = run.services.compliance  # type: ignore[assignment]
        profile = kit.profile(audit.profile)
        ids = {r.rule_id for r in failing}
        rules = [r for r in profile.rules if r.id in ids]
        remediation: RemediationPlan = kit.remediator(profile.target).plan(
            audit.target, rules, done.facts[audit.target], run.work_dir)
        preview = run.mask(remediation.preview)
        attached = run.write_artifact(f"rencana-perbaikan-{audit.target}.txt", preview, media_type="text/plain")
        facts = RemediationFacts(profile=audit.profile, target=audit.target, rule_ids=list(remediation.rule_ids),
                                 plan=remediation.model_dump(mode="json"), plan_digest=remediation.digest())
        comment = _comment(run, ctx, "Rencana perbaikan", checked, rencana={
            "sidik": facts.plan_digest, "aturan": facts.rule_ids, "berkas": attached.name})
        return ActionResult(ok=True, facts=facts, comment=run.mask(comment),
                            artifacts=[attached],
                            summary=f"remediation of {audit.target}: {', '.join(facts.rule_ids)}",
                            duration_s=time.monotonic() - started)


def approved_remediation(ctx: ActionContext) -> RemediationFacts:
    """The attached plan, after checking it is intact and the plan-approval step was approved."""
    facts = prior_facts(ctx, PlanRemediationAction.name, RemediationFacts)
    if facts is None:
        raise NotFoundError(f"ticket {ctx.ticket.id} has no remediation plan to carry out")
    if facts.plan is not None and RemediationPlan.model_validate(facts.plan).digest() != facts.plan_digest:
        raise ConflictError("the recorded remediation plan does not match its digest; plan it again")
    approval = ctx.service.step_with(StepPurpose.PLAN_APPROVAL)
    if approval is None or not any(e.kind == EventKind.APPROVED and e.step_id == approval.id for e in ctx.timeline):
        raise ConflictError(f"the remediation plan of {ctx.ticket.id} is not approved")
    return facts


class RemediateAction(BaseAction):
    """Audit TI step 4: run exactly the approved plan; undone by the remediator when it fails part way."""
    name = "compliance.remediate"
    idempotent = False  # changes targets: a second attempt is the operator's decision (spbe jobs retry)
    Plan = RemediatePlan
    Facts = RemediateFacts

    def plan(self, ctx: ActionContext) -> RemediatePlan:
        facts = approved_remediation(ctx)
        return RemediatePlan(audit=audit_target(ctx), remediation=facts.plan, plan_digest=facts.plan_digest)

    def execute(self, ctx: ActionContext, plan: RemediatePlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        target = plan.audit.target
        if plan.remediation is None:
            facts = RemediateFacts(target=target, applied=False, rolled_back=False, plan_digest=None)
            return ActionResult(ok=True, facts=facts, summary=f"nothing to remediate on {target}",
                                comment="Tidak ada perbaikan yang perlu dijalankan: seluruh aturan sudah terpenuhi.")
        remediation = RemediationPlan.model_validate(plan.remediation)
        if remediation.digest() != plan.plan_digest:
            raise ConflictError("the stored remediation plan does not match the approved digest")
        kit: ComplianceKit = run.services.compliance  # type: ignore[assignment]
        outcome = kit.remediator(remediation.kind).apply(remediation, run.work_dir, run.log)
        facts = RemediateFacts(target=target, applied=outcome.ok, rolled_back=outcome.rolled_back,
                               plan_digest=plan.plan_digest)
        comment = run.services.renderer.render("comments", "hasil_perbaikan_kepatuhan", {
            "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "job_id": run.job_id, "target": target,
            "aturan": list(remediation.rule_ids), "berhasil": outcome.ok, "dibatalkan": outcome.rolled_back,
            "galat": run.mask(outcome.error or ""), "sidik": plan.plan_digest})
        return ActionResult(ok=outcome.ok, facts=facts, comment=run.mask(str(comment)),
                            changed=[target] if outcome.ok else [],
                            summary=(f"remediated {target}" if outcome.ok else
                                     f"remediation of {target} failed{' and was rolled back' * outcome.rolled_back}: "
                                     f"{run.mask(outcome.error or '')}"),
                            duration_s=time.monotonic() - started)


class VerifyAction(BaseAction):
    """Audit TI step 5: check every rule of the profile again; passes only when nothing fails unwaived and
    nothing is in error, so the ticket (which closes itself) stays open with what remains."""
    name = "compliance.verify"
    idempotent = True
    Plan = VerifyPlan
    Facts = CheckFacts

    def plan(self, ctx: ActionContext) -> VerifyPlan:
        return VerifyPlan(audit=audit_target(ctx))

    def execute(self, ctx: ActionContext, plan: VerifyPlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        audit = plan.audit
        done = _sweep(run, audit, ctx.ticket.id)
        run.services.state.compliance_history.record(done.run)
        record = done.run.targets[0]
        facts = _facts(audit, done.run.id, record)
        ok = not facts.failing and not facts.errors
        return ActionResult(ok=ok, facts=facts, comment=run.mask(_comment(run, ctx, "Hasil verifikasi", facts)),
                            summary=f"verification of {audit.target}: " + (
                                "all rules pass" if ok else
                                f"{len(facts.failing)} failing, {len(facts.errors)} in error"),
                            duration_s=time.monotonic() - started)
