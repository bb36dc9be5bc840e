"""The action ``colocation.allocate``: rack units, power and switch ports for an agency's own equipment, recorded
durably, and the ports configured on the data center's switch.

``plan`` is pure: it checks the request (units, watts, port count, the preferred rack, the equipment's name)
against the colocation and network inventories. ``execute`` then, each step keyed by the ticket so a retry
or a second worker gets the same answer:

1. claims the rack space (`RackAllocations`: contiguous units within the rack's power budget);
2. reads the site's switches and claims a VLAN, a subnet and free colocation ports (`SegmentAllocations`,
   the store Jaringan Intra allocates from, so neither service takes what the other holds);
3. builds a `NetworkChange` -- the ports as access ports of the new VLAN, its gateway (SVI) and an ACL that
   lets the equipment reach only the inventory's apps -- and pushes it through the network fan-out:
   running-config backup, diff, push, verify, and every device rolled back on any failure.

Ticket text reaches the switch only as the equipment's name in the port description, and only after the
host-name format (letters, digits, '-', '.') and the plan model's CLI-text checks (no newline, ';', '|',
'$(', Jinja, CLI keyword) have both passed; rack ids and interfaces come from the inventories alone.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolkit.actions.base import ActionContext, ActionFacts, ActionPlan, ActionResult, BaseAction, RunContext
from toolkit.actions.colocation.space import ColocationInventory, choose_segment, choose_space, load_colocation
from toolkit.actions.network.jaringan_intra import OUTCOME_LABELS, network_inventory, runner
from toolkit.domain.catalog.formats import FORMATS
from toolkit.errors import ActionFailedError, InvalidInputError
from toolkit.network.allocation import DeviceObservation, SiteObservation
from toolkit.network.inventory import ID_RE, NetworkInventory
from toolkit.network.plan import AclEntry, DevicePorts, NetworkChange

_HOSTNAME = FORMATS["server_hostname"].regex


class ColocationRequest(BaseModel):
    """The ticket fields this product uses; the bounds are the catalog's, checked again here."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    equipment: str = Field(max_length=64, description="the equipment's host name (field hostname)")
    units: int = Field(ge=1, le=10)
    power_watt: int = Field(ge=50, le=3000)
    ports: int = Field(ge=1, le=4)
    rack: str | None = Field(default=None, pattern=ID_RE)

    @field_validator("equipment")
    @classmethod
    def _host_name(cls, value: str) -> str:
        if not _HOSTNAME.fullmatch(value):  # fullmatch: a trailing newline is refused too
            raise ValueError("must be a host name: lower-case letters, digits, '-' and '.'")
        return value

    @property
    def label(self) -> str:
        """The equipment's name as a port description word: dots become '-', at most 30 characters."""
        return self.equipment.replace(".", "-")[:30].strip("-")


class ColocationPlan(ActionPlan):
    action: Literal["colocation.allocate"] = "colocation.allocate"
    request: ColocationRequest
    site: str
    inventory: str


class ColocationFacts(ActionFacts):
    rack: str
    unit_start: int
    unit_end: int
    units: int
    power_watt: int
    site: str
    vlan_id: int
    subnet: str
    gateway: str
    ports: dict[str, list[str]]
    equipment: str
    description: str
    devices: list[dict[str, Any]]
    configured: bool


def parse_request(ctx: ActionContext) -> ColocationRequest:
    fields = ctx.ticket.fields
    names = {"equipment": "hostname", "units": "colo_unit_rak", "power_watt": "colo_daya_watt",
             "ports": "colo_jumlah_port", "rack": "colo_rak"}
    try:
        return ColocationRequest.model_validate({
            "equipment": fields.get("hostname"), "units": fields.get("colo_unit_rak"),
            "power_watt": fields.get("colo_daya_watt"), "ports": fields.get("colo_jumlah_port") or 1,
            "rack": fields.get("colo_rak") or None})
    except ValidationError as exc:
        errors = [(names.get(str(e["loc"][0]), "-") if e["loc"] else "-", e["msg"])
                  for e in exc.errors(include_url=False)]
        raise InvalidInputError("invalid colocation request: " + "; ".join(f"{f}: {m}" for f, m in errors),
                                errors=errors) from None


def colocation_change(network: NetworkInventory, inventory: ColocationInventory, ticket_id: str,
                      request: ColocationRequest, rack: str, units: range, vlan_id: int, subnet: Any,
                      ports: dict[str, tuple[str, ...]]) -> NetworkChange:
    """The switch change for the allocated ports; the plan model refuses any unsafe text."""
    site = network.site(inventory.site)
    acl = tuple(AclEntry(app=app.id, destination=address, protocol=service.protocol, port=service.port)
                for app in (network.app(a) for a in inventory.apps)
                for address in app.addresses for service in app.services)
    devices = tuple(DevicePorts(device=name, platform=site.device(name).platform, access_ports=names,
                                trunk_ports=site.device(name).trunk_ports, gateway=index == 0)
                    for index, (name, names) in enumerate(ports.items()))
    description = f"Kolokasi {ticket_id} {request.label} {rack} U{units.start}-{units.stop - 1}"
    try:
        return NetworkChange(site=site.id, vlan_id=vlan_id, vlan_name=f"KOLOKASI-{ticket_id}"[:32],
                             description=description, subnet=subnet, gateway=next(subnet.hosts()),
                             devices=devices, acl=acl)
    except ValidationError as exc:
        problems = [(".".join(str(p) for p in e["loc"]) or "plan", e["msg"]) for e in exc.errors(include_url=False)]
        raise InvalidInputError("invalid colocation port change: " + "; ".join(f"{k}: {m}" for k, m in problems),
                                errors=problems) from None


class ColocationAction(BaseAction):
    name = "colocation.allocate"
    idempotent = True  # allocations are keyed by ticket; a re-push finds the ports configured and changes nothing
    Plan = ColocationPlan
    Facts = ColocationFacts

    def plan(self, ctx: ActionContext) -> ColocationPlan:
        request = parse_request(ctx)
        inventory = load_colocation(ctx.settings.colocation_inventory)
        inventory.check_against(network_inventory(ctx))
        if request.rack is not None and inventory.rack(request.rack) is None:
            raise InvalidInputError(f"colo_rak: {request.rack!r} is not a colocation rack",
                                    errors=[("colo_rak", f"one of {[r.id for r in inventory.racks]}")])
        return ColocationPlan(request=request, site=inventory.site, inventory=str(ctx.settings.colocation_inventory))

    def execute(self, ctx: ActionContext, plan: ColocationPlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        request = plan.request
        inventory = load_colocation(ctx.settings.colocation_inventory)
        network = network_inventory(ctx)
        inventory.check_against(network)
        state = run.services.state
        space = state.racks.claim(ctx.ticket.id, lambda others: choose_space(
            inventory, ctx.ticket.id, request.units, request.power_watt, request.rack, others))
        run.log(f"rack {space.rack} U{space.unit_start}-{space.unit_range.stop - 1}, {space.power_watt} W "
                f"allocated to {ctx.ticket.id}")
        fanout = runner(ctx, run, network, inventory.site)
        site = network.site(inventory.site)
        pool_devices = [site.device(p.device) for p in inventory.ports]
        read = fanout.facts(pool_devices).results
        if not all(r.ok for r in read):
            raise ActionFailedError("cannot read the colocation switches: " + "; ".join(
                f"{r.device}: {r.error.message if r.error else r.outcome}" for r in read if not r.ok))
        observation = SiteObservation(site=site.id, devices=tuple(
            DeviceObservation(device=r.device, vlans=r.facts.used_vlan_ids, port_vlans=r.facts.port_vlans)
            for r in read if r.facts is not None))
        segment = state.segments.claim(ctx.ticket.id, lambda others: choose_segment(
            network, inventory, ctx.ticket.id, request.ports, observation, others))
        change = colocation_change(network, inventory, ctx.ticket.id, request, space.rack, space.unit_range,
                                   segment.vlan_id, segment.subnet, dict(segment.ports))
        report = fanout.push(change, progress=lambda r, done, total: run.log(
            f"[{done}/{total}] {r.device}: {r.outcome}" + (f" ({r.error.message})" if r.error else "")))
        rows = [{"device": r.device, "status": r.outcome, "status_label": OUTCOME_LABELS.get(r.outcome, r.outcome),
                 "verified": r.ok and r.outcome in ("changed", "unchanged"),
                 "error": run.mask(r.error.message) if r.error else None} for r in report.results]
        facts = ColocationFacts(
            rack=space.rack, unit_start=space.unit_start, unit_end=space.unit_range.stop - 1, units=space.units,
            power_watt=space.power_watt, site=site.id, vlan_id=change.vlan_id, subnet=str(change.subnet),
            gateway=str(change.gateway), ports={d: list(p) for d, p in segment.ports.items()},
            equipment=request.equipment, description=change.description, devices=rows, configured=report.ok)
        comment = run.services.renderer.render("comments", "alokasi_kolokasi", {
            "berhasil": report.ok, "kolokasi": facts.model_dump(mode="json"), "job_id": run.job_id})
        ports = "; ".join(f"{d}: {', '.join(p)}" for d, p in segment.ports.items())
        summary = (f"rack {space.rack} U{space.unit_start}-{space.unit_range.stop - 1}, {space.power_watt} W, "
                   f"VLAN {change.vlan_id} on {ports}: " + ("configured" if report.ok else "push failed"))
        return ActionResult(ok=report.ok, summary=summary, comment=run.mask(comment), facts=facts,
                            changed=[str(r["device"]) for r in rows if r["status"] == "changed"],
                            duration_s=time.monotonic() - started)
