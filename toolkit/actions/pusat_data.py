"""The Pusat Data SOP's automated steps 5 and 6 (and the backup product) as Ansible actions.

Ticket fields reach a playbook only through the frozen vars models in `pusat_data_vars`; the
plan (playbook, target, extra vars with secret *names* only) is data stored with the job before
anything runs. The target host is allocated to the ticket from the inventory's ``pusat_data_pool``
(`toolkit.host_pool`), once, so two tickets never provision the same server.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from toolkit.actions.ansible_runner import PlaybookRun, RunStatus, run_playbook
from toolkit.actions.base import ActionContext, ActionResult, RunContext
from toolkit.actions.pusat_data_vars import BackupVars, MonitoringVars, ProvisionVars
from toolkit.documents import TemplateRenderer
from toolkit.errors import InvalidInputError, NotFoundError
from toolkit.host_pool import HostPool, pool_hosts

MONITORING_HOST_GROUP = "monitoring"


def _vars_error(exc: ValidationError, model: str) -> InvalidInputError:
    errors = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
    return InvalidInputError(f"{model}: " + "; ".join(f"{f}: {m}" for f, m in errors), errors=errors)


def provisioned_host(ctx: ActionContext) -> tuple[str, str]:
    """The host the provisioning step of this ticket ran on, from its recorded result."""
    for job in ctx.prior.values():
        if job.action == ProvisionServerAction.name and job.result:
            facts = job.result.get("facts", {})
            return str(facts["host"]), str(facts["address"])
    raise NotFoundError(f"ticket {ctx.ticket.id} has no successful provisioning step to build on")


class AnsiblePlaybookAction:
    """Common plan/execute for a playbook run against one host."""

    name = ""
    playbook = ""
    idempotent = True
    secret_vars: dict[str, str] = {}

    def target(self, ctx: ActionContext) -> tuple[str, str]:
        raise NotImplementedError

    def variables(self, ctx: ActionContext, host: str, address: str) -> dict[str, Any]:
        raise NotImplementedError

    def limit(self, host: str) -> str:
        return host

    def plan(self, ctx: ActionContext) -> dict[str, Any]:
        host, address = self.target(ctx)
        return {
            "playbook": self.playbook,
            "inventory": str(ctx.settings.effective_inventory()),
            "host": host,
            "limit": self.limit(host),
            "address": address,
            "extra_vars": self.variables(ctx, host, address),
            "secret_vars": dict(self.secret_vars),
        }

    def execute(self, ctx: ActionContext, plan: dict[str, Any], run: RunContext) -> ActionResult:
        started = time.monotonic()
        extra = dict(plan["extra_vars"])
        for var, secret_name in plan.get("secret_vars", {}).items():
            secret = ctx.settings.secret(secret_name)
            run.mask.add(secret)
            extra[var] = secret.get_secret_value()
        summary = run_playbook(
            PlaybookRun(
                playbook=ctx.settings.playbooks_dir / plan["playbook"],
                inventory=Path(plan["inventory"]),
                limit=plan["limit"],
                extra_vars=extra,
                private_data_dir=run.work_dir / f"runner-job{run.job_id}-a{run.attempt}",
                timeout_s=ctx.settings.playbook_timeout_s,
            ),
            on_line=run.log,
            should_cancel=run.should_cancel,
            mask=run.mask,
        )
        ok = summary.status == RunStatus.SUCCESSFUL
        hosts = {name: stats.model_dump() for name, stats in summary.hosts.items()}
        facts = {
            "playbook": plan["playbook"], "status": summary.status, "rc": summary.rc,
            "duration_s": round(summary.duration_s, 2), "hosts": hosts,
            "host": plan["host"], "address": plan["address"],
            "spbe": summary.stats.get("spbe", {}),
        }
        failed = [f"{t.host}: {t.task}: {run.mask(t.msg)}" for t in summary.failed_tasks]
        changed = [f"{name}: {h.get('changed', 0)} changed" for name, h in hosts.items() if h.get("changed")]
        comment = TemplateRenderer(ctx.settings.templates_dir).render("comments", "hasil_aksi", {
            "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "berhasil": ok, "host": hosts,
            "durasi_s": summary.duration_s, "lampiran": [], "job_id": run.job_id,
            "ringkasan": ("Playbook " + plan["playbook"] + (" selesai." if ok else " gagal: " + "; ".join(failed))),
        })
        return ActionResult(
            ok=ok,
            summary=f"{plan['playbook']} on {plan['host']}: {summary.status}"
                    + (f" ({'; '.join(failed)})" if failed else ""),
            comment=run.mask(comment), facts=facts, changed=changed,
            duration_s=time.monotonic() - started,
        )


def _common(ctx: ActionContext, host: str) -> dict[str, Any]:
    return {"ticket": ctx.ticket.id, "target": host}


def opd_code(instansi: str) -> str:
    """A Prometheus-label-safe code for the agency name ("Dinas Kesehatan" -> "dinas-kesehatan")."""
    code = re.sub(r"[^a-z0-9]+", "-", instansi.lower()).strip("-")[:64].strip("-")
    return code or "opd"


def _cidrs(values: tuple[str, ...]) -> tuple[str, ...] | None:
    return values or None  # None: the inventory's own spbe_mgmt_cidrs / spbe_monitoring_cidrs apply


class ProvisionServerAction(AnsiblePlaybookAction):
    name = "ansible.provision_server"
    playbook = "provision_server.yml"

    def target(self, ctx: ActionContext) -> tuple[str, str]:
        fields = ctx.ticket.fields
        pool = HostPool(ctx.settings.state_dir / "allocations.db")
        host = pool.allocate(ctx.ticket.id, pool_hosts(ctx.settings.effective_inventory()),
                             int(fields["vcpu"]), int(fields["ram_gb"]), int(fields["disk_gb"]))
        return host.name, host.address

    def variables(self, ctx: ActionContext, host: str, address: str) -> dict[str, Any]:
        fields = ctx.ticket.fields
        try:
            model = ProvisionVars(
                **_common(ctx, host),
                hostname=fields["hostname"],
                app_name=fields["nama_aplikasi"],
                web_stack=fields.get("web_stack") or "nginx",
                mgmt_cidrs=_cidrs(ctx.settings.management_cidrs),
                monitoring_cidrs=_cidrs(ctx.settings.monitoring_cidrs),
            )
        except ValidationError as exc:
            raise _vars_error(exc, "provision_server vars") from None
        return model.to_extra_vars()


class InstallMonitoringAction(AnsiblePlaybookAction):
    name = "ansible.install_monitoring"
    playbook = "install_monitoring.yml"

    def limit(self, host: str) -> str:
        return f"{host},{MONITORING_HOST_GROUP}"  # the second play registers the target there

    def target(self, ctx: ActionContext) -> tuple[str, str]:
        return provisioned_host(ctx)

    def variables(self, ctx: ActionContext, host: str, address: str) -> dict[str, Any]:
        fields = ctx.ticket.fields
        try:
            model = MonitoringVars(**_common(ctx, host), hostname=fields["hostname"],
                                   opd=opd_code(str(fields.get("instansi", ""))))
        except ValidationError as exc:
            raise _vars_error(exc, "install_monitoring vars") from None
        return model.to_extra_vars()


class ConfigureBackupAction(AnsiblePlaybookAction):
    name = "ansible.configure_backup"
    playbook = "configure_backup.yml"
    secret_vars = {"spbe_backup_password": "backup_password"}

    def target(self, ctx: ActionContext) -> tuple[str, str]:
        return provisioned_host(ctx)

    def variables(self, ctx: ActionContext, host: str, address: str) -> dict[str, Any]:
        fields = ctx.ticket.fields
        try:
            # The password is resolved only at execution; a placeholder lets the rest be validated now.
            model = BackupVars(**_common(ctx, host), app_name=fields["nama_aplikasi"],
                               backup_password=SecretStr("placeholder-not-used"))
        except ValidationError as exc:
            raise _vars_error(exc, "configure_backup vars") from None
        data = model.to_extra_vars()
        del data["spbe_backup_password"]
        return data

    def execute(self, ctx: ActionContext, plan: dict[str, Any], run: RunContext) -> ActionResult:
        secret = ctx.settings.secret("backup_password")
        run.mask.add(secret)
        try:  # the real password meets the same rules as everything else before it reaches a host
            BackupVars(ticket=ctx.ticket.id, app_name=ctx.ticket.fields["nama_aplikasi"], backup_password=secret)
        except ValidationError as exc:
            raise _vars_error(exc, "backup password") from None
        return super().execute(ctx, plan, run)
