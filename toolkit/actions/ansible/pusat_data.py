"""The Pusat Data SOP's automated steps 5 and 6 (and the backup product) as Ansible actions.

Ticket fields reach a playbook only through the frozen vars models in `pusat_data_vars`; the
plan (playbook, target, extra vars with secret *names* only) is data stored with the job before
anything runs. The provisioning target is allocated from the inventory's ``pusat_data_pool`` (`toolkit.host_pool`)
when the job runs -- never while planning -- once per ticket and step, so two tickets never provision
the same server and a retry provisions the same one.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from toolkit.actions.ansible.pusat_data_vars import BackupVars, MonitoringVars, ProvisionVars, check_target
from toolkit.actions.ansible.runner import PlaybookRun, RunStatus, run_playbook
from toolkit.actions.base import (
    ActionContext,
    ActionFacts,
    ActionPlan,
    ActionResult,
    BaseAction,
    RunContext,
    prior_facts,
)
from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError
from toolkit.host_pool import POOL_GROUP, PoolHost, allocate_host, pool_hosts
from toolkit.ports.state import HostAllocations
from toolkit.settings import Settings

MONITORING_HOST_GROUP = "monitoring"


def _vars_error(exc: ValidationError, model: str) -> InvalidInputError:
    errors = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
    return InvalidInputError(f"{model}: " + "; ".join(f"{f}: {m}" for f, m in errors), errors=errors)


class HostNeed(BaseModel):
    """What the ticket asks of a pool host (checked against the host's declared capacity)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    vcpu: int = Field(ge=1)
    ram_gb: int = Field(ge=1)
    disk_gb: int = Field(ge=1)


class PlaybookPlan(ActionPlan):
    """One playbook run against one host: a named host, or (``host`` None) the host allocated from
    ``pool`` when the job runs. Extra vars hold secret *names* only (``secret_vars``)."""

    playbook: str
    inventory: str
    host: str | None
    address: str | None
    pool: str | None = None
    need: HostNeed | None = None
    limit_extra: tuple[str, ...] = Field(default=(), description="groups run together with the host")
    extra_vars: dict[str, Any]
    secret_vars: dict[str, str] = Field(default_factory=dict)


class ProvisionPlan(PlaybookPlan):
    action: Literal["ansible.provision_server"] = "ansible.provision_server"


class MonitoringPlan(PlaybookPlan):
    action: Literal["ansible.install_monitoring"] = "ansible.install_monitoring"


class BackupPlan(PlaybookPlan):
    action: Literal["ansible.configure_backup"] = "ansible.configure_backup"


class PlaybookFacts(ActionFacts):
    """A playbook run's outcome; ``spbe`` is what the playbook published with ``set_stats``."""

    playbook: str
    status: str
    rc: int | None
    duration_s: float
    hosts: dict[str, dict[str, int]]
    host: str
    address: str
    spbe: dict[str, Any] = Field(default_factory=dict)


# The actions that give a ticket its server: the hosting product's web server, the cloud product's VM.
PROVISIONING_ACTIONS = ("ansible.provision_server", "ansible.provision_cloud_vm")


def provisioned_host(ctx: ActionContext) -> tuple[str, str]:
    """The host the provisioning step of this ticket ran on, from its recorded result."""
    for action in PROVISIONING_ACTIONS:
        facts = prior_facts(ctx, action, PlaybookFacts)
        if facts is not None:
            return facts.host, facts.address
    raise NotFoundError(f"ticket {ctx.ticket.id} has no successful provisioning step to build on")


def existing_pool_host(ctx: ActionContext) -> tuple[str, str]:
    """The backup product's target: the server the applicant named (``hostname``), which must be a host of
    the inventory's ``pusat_data_pool`` -- a Pusat Data server spbe manages -- never any other machine."""
    name = ctx.ticket.fields.get("hostname")
    try:
        check_target(str(name))
    except ValueError:
        raise InvalidInputError("hostname: the server to back up must be named",
                                errors=[("hostname", "required for the backup product")]) from None
    for host in pool_hosts(ctx.settings.effective_inventory()):
        if host.name == name:
            return host.name, host.address
    raise InvalidInputError(f"hostname: {name!r} is not a server of {POOL_GROUP}",
                            errors=[("hostname", f"not a host of {POOL_GROUP}")])


def allocate_pool_host(settings: Settings, hosts: HostAllocations, ticket_id: str, step_id: str, need: HostNeed,
                       inventory: Path | None = None) -> PoolHost:
    """The pool host of (ticket, step), allocated on the first call and the same on every later one;
    ``hosts`` is the worker's store (``run.services.state.hosts``)."""
    candidates = pool_hosts(inventory or settings.effective_inventory())
    return allocate_host(hosts, ticket_id, candidates, need.vcpu, need.ram_gb, need.disk_gb, step_id)


class AnsiblePlaybookAction(BaseAction):
    """Common plan/execute for a playbook run against one host."""

    playbook = ""
    Plan: type[PlaybookPlan] = PlaybookPlan
    Facts = PlaybookFacts
    secret_vars: ClassVar[dict[str, str]] = {}  # extra var -> settings secret, resolved at execution
    limit_extra: tuple[str, ...] = ()

    def target(self, ctx: ActionContext) -> tuple[str, str] | None:
        """The named host and its address; None: a pool host, allocated when the job runs."""
        raise NotImplementedError

    def need(self, ctx: ActionContext) -> HostNeed | None:
        return None

    def variables(self, ctx: ActionContext, host: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def plan(self, ctx: ActionContext) -> PlaybookPlan:
        target = self.target(ctx)
        host, address = target if target is not None else (None, None)
        return self.Plan(
            action=self.name, playbook=self.playbook, inventory=str(ctx.settings.effective_inventory()),
            host=host, address=address, pool=None if target else POOL_GROUP, need=self.need(ctx),
            limit_extra=self.limit_extra, extra_vars=self.variables(ctx, host), secret_vars=dict(self.secret_vars),
        )

    def _target(self, ctx: ActionContext, plan: PlaybookPlan, run: RunContext) -> tuple[str, str, dict[str, Any]]:
        if plan.host is not None and plan.address is not None:
            return plan.host, plan.address, dict(plan.extra_vars)
        if plan.need is None:
            raise InvalidInputError(f"plan of {plan.action} names no host and no need to allocate one for")
        pooled = allocate_pool_host(ctx.settings, run.services.state.hosts, ctx.ticket.id, ctx.step.id, plan.need,
                                    Path(plan.inventory))
        run.log(f"host {pooled.name} ({pooled.address}) of {plan.pool} allocated to {ctx.ticket.id}")
        try:
            target = check_target(pooled.name)
        except ValueError as exc:
            raise ConfigurationError(f"pool host name {pooled.name!r}: {exc}") from None
        return pooled.name, pooled.address, {**plan.extra_vars, "spbe_target": target}

    def execute(self, ctx: ActionContext, plan: PlaybookPlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        host, address, extra = self._target(ctx, plan, run)
        for var, secret_name in plan.secret_vars.items():
            secret = ctx.settings.secret(secret_name)
            run.mask.add(secret)
            extra[var] = secret.get_secret_value()
        summary = run_playbook(
            PlaybookRun(
                playbook=ctx.settings.playbooks_dir / plan.playbook,
                inventory=Path(plan.inventory),
                limit=",".join((host, *plan.limit_extra)),
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
        facts = PlaybookFacts(playbook=plan.playbook, status=summary.status, rc=summary.rc,
                              duration_s=round(summary.duration_s, 2), hosts=hosts, host=host, address=address,
                              spbe=summary.stats.get("spbe", {}))
        failed = [f"{t.host}: {t.task}: {run.mask(t.msg)}" for t in summary.failed_tasks]
        changed = [f"{name}: {h.get('changed', 0)} changed" for name, h in hosts.items() if h.get("changed")]
        comment = run.services.renderer.render("comments", "hasil_aksi", {
            "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "berhasil": ok, "host": hosts,
            "durasi_s": summary.duration_s, "lampiran": [], "job_id": run.job_id,
            "ringkasan": ("Playbook " + plan.playbook + (" selesai." if ok else " gagal: " + "; ".join(failed))),
        })
        return ActionResult(
            ok=ok,
            summary=f"{plan.playbook} on {host}: {summary.status}"
                    + (f" ({'; '.join(failed)})" if failed else ""),
            comment=run.mask(comment), facts=facts, changed=changed,
            duration_s=time.monotonic() - started,
        )


def _common(ctx: ActionContext, host: str | None) -> dict[str, Any]:
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
    Plan = ProvisionPlan

    def target(self, ctx: ActionContext) -> None:
        return None  # a pool host, allocated when the job runs

    def need(self, ctx: ActionContext) -> HostNeed:
        fields = ctx.ticket.fields
        try:
            return HostNeed(vcpu=fields["vcpu"], ram_gb=fields["ram_gb"], disk_gb=fields["disk_gb"])
        except (ValidationError, KeyError) as exc:
            raise InvalidInputError(f"provision_server: vcpu, ram_gb and disk_gb are required positive numbers "
                                    f"({type(exc).__name__})", errors=[("vcpu", "required")]) from None

    def variables(self, ctx: ActionContext, host: str | None) -> dict[str, Any]:
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
    Plan = MonitoringPlan
    limit_extra = (MONITORING_HOST_GROUP,)  # the second play registers the target there

    def target(self, ctx: ActionContext) -> tuple[str, str]:
        return provisioned_host(ctx)

    def variables(self, ctx: ActionContext, host: str | None) -> dict[str, Any]:
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
    Plan = BackupPlan
    secret_vars: ClassVar[dict[str, str]] = {"spbe_backup_password": "backup_password"}

    def target(self, ctx: ActionContext) -> tuple[str, str]:
        """The backup product backs up the existing server the applicant named; the add-on of the hosting
        and cloud products, the server this ticket provisioned."""
        if ctx.ticket.fields.get("produk") == "backup":
            return existing_pool_host(ctx)
        return provisioned_host(ctx)

    def variables(self, ctx: ActionContext, host: str | None) -> dict[str, Any]:
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

    def execute(self, ctx: ActionContext, plan: PlaybookPlan, run: RunContext) -> ActionResult:
        secret = ctx.settings.secret("backup_password")
        run.mask.add(secret)
        try:  # the real password meets the same rules as everything else before it reaches a host
            BackupVars(ticket=ctx.ticket.id, app_name=ctx.ticket.fields["nama_aplikasi"], backup_password=secret)
        except ValidationError as exc:
            raise _vars_error(exc, "backup password") from None
        return super().execute(ctx, plan, run)
