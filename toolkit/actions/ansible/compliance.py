"""``compliance.verify_fixes``: the SOP's "verifikasi perbaikan keamanan siber pada sistem".

Runs the read-only ``hardening_check.yml`` on the affected object and judges what it saw with
`toolkit.compliance.hardening`. The step succeeds when no check failed; a failed check fails the step with the
findings on the ticket (in Bahasa Indonesia), so the owning team fixes and the CSIRT re-runs it
(``spbe jobs retry``). Checks that could not be verified are listed as such, never as passed.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.actions.ansible.runner import PlaybookRun, RunStatus, run_playbook
from toolkit.actions.base import ActionContext, ActionFacts, ActionPlan, ActionResult, BaseAction, RunContext
from toolkit.actions.documents.evidence import affected_host
from toolkit.compliance.hardening import Policy, evaluate, verdict
from toolkit.errors import ActionFailedError

PLAYBOOK = "hardening_check.yml"
LABELS = {"lulus": "Lulus", "gagal": "Gagal", "tidak_dapat_diperiksa": "Tidak dapat diperiksa"}


class HardeningVars(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    target: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    ticket: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    web_roots: tuple[str, ...] = ("/srv/apps", "/var/www")

    def to_extra_vars(self) -> dict[str, Any]:
        return {"spbe_target": self.target, "spbe_ticket": self.ticket, "spbe_web_roots": list(self.web_roots)}


class VerifyPlan(ActionPlan):
    action: Literal["compliance.verify_fixes"] = "compliance.verify_fixes"
    playbook: str = PLAYBOOK
    host: str
    address: str
    vars: HardeningVars
    policy: Policy


class VerifyFacts(ActionFacts):
    host: str
    address: str
    verdict: str
    checks: list[dict[str, Any]]
    counts: dict[str, int]


class VerifyFixesAction(BaseAction):
    name = "compliance.verify_fixes"
    idempotent = True  # read-only
    Plan = VerifyPlan
    Facts = VerifyFacts

    def plan(self, ctx: ActionContext) -> VerifyPlan:
        host, address = affected_host(ctx)
        return VerifyPlan(host=host, address=address, vars=HardeningVars(target=host, ticket=ctx.ticket.id),
                          policy=Policy())

    def execute(self, ctx: ActionContext, plan: VerifyPlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        host = plan.host
        extra = plan.vars.to_extra_vars()
        summary = run_playbook(
            PlaybookRun(playbook=ctx.settings.playbooks_dir / PLAYBOOK, inventory=ctx.settings.effective_inventory(),
                        limit=host, extra_vars=extra, timeout_s=ctx.settings.playbook_timeout_s,
                        private_data_dir=run.work_dir / f"runner-job{run.job_id}-a{run.attempt}"),
            on_line=run.log, should_cancel=run.should_cancel, mask=run.mask)
        if summary.status != RunStatus.SUCCESSFUL:
            reasons = "; ".join(f"{t.task}: {t.msg}" for t in summary.failed_tasks) or summary.status
            raise ActionFailedError(f"hardening check on {host} could not run: {reasons}", host=host)
        raw = ((summary.stats.get("spbe") or {}).get("hardening") or {}).get(host) or {}
        checks = evaluate(raw, plan.policy)
        result = verdict(checks)
        facts = VerifyFacts(host=host, address=plan.address, verdict=result, checks=[c.model_dump() for c in checks],
                            counts={s: sum(1 for c in checks if c.status == s) for s in LABELS})
        comment = run.services.renderer.render("comments", "hasil_verifikasi_keamanan", {
            "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "job_id": run.job_id, "host": host,
            "alamat": plan.address, "hasil": result, "label": LABELS, "pemeriksaan": facts.checks,
            "durasi_s": time.monotonic() - started})
        failed = [c.id for c in checks if c.status == "gagal"]
        return ActionResult(ok=not failed, comment=run.mask(comment), facts=facts,
                            summary=f"hardening of {host}: {result}" + (f" ({', '.join(failed)})" if failed else ""),
                            duration_s=time.monotonic() - started)
