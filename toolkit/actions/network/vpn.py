"""The action ``vpn.site_to_site``: the Pusat Data product "VPN Jaringan privat antar perangkat daerah".

``plan`` is pure: it checks the request and finds both gateways in the inventory (the agency's by the
public address the applicant gave), and returns a `SiteToSitePlan`; a provisional tunnel configuration is
validated too, so a LAN that would overlap the data center is refused before any job runs. ``execute``
allocates the tunnel slot on the DC gateway and both key pairs (`allocate_tunnel`: keyed by ticket and
step, so a retry or another worker gets the same ones), reads the private keys from the store, registers
them with the masker, runs ``playbooks/site_to_site_vpn.yml`` on both gateways over SSH (configure, then
prove traffic passes through the tunnel), and on any failure runs it again with ``state=absent`` so neither
gateway is left half-configured. A re-run of the same job changes nothing.
"""

from __future__ import annotations

import ipaddress
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, ValidationError

from toolkit.actions.ansible.runner import PlaybookRun, PlaybookSummary, RunStatus, run_playbook
from toolkit.actions.base import ActionContext, ActionFacts, ActionPlan, ActionResult, BaseAction, RunContext
from toolkit.errors import ConfigurationError, ConflictError, InvalidInputError
from toolkit.settings import Settings
from toolkit.vpn.inventory import DcGateway, SiteGateway, TunnelSlots, dc_gateway, site_gateway
from toolkit.vpn.keys import KeyStore, fingerprint
from toolkit.vpn.plan import HostName, Lan, SiteName, TicketId, VpnEndpoint, VpnPlan

PLAYBOOK = "site_to_site_vpn.yml"
FIELD_LAN = "vpn_subnet_lan"
FIELD_GATEWAY = "vpn_ip_gateway"
_PING = re.compile(r"(\d+) packets transmitted, (\d+) received")
_RTT = re.compile(r"= [\d.]+/([\d.]+)/")


def site_name(instansi: str) -> str:
    """A name safe for config comments and key names ("Dinas Kesehatan" -> "dinas-kesehatan")."""
    return re.sub(r"[^a-z0-9]+", "-", instansi.lower()).strip("-")[:32].strip("-") or "situs"


def _errors(exc: ValidationError) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e["loc"]) or "plan", e["msg"]) for e in exc.errors(include_url=False)]


class SiteToSitePlan(ActionPlan):
    """What the job will configure, before anything is allocated: the request and the two gateways.
    The tunnel slot (interface, port, tunnel addresses) and the keys are allocated when it runs."""

    action: Literal["vpn.site_to_site"] = "vpn.site_to_site"
    playbook: str = PLAYBOOK
    inventory: str
    ticket: TicketId
    site_name: SiteName
    site_lan: Lan
    site_public_address: ipaddress.IPv4Address
    site_host: HostName
    dc_host: HostName


class VpnFacts(ActionFacts):
    playbook: str
    status: str
    rolled_back: bool
    interface: str
    listen_port: int
    site_name: str
    site_host: str
    dc_host: str
    site_public_key: str
    dc_public_key: str
    site_lan: list[str]
    dc_lan: list[str]
    ping: list[dict[str, Any]]
    handshake: dict[str, Any]
    transfer: dict[str, Any]
    changed: int
    hosts: dict[str, dict[str, int]]


# Stand-ins for the keys in the provisional configuration `plan_request` validates (never configured).
_PROVISIONAL_KEYS = ("A" * 43 + "=", "B" * 42 + "A=")


def _key_names(ticket: str) -> tuple[str, str]:
    return f"vpn-{ticket.lower()}-site", f"vpn-{ticket.lower()}-dc"


def _tunnel(plan: SiteToSitePlan, site_gw: SiteGateway, dc: DcGateway, slot: int,
            keys: tuple[str, str]) -> VpnPlan:
    tunnel = dc.tunnel(slot)
    hosts = list(tunnel.hosts())
    names = _key_names(plan.ticket)
    return VpnPlan(
        ticket=plan.ticket, site_name=plan.site_name, interface=f"wg{slot}", listen_port=dc.listen_port_base + slot,
        site=VpnEndpoint(role="site", host=site_gw.name, public_address=site_gw.public_address,
                         tunnel_address=ipaddress.IPv4Interface(f"{hosts[0]}/{tunnel.prefixlen}"),
                         lan_cidrs=(plan.site_lan,), lan_address=site_gw.lan_address,
                         public_key=keys[0], private_key_secret=names[0]),
        dc=VpnEndpoint(role="dc", host=dc.name, public_address=dc.public_address,
                       tunnel_address=ipaddress.IPv4Interface(f"{hosts[1]}/{tunnel.prefixlen}"),
                       lan_cidrs=dc.lan_cidrs, lan_address=dc.lan_address,
                       public_key=keys[1], private_key_secret=names[1]),
        verify_targets=dc.verify_targets,
    )  # fmt: skip


def _invalid(exc: ValidationError, what: str) -> InvalidInputError:
    errors = _errors(exc)
    return InvalidInputError(f"{what}: " + "; ".join(f"{f}: {m}" for f, m in errors), errors=errors)


def plan_request(settings: Settings, ticket: str, site: str, site_lan: str, site_public: str,
                 inventory: Path | None = None) -> SiteToSitePlan:
    """The plan of one ticket's tunnel, pure: it reads the inventory and allocates nothing."""
    try:
        lan = ipaddress.IPv4Network(site_lan, strict=True)
        ipaddress.IPv4Address(site_public)
    except ValueError as exc:
        raise InvalidInputError(f"invalid VPN request: {exc}", errors=[("vpn", str(exc))]) from None
    inventory = inventory or settings.effective_inventory()
    site_gw = site_gateway(inventory, site_public)
    dc = dc_gateway(inventory)
    if site_gw.lan_address not in lan:
        raise InvalidInputError(
            f"site LAN {lan} does not contain the gateway's LAN address {site_gw.lan_address}",
            errors=[(FIELD_LAN, f"{site_gw.name} is not on {lan}")])
    try:
        plan = SiteToSitePlan(inventory=str(inventory), ticket=ticket, site_name=site, site_lan=lan,
                              site_public_address=site_gw.public_address, site_host=site_gw.name, dc_host=dc.name)
        _tunnel(plan, site_gw, dc, 0, _PROVISIONAL_KEYS)  # every rule of the tunnel, on the first slot
    except ValidationError as exc:
        raise _invalid(exc, "VPN plan") from None
    return plan


def _gateways(plan: SiteToSitePlan) -> tuple[SiteGateway, DcGateway]:
    inventory = Path(plan.inventory)
    site_gw, dc = site_gateway(inventory, str(plan.site_public_address)), dc_gateway(inventory)
    if (site_gw.name, dc.name) != (plan.site_host, plan.dc_host):
        raise ConflictError(f"the inventory's VPN gateways changed since the job was planned ({plan.site_host}, "
                            f"{plan.dc_host} -> {site_gw.name}, {dc.name}); retry the job to plan it again")
    return site_gw, dc


def allocate_tunnel(settings: Settings, plan: SiteToSitePlan, step: str) -> VpnPlan:
    """The tunnel of (ticket, step): its slot on the DC gateway and both key pairs, allocated on the
    first call and the same on every later one (a retry, another worker)."""
    site_gw, dc = _gateways(plan)
    slots = TunnelSlots(settings.state_dir / "vpn_tunnels.db")
    store = KeyStore.for_state_dir(settings.state_dir)
    names = _key_names(plan.ticket)
    fresh = [name for name in names if not store.exists(name)]
    try:
        slot = slots.allocate(plan.ticket, dc, plan.site_lan, step)
        return _tunnel(plan, site_gw, dc, slot, (store.ensure(names[0]), store.ensure(names[1])))
    except ValidationError as exc:
        slots.release(plan.ticket)  # nothing was configured with it: give the slot and fresh keys back
        for name in fresh:
            store.delete(name)
        raise _invalid(exc, "VPN plan") from None
    finally:
        slots.close()


def run_vpn_playbook(settings: Settings, plan: VpnPlan, state: Literal["present", "absent"], run: RunContext,
                     inventory: Path | None = None) -> PlaybookSummary:
    """Apply (``present``) or remove (``absent``) the tunnel on both gateways; private keys are read from
    the store here, masked, and revealed only into the runner's 0600 extravars file."""
    keys: dict[str, SecretStr] = {}
    if state == "present":
        store = KeyStore.for_state_dir(settings.state_dir)
        for end in (plan.site, plan.dc):
            secret = store.private(end.private_key_secret)
            run.mask.add(secret)
            if store.public(end.private_key_secret) != end.public_key:
                raise ConfigurationError(f"the stored key {end.private_key_secret} no longer matches the plan's "
                                         "public key; plan the step again", key=end.private_key_secret)
            keys[end.private_key_secret] = secret
    return run_playbook(
        PlaybookRun(
            playbook=settings.playbooks_dir / PLAYBOOK,
            inventory=inventory or settings.effective_inventory(),
            limit=f"{plan.site.host},{plan.dc.host}",
            extra_vars=plan.extra_vars(keys, state),
            private_data_dir=run.work_dir / f"runner-job{run.job_id}-a{run.attempt}-vpn-{state}",
            timeout_s=settings.playbook_timeout_s,
        ),
        on_line=run.log, should_cancel=run.should_cancel, mask=run.mask,
    )


def _ping(outputs: list[str], targets: tuple[ipaddress.IPv4Address, ...]) -> list[dict[str, Any]]:
    checks = []
    for target, output in zip(targets, outputs, strict=False):
        sent = received = 0
        if counts := _PING.search(output):
            sent, received = int(counts.group(1)), int(counts.group(2))
        rtt = _RTT.search(output)
        checks.append({"target": str(target), "terkirim": sent, "diterima": received,
                       "rtt_ms": float(rtt.group(1)) if rtt else None})  # fmt: skip
    return checks


def _when(epoch: Any) -> str | None:
    seconds = int(epoch or 0)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%d %H:%M:%S} UTC" if seconds > 0 else None


class SiteToSiteVpnAction(BaseAction):
    name = "vpn.site_to_site"
    Plan = SiteToSitePlan
    Facts = VpnFacts

    def plan(self, ctx: ActionContext) -> SiteToSitePlan:
        fields = ctx.ticket.fields
        missing = [f for f in (FIELD_LAN, FIELD_GATEWAY) if not str(fields.get(f) or "").strip()]
        if missing:
            raise InvalidInputError(f"the VPN product needs {', '.join(missing)}",
                                    errors=[(f, "wajib diisi untuk produk VPN") for f in missing])  # fmt: skip
        return plan_request(ctx.settings, ctx.ticket.id, site_name(str(fields.get("instansi") or "")),
                            str(fields[FIELD_LAN]), str(fields[FIELD_GATEWAY]))  # fmt: skip

    def execute(self, ctx: ActionContext, plan: SiteToSitePlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        vpn = allocate_tunnel(ctx.settings, plan, ctx.step.id)
        run.log(f"tunnel {vpn.interface} (UDP {vpn.listen_port}) between {vpn.site.host} and {vpn.dc.host}")
        inventory = Path(plan.inventory)
        summary = run_vpn_playbook(ctx.settings, vpn, "present", run, inventory)
        ok = summary.status == RunStatus.SUCCESSFUL
        errors = [f"{t.host}: {t.task}: {run.mask(t.msg)}" for t in summary.failed_tasks]
        rolled_back = False
        if not ok:
            run.log(f"VPN configuration failed ({summary.status}); removing the tunnel from both gateways")
            rollback = run_vpn_playbook(ctx.settings, vpn, "absent", run, inventory)
            rolled_back = rollback.status == RunStatus.SUCCESSFUL
        site_stats = summary.stats.get("spbe_vpn_site", {}) if ok else {}
        dc_stats = summary.stats.get("spbe_vpn_dc", {}) if ok else {}
        checks = _ping(list(site_stats.get("ping", [])), vpn.verify_targets)
        ok = ok and bool(checks) and all(c["diterima"] > 0 for c in checks)
        changed = summary.changed
        site_lan, dc_lan = [str(n) for n in vpn.site.lan_cidrs], [str(n) for n in vpn.dc.lan_cidrs]
        facts = VpnFacts.model_validate({
            "playbook": PLAYBOOK, "status": summary.status, "rolled_back": rolled_back,
            "interface": vpn.interface, "listen_port": vpn.listen_port, "site_name": vpn.site_name,
            "site_host": vpn.site.host, "dc_host": vpn.dc.host,
            "site_public_key": vpn.site.public_key, "dc_public_key": vpn.dc.public_key,
            "site_lan": site_lan, "dc_lan": dc_lan,
            "ping": checks, "handshake": {"site": site_stats.get("latest_handshake"),
                                          "dc": dc_stats.get("latest_handshake")},
            "transfer": {"rx": site_stats.get("rx_bytes"), "tx": site_stats.get("tx_bytes")},
            "changed": changed, "hosts": {n: h.model_dump() for n, h in summary.hosts.items()},
        })  # fmt: skip
        comment = run.services.renderer.render("comments", "hasil_vpn", {
            "langkah": {"id": ctx.step.id, "judul": ctx.step.title}, "berhasil": ok, "dipulihkan": rolled_back,
            "galat": errors, "durasi_s": time.monotonic() - started, "job_id": run.job_id,
            "terowongan": {"antarmuka": vpn.interface, "port": vpn.listen_port,
                           "alamat_situs": str(vpn.site.tunnel_address), "alamat_dc": str(vpn.dc.tunnel_address)},
            "situs": {"nama": vpn.site_name, "gateway": vpn.site.host, "ip_publik": str(vpn.site.public_address),
                      "lan": ", ".join(site_lan), "sidik_kunci": fingerprint(vpn.site.public_key)},
            "dc": {"gateway": vpn.dc.host, "ip_publik": str(vpn.dc.public_address),
                   "lan": ", ".join(dc_lan), "sidik_kunci": fingerprint(vpn.dc.public_key)},
            "uji": checks, "handshake": {"situs": _when(site_stats.get("latest_handshake")),
                                         "dc": _when(dc_stats.get("latest_handshake"))},
            "lalu_lintas": facts.transfer, "berubah": changed,
        })  # fmt: skip
        summary_line = f"{PLAYBOOK} {vpn.site.host}<->{vpn.dc.host} {vpn.interface}: {summary.status}"
        if errors:
            summary_line += f" ({'; '.join(errors)})" + (", rolled back" if rolled_back else "")
        return ActionResult(
            ok=ok, summary=run.mask(summary_line), comment=run.mask(comment), facts=facts,
            changed=[f"{n}: {h.changed} changed" for n, h in summary.hosts.items() if h.changed],
            duration_s=time.monotonic() - started,
        )
