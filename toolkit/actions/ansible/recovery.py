"""``recovery.restore_or_rebuild``: the Gorontalo SOP's "pemulihan sistem", on its two SLA paths.

With a backup (``ada_backup``, as decided on the ticket: 48 h) the application directory is restored
from the restic snapshot the Pusat Data backup playbook made; without one (72 h) the compromised copy is
set aside and the server rebuilt with the Pusat Data provisioning playbook (host name and application
kept). Either way the compromised files are moved to a root-only quarantine directory, never deleted.

A rebuild re-applies the baseline configuration but not the baseline firewall while the host is
isolated by the CSIRT (`toolkit.containment`): isolation owns the firewall until it is released.
If the ticket says there is a backup and the host has none, the step fails and says so: the SLA
path is a decision (``spbe ticket decide ... ada_backup=tidak``), not something to switch silently.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.actions.ansible.pusat_data_vars import AppName, ProvisionVars
from toolkit.actions.ansible.runner import PlaybookRun, PlaybookSummary, RunStatus, run_playbook
from toolkit.actions.base import ActionContext, ActionFacts, ActionPlan, ActionResult, BaseAction, RunContext
from toolkit.actions.documents.evidence import affected_host
from toolkit.domain.decisions import effective_fields
from toolkit.errors import ActionFailedError, InvalidInputError

RESTORE_PLAYBOOK = "restore_backup.yml"
PROVISION_PLAYBOOK = "provision_server.yml"
FIREWALL_TAG = "spbe_firewall"


class RestoreVars(BaseModel):
    """Variables of ``playbooks/restore_backup.yml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    target: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    ticket: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    mode: Literal["restore", "quarantine"]
    app_name: AppName | None = None
    snapshot: Annotated[str, Field(pattern=r"^(latest|[0-9a-f]{8,64})$")] = "latest"

    def to_extra_vars(self) -> dict[str, Any]:
        return {f"spbe_{k}": v for k, v in self.model_dump().items() if v is not None}


def _isolated(ctx: ActionContext, host: str) -> bool:
    try:
        from toolkit.containment.models import ContainmentKind
        from toolkit.containment.store import ContainmentStore
    except ImportError:  # containment not installed: nothing can be isolated
        return False
    path = Path(ctx.settings.state_dir) / "containment.db"
    if not path.exists():
        return False
    with ContainmentStore(path) as store:
        return store.open_for(ContainmentKind.ISOLATE_HOST, host) is not None


def _run(ctx: ActionContext, run: RunContext, playbook: str, host: str, extra: dict[str, Any], step: str,
         envvars: dict[str, str] | None = None) -> PlaybookSummary:
    return run_playbook(
        PlaybookRun(playbook=ctx.settings.playbooks_dir / playbook, inventory=ctx.settings.effective_inventory(),
                    limit=host, extra_vars=extra, envvars=envvars or {},
                    private_data_dir=run.work_dir / f"runner-job{run.job_id}-a{run.attempt}-{step}",
                    timeout_s=ctx.settings.playbook_timeout_s),
        on_line=run.log, should_cancel=run.should_cancel, mask=run.mask)


def _failed(summary: PlaybookSummary, what: str, host: str) -> ActionFailedError:
    reasons = "; ".join(f"{t.task}: {t.msg}" for t in summary.failed_tasks) or summary.status
    return ActionFailedError(f"{what} on {host} failed: {reasons}", host=host)


class RecoveryPlan(ActionPlan):
    action: Literal["recovery.restore_or_rebuild"] = "recovery.restore_or_rebuild"
    host: str
    address: str
    path: Literal["restore", "rebuild"]
    sla_variant: str
    playbooks: tuple[str, ...]
    restore_vars: RestoreVars


class RecoveryFacts(ActionFacts):
    """The recovery playbook's own report (application, snapshot, quarantine...) plus the path taken."""

    model_config = ConfigDict(frozen=True, extra="allow")
    path: str
    host: str
    address: str
    sla_variant: str
    rebuild: dict[str, Any] | None = None


class RestoreOrRebuildAction(BaseAction):
    name = "recovery.restore_or_rebuild"
    idempotent = True  # the quarantine is moved once per ticket; restore and provisioning converge
    Plan = RecoveryPlan
    Facts = RecoveryFacts

    def plan(self, ctx: ActionContext) -> RecoveryPlan:
        host, address = affected_host(ctx)
        fields = effective_fields(ctx.ticket.fields, ctx.timeline)
        path: Literal["restore", "rebuild"] = "restore" if fields.get("ada_backup") is True else "rebuild"
        try:
            mode: Literal["restore", "quarantine"] = "restore" if path == "restore" else "quarantine"
            first = RestoreVars(target=host, ticket=ctx.ticket.id, mode=mode,
                                app_name=fields.get("nama_aplikasi") or None)
        except ValidationError as exc:
            raise InvalidInputError(f"recovery vars: {exc.errors(include_url=False)[0]['msg']}") from None
        return RecoveryPlan(host=host, address=address, path=path, sla_variant=ctx.service.sla.select(fields).id,
                            playbooks=(RESTORE_PLAYBOOK,) + ((PROVISION_PLAYBOOK,) if path == "rebuild" else ()),
                            restore_vars=first)

    def execute(self, ctx: ActionContext, plan: RecoveryPlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        host = plan.host
        summary = _run(ctx, run, RESTORE_PLAYBOOK, host, plan.restore_vars.to_extra_vars(), "restore")
        if summary.status != RunStatus.SUCCESSFUL:
            raise _failed(summary, "recovery (" + plan.path + ")", host)
        facts: dict[str, Any] = dict(((summary.stats.get("spbe") or {}).get("recovery") or {}).get(host) or {})
        facts |= {"path": plan.path, "host": host, "address": plan.address, "sla_variant": plan.sla_variant}
        if plan.path == "rebuild":
            isolated = _isolated(ctx, host)
            try:
                provision = ProvisionVars(ticket=ctx.ticket.id, target=host, hostname=str(facts["hostname"]),
                                          app_name=str(facts["app"]))
            except (ValidationError, KeyError) as exc:
                raise ActionFailedError(f"rebuild of {host}: cannot build provisioning vars: {exc}") from None
            rebuilt = _run(ctx, run, PROVISION_PLAYBOOK, host, provision.to_extra_vars(), "rebuild",
                           {"ANSIBLE_SKIP_TAGS": FIREWALL_TAG} if isolated else None)
            if rebuilt.status != RunStatus.SUCCESSFUL:
                raise _failed(rebuilt, "rebuild (provision_server.yml)", host)
            facts["rebuild"] = {"firewall_kept_isolated": isolated,
                                "provision": ((rebuilt.stats.get("spbe") or {}).get("provision") or {}).get(host)}
        comment = run.services.renderer.render("comments", "hasil_pemulihan", {
            "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "job_id": run.job_id,
            "pemulihan": facts, "durasi_s": time.monotonic() - started})
        summary_line = (f"{host}: {plan.path} of {facts.get('app')} "
                        + (f"from snapshot {facts['snapshot']['id']}" if facts.get("snapshot") else "by provisioning"))
        return ActionResult(ok=True, summary=summary_line, comment=run.mask(comment),
                            facts=RecoveryFacts.model_validate(facts),
                            changed=[f"{host}: {plan.path}"], duration_s=time.monotonic() - started)
