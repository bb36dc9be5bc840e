"""The Jaringan Intra SOP's automated steps: analysis (4), installation (7) and quality test (8).

Ticket text never reaches a device: the request is reduced to a site id, a user count and app ids
(each checked against the network inventory), and everything a device sees (VLAN name, description,
addresses, ports, ACL) is chosen by the toolkit. The analysis step attaches the rendered
configuration and its diff against the running config; the head of office approves exactly that
plan (its SHA-256 is recorded), and the installation refuses to push anything else, including the
same plan onto a device whose configuration changed since the diff was shown.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from toolkit.actions.base import ActionContext, ActionResult, Artifact, BaseAction, RunContext, prior_facts
from toolkit.actions.network.jaringan_models import (
    PLAN_KIND,
    AnalysePlan,
    Analysis,
    AnalysisFacts,
    AnalysisNetwork,
    Install,
    InstallFacts,
    InstallNetwork,
    InstallPlan,
    JaringanRequest,
    Quality,
    QualityFacts,
    QualityNetwork,
    QualityPlan,
    plan_attachment,
)
from toolkit.domain.catalog.models import StepPurpose
from toolkit.domain.tickets.models import EventKind
from toolkit.errors import ActionFailedError, ConflictError, InvalidInputError, NotFoundError
from toolkit.network.allocation import Allocation, DeviceObservation, SiteObservation, allocate_segment
from toolkit.network.device_ops import DeviceResult
from toolkit.network.fanout import NetworkRunner
from toolkit.network.inventory import NetworkInventory, load_inventory
from toolkit.network.plan import NetworkChange, build_change
from toolkit.network.runner_factory import build_runner


def parse_request(ctx: ActionContext, inventory: NetworkInventory) -> JaringanRequest:
    fields = ctx.ticket.fields
    try:
        request = JaringanRequest.model_validate(
            {"site": fields.get("lokasi"), "users": fields.get("jumlah_user"), "apps": fields.get("aplikasi")})
    except ValidationError as exc:
        names = {"site": "lokasi", "users": "jumlah_user", "apps": "aplikasi"}
        errors = [(names.get(str(e["loc"][0]), str(e["loc"][0])) if e["loc"] else "-", e["msg"])
                  for e in exc.errors(include_url=False)]
        raise InvalidInputError("invalid Jaringan Intra request: " + "; ".join(f"{f}: {m}" for f, m in errors),
                                errors=errors) from None
    errors = []
    if request.site not in {s.id for s in inventory.sites}:
        errors.append(("lokasi", f"{request.site!r} is not a site of the network inventory"))
    known = {a.id for a in inventory.apps}
    errors += [("aplikasi", f"{app!r} is not a data-center application") for app in request.apps if app not in known]
    if errors:
        raise InvalidInputError("invalid Jaringan Intra request: " + "; ".join(f"{f}: {m}" for f, m in errors),
                                errors=errors)
    return request


def segment_change(inventory: NetworkInventory, ticket_id: str, request: JaringanRequest, allocation: Allocation,
                   used_vlans: set[int]) -> NetworkChange:
    """The plan for the allocated segment. What reaches the device templates from the ticket is only the
    validated site, user count and app codes (and the ticket id); a test renders this for every value
    intake accepts, so the templates never refuse an approved request."""
    return build_change(
        inventory, site=request.site, vlan_id=allocation.vlan_id, vlan_name=ticket_id,
        description=f"Tiket {ticket_id} {request.site} {request.users} pengguna", subnet=str(allocation.subnet),
        apps=request.apps, access_ports=allocation.ports,
        gateway_device=next(iter(allocation.ports)) if len(allocation.ports) > 1 else None,
        used_vlans=used_vlans,
    )


def network_inventory(ctx: ActionContext) -> NetworkInventory:
    return load_inventory(ctx.settings.network.inventory_file())


def runner(ctx: ActionContext, run: RunContext, inventory: NetworkInventory, site: str) -> NetworkRunner:
    """The fan-out runner, with every device secret of the site taught to the job's masker first."""
    devices = inventory.site(site).devices
    network = build_runner(ctx.settings, inventory)
    for device in devices:
        resolved = network.resolver.device(device)
        run.mask.add(resolved.password)
        if resolved.secret is not None:
            run.mask.add(resolved.secret)
    return network


def plan_digest(change: NetworkChange, rendered: dict[str, list[str]]) -> str:
    """SHA-256 over the plan and every device's rendered lines: what the approver saw, byte for byte."""
    payload = json.dumps({"plan": change.model_dump(mode="json"), "rendered": rendered}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def analysis_facts(ctx: ActionContext) -> Analysis:
    facts = prior_facts(ctx, NetworkAnalyseAction.name, AnalysisFacts)
    if facts is None:
        raise NotFoundError(f"ticket {ctx.ticket.id} has no successful network analysis to build on")
    return facts.network.analysis


def _plan_approval_id(ctx: ActionContext) -> str:
    approval = ctx.service.step_with(StepPurpose.PLAN_APPROVAL)
    return approval.id if approval is not None else "-"


def approved_change(ctx: ActionContext) -> tuple[NetworkChange, Analysis]:
    """The analysed plan, after checking it is intact and (when the catalog has the step) approved."""
    facts = analysis_facts(ctx)
    change = NetworkChange.model_validate(facts.plan)
    if plan_digest(change, facts.rendered) != facts.plan_digest:
        raise ConflictError("the recorded network plan does not match its digest; run the analysis again")
    approval = ctx.service.step_with(StepPurpose.PLAN_APPROVAL)
    if approval is not None and not any(
        e.kind == EventKind.APPROVED and e.step_id == approval.id for e in ctx.timeline  # the trusted timeline
    ):
        raise ConflictError(f"the network plan of {ctx.ticket.id} is not approved ({approval.id})")
    return change, facts


def _failed(results: Sequence[DeviceResult], what: str) -> ActionFailedError:
    detail = "; ".join(f"{r.device}: {r.error.message if r.error else r.outcome}" for r in results if not r.ok)
    return ActionFailedError(f"{what}: {detail}", devices=[r.device for r in results if not r.ok])


class NetworkAnalyseAction(BaseAction):
    """SOP step 4: read the site's devices, allocate VLAN/ports/subnet, attach the plan and its diff."""

    name = "network.analyse"
    Plan = AnalysePlan
    Facts = AnalysisFacts

    def plan(self, ctx: ActionContext) -> AnalysePlan:
        request = parse_request(ctx, network_inventory(ctx))
        return AnalysePlan(request=request, inventory=str(ctx.settings.network.inventory))

    def execute(self, ctx: ActionContext, plan: AnalysePlan, run: RunContext) -> ActionResult:
        from toolkit.network.render import render_change

        started = time.monotonic()
        inventory = network_inventory(ctx)
        request = plan.request
        site = inventory.site(request.site)
        network = runner(ctx, run, inventory, site.id)
        read = network.facts(site.devices).results
        if not all(r.ok for r in read):
            raise _failed(read, f"cannot read the devices of site {site.id}")
        observed = [DeviceObservation(device=r.device, vlans=r.facts.used_vlan_ids, port_vlans=r.facts.port_vlans)
                    for r in read if r.facts is not None]
        for r in read:
            run.log(f"read {r.device}: VLANs {list(r.facts.used_vlan_ids) if r.facts else []}")
        observation = SiteObservation(site=site.id, devices=tuple(observed))
        settings = ctx.settings.network
        allocation = allocate_segment(run.services.state.segments, ctx.ticket.id, inventory, observation,
                                      users=request.users, users_per_port=settings.users_per_access_port)
        change = segment_change(inventory, ctx.ticket.id, request, allocation, observation.used_vlans())
        rendered: dict[str, list[str]] = {}
        diffs: dict[str, str] = {}
        artifacts: list[Artifact] = []
        report = network.diff(change)
        if not report.ok:
            raise _failed(report.results, "cannot diff the plan against the running config")
        for ports in change.devices:
            rendered[ports.device] = render_change(change, ports.platform, ports.device)
            diffs[ports.device] = report.result(ports.device).diff
            for suffix, text in ((".cfg", "\n".join(rendered[ports.device]) + "\n"), (".diff", diffs[ports.device])):
                artifacts.append(run.write_artifact(
                    f"{ctx.ticket.id}_{ports.device}{suffix}", run.mask(text), media_type="text/plain",
                    kind="network_config" if suffix == ".cfg" else "network_diff"))
        digest = plan_digest(change, rendered)
        # for `spbe network diff|verify --ticket` (or `--plan` with the file from `spbe ticket download`)
        artifacts.append(run.write_artifact(plan_attachment(ctx.ticket.id), change.model_dump_json(indent=2) + "\n",
                                            media_type="application/json", kind=PLAN_KIND))
        apps = [inventory.app(a) for a in request.apps]
        analysis = Analysis(
            site=site.id, site_name=site.name, opd=site.opd, users=request.users,
            vlan_id=change.vlan_id, vlan_name=change.vlan_name, subnet=str(change.subnet),
            gateway=str(change.gateway), netmask=str(change.subnet.netmask),
            usable_hosts=change.subnet.num_addresses - 2,
            ports={d: list(p) for d, p in allocation.ports.items()},
            apps=[{"id": a.id, "name": a.name, "addresses": [str(x) for x in a.addresses],
                   "services": [f"{s.protocol}" + (f"/{s.port}" if s.port else "") for s in a.services]}
                  for a in apps],
            devices=[{"name": o.device, "platform": site.device(o.device).platform,
                      "vlans_in_use": list(o.vlans)} for o in observed],
            plan=change.model_dump(mode="json"), rendered=rendered, diffs=diffs, plan_digest=digest,
        )
        facts = AnalysisFacts(network=AnalysisNetwork(analysis=analysis))
        comment = run.services.renderer.render("comments", "rencana_jaringan", {
            "analisis": analysis.model_dump(mode="json"), "lampiran": [a.name for a in artifacts],
            "job_id": run.job_id,
            "langkah_persetujuan": _plan_approval_id(ctx),
        })
        return ActionResult(ok=True, comment=run.mask(comment), facts=facts, artifacts=artifacts,
                            summary=f"site {site.id}: VLAN {change.vlan_id}, {change.subnet}, "
                                    f"{sum(len(p) for p in allocation.ports.values())} port(s), plan {digest[:12]}",
                            duration_s=time.monotonic() - started)


OUTCOME_LABELS = {
    "changed": "diubah sesuai rencana", "unchanged": "sudah sesuai rencana (tidak diubah)",
    "rolled_back": "dikembalikan ke konfigurasi semula", "rollback_failed": "GAGAL dikembalikan, perlu diperiksa",
    "failed": "gagal, tidak diubah", "skipped": "tidak disentuh", "planned": "direncanakan",
}  # fmt: skip


def _device_rows(results: Sequence[DeviceResult], run: RunContext) -> list[dict[str, Any]]:
    return [{
        "device": r.device, "status": r.outcome, "status_label": OUTCOME_LABELS.get(r.outcome, r.outcome),
        "verified": r.ok and r.outcome in ("changed", "unchanged"),
        "backup": r.backup.name if r.backup else None,
        "error": run.mask(r.error.message) if r.error else None,
    } for r in results]  # fmt: skip


class NetworkInstallAction(BaseAction):
    """SOP step 7: back up, push the approved plan, verify; any failure rolls every device back."""

    name = "network.install"
    idempotent = True  # a re-run finds the devices already configured and changes nothing
    Plan = InstallPlan
    Facts = InstallFacts

    def plan(self, ctx: ActionContext) -> InstallPlan:
        change, facts = approved_change(ctx)
        return InstallPlan(plan_digest=facts.plan_digest, site=change.site, vlan_id=change.vlan_id,
                           devices=tuple(d.device for d in change.devices))

    def execute(self, ctx: ActionContext, plan: InstallPlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        change, facts = approved_change(ctx)
        if facts.plan_digest != plan.plan_digest:
            raise ConflictError("the approved network plan changed after this job was planned")
        inventory = network_inventory(ctx)
        network = runner(ctx, run, inventory, change.site)
        current = network.diff(change)
        drifted = [r.device for r in current.results
                   if r.ok and r.outcome == "planned" and r.diff != facts.diffs.get(r.device)]
        if not current.ok or drifted:
            why = (f"the running config of {', '.join(drifted)} changed since the analysis; analyse again"
                   if drifted else "; ".join(f"{r.device}: {r.error.message}" for r in current.results if r.error))
            rows = [{**row, "status": "skipped", "status_label": OUTCOME_LABELS["skipped"]}
                    for row in _device_rows(current.results, run)]
            return self._result(ctx, run, change, facts, rows, ok=False, started=started, summary=run.mask(why))

        def progress(result: DeviceResult, done: int, total: int) -> None:
            run.log(f"[{done}/{total}] {result.device}: {result.outcome}"
                    + (f" ({result.error.message})" if result.error else ""))

        report = network.push(change, progress=progress)
        rows = _device_rows(report.results, run)
        summary = (f"pushed VLAN {change.vlan_id} to {len(rows)} device(s)" if report.ok else
                   "push failed: " + "; ".join(f"{r['device']}: {r['status']}" for r in rows))
        return self._result(ctx, run, change, facts, rows, ok=report.ok, started=started, summary=summary)

    def _result(self, ctx: ActionContext, run: RunContext, change: NetworkChange, analysis: Analysis,
                rows: list[dict[str, Any]], *, ok: bool, started: float, summary: str) -> ActionResult:
        install = Install(vlan_id=change.vlan_id, acl_name=change.acl_name, plan_digest=analysis.plan_digest,
                          devices=rows, ok=ok)
        comment = run.services.renderer.render("comments", "pemasangan_jaringan", {
            "berhasil": ok, "pasang": install.model_dump(mode="json"), "job_id": run.job_id})
        return ActionResult(ok=ok, summary=summary, comment=run.mask(comment),
                            facts=InstallFacts(network=InstallNetwork(install=install)),
                            changed=[r["device"] for r in rows if r["status"] == "changed"],
                            duration_s=time.monotonic() - started)


class NetworkQualityTestAction(BaseAction):
    """SOP step 8: reachability, loss and latency from the new segment; thresholds from settings."""

    name = "network.quality_test"
    Plan = QualityPlan
    Facts = QualityFacts

    def plan(self, ctx: ActionContext) -> QualityPlan:
        change, _ = approved_change(ctx)
        return QualityPlan(vlan_id=change.vlan_id, prober=ctx.settings.network.prober,
                           thresholds=ctx.settings.network.quality)

    def execute(self, ctx: ActionContext, plan: QualityPlan, run: RunContext) -> ActionResult:
        from toolkit.network.probers import segment_prober
        from toolkit.network.quality import evaluate, targets_for
        from toolkit.network.session import DeviceSession

        started = time.monotonic()
        change, _ = approved_change(ctx)
        inventory = network_inventory(ctx)
        thresholds = plan.thresholds
        network = runner(ctx, run, inventory, change.site)
        site = inventory.site(change.site)

        def running_config(device: str) -> str:
            with DeviceSession(network.resolver.device(site.device(device)), network.session_options) as session:
                return session.running_config()

        prober = segment_prober(ctx.settings, inventory, running_config)
        targets = targets_for(change, inventory)
        run.log(f"probing {len(targets)} target(s) from VLAN {change.vlan_id} ({change.subnet})")
        report = evaluate(prober.probe(change, targets, thresholds), thresholds)
        results = [{
            "app": v.result.target.app, "target": v.result.target.label, "expect": v.result.target.expect,
            "sent": v.result.sent, "received": v.result.received, "loss_pct": v.result.loss_pct,
            "rtt_avg_ms": v.result.rtt_avg_ms, "rtt_max_ms": v.result.rtt_max_ms, "ok": v.ok, "reason": v.reason,
        } for v in report.verdicts]  # fmt: skip
        for row in results:
            run.log(f"{row['target']} ({row['app']}, expect {row['expect']}): {row['received']}/{row['sent']} "
                    f"avg {row['rtt_avg_ms']} ms -> {'ok' if row['ok'] else 'FAIL'}")
        quality = Quality(ok=report.ok, vlan_id=change.vlan_id, subnet=str(change.subnet),
                          thresholds=thresholds.model_dump(mode="json"), results=results)
        comment = run.services.renderer.render("comments", "uji_kualitas", {
            "uji": quality.model_dump(mode="json"), "job_id": run.job_id})
        failed = [str(r["target"]) for r in results if not r["ok"]]
        return ActionResult(ok=report.ok, comment=run.mask(comment),
                            facts=QualityFacts(network=QualityNetwork(quality=quality)),
                            summary=f"quality test VLAN {change.vlan_id}: "
                                    + ("passed" if report.ok else f"failed ({', '.join(failed) or 'no target'})"),
                            duration_s=time.monotonic() - started)
