"""Site-to-site WireGuard for real: the action configures the lab's two gateways over SSH (wg-quick with
wireguard-go), and traffic from the site LAN namespace reaches the DC server only through the tunnel.

The ticket and the step handed to the action are plain records (no ticket store is needed to show the
action's behaviour); everything the action touches -- SSH, Ansible, WireGuard, the namespaces -- is real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from lab import sshd
from lab.models import LabHost, LabState, LabVpn
from toolkit.actions.base import ActionContext, ActionResult, RunContext
from toolkit.actions.network.vpn import SiteToSitePlan, SiteToSiteVpnAction, allocate_tunnel, run_vpn_playbook
from toolkit.bootstrap import App
from toolkit.domain.tickets.models import Ticket, TicketStatus
from toolkit.masking import Masker
from toolkit.settings import Settings, load_settings
from toolkit.vpn.keys import KeyStore
from toolkit.vpn.plan import VpnPlan

pytestmark = [pytest.mark.lab]

TCP_SERVER = """
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], 8080)); srv.listen(1); print("ready", flush=True)
conn, peer = srv.accept(); conn.sendall(("pusat-data " + peer[0] + "\\n").encode()); conn.close()
"""
TCP_CLIENT = "import socket, sys; print(socket.create_connection((sys.argv[1], 8080), 3).recv(64).decode().strip())"


def _in_ns(netns: str, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, timeout=timeout,
                          check=False)  # fmt: skip


def _ping(netns: str, address: str) -> bool:
    return _in_ns(netns, "ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", address).returncode == 0


def _on(host: LabHost, *argv: str) -> subprocess.CompletedProcess[str]:
    assert host.init_pid is not None
    return sshd.host_exec(host.init_pid, list(argv))


def _transfer(host: LabHost, interface: str) -> tuple[int, int]:
    out = _on(host, "wg", "show", interface, "transfer").stdout.split()
    return int(out[1]), int(out[2])


def _context(settings: Settings, vpn: LabVpn, ticket_id: str) -> ActionContext:
    now = datetime.now(UTC)
    ticket = Ticket(
        id=ticket_id, service_id="pusat-data", title="VPN Dinas Kesehatan", requester="andi",
        fields={"instansi": "Dinas Kesehatan", "produk": "vpn", "vpn_subnet_lan": vpn.site_lan,
                "vpn_ip_gateway": vpn.site_underlay},
        status=TicketStatus.OPEN, sla_variant="dengan-uat", created_at=now, updated_at=now,
    )  # fmt: skip
    step = SimpleNamespace(id="konfigurasi-vpn", title="Tim kerja pusat data mengonfigurasi VPN site-to-site")
    return ActionContext.model_construct(ticket=ticket, service=None, step=step, prior={}, timeline=[],
                                         settings=settings, directory=None, now=now)  # fmt: skip


def _allocated(settings: Settings, plan: SiteToSitePlan, step: str) -> VpnPlan:
    """The tunnel the action allocated (the same on every call), through the store it allocates in."""
    app = App(settings)
    try:
        return allocate_tunnel(settings, app.state.tunnels, plan, step)
    finally:
        app.close()


def _run(settings: Settings, log: list[str], job_id: int = 1) -> RunContext:
    mask = Masker()
    return RunContext(job_id=job_id, attempt=1, log=log.append, should_cancel=lambda: False,
                      work_dir=settings.state_dir / "work", mask=mask, services=App(settings, masker=mask))


@pytest.fixture(scope="module")
def vpn(lab: LabState) -> LabVpn:
    assert lab.vpn is not None, "spbe lab up starts the VPN part"
    return lab.vpn


@pytest.fixture
def settings(lab: LabState, tmp_path: Path) -> Settings:
    return load_settings(state_dir=tmp_path / "state", inventory=lab.inventory)


def test_the_lab_has_two_gateways_and_the_lans_are_apart_without_a_tunnel(lab: LabState, vpn: LabVpn) -> None:
    groups = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))["all"]["children"]
    assert vpn.site_gateway.name in groups["vpn_site_gateways"]["hosts"]
    assert groups["vpn_dc_gateways"]["hosts"][vpn.dc_gateway.name]["spbe_vpn_verify_targets"] == [vpn.dc_server]
    assert vpn.site_gateway.name not in groups["pusat_data_pool"]["hosts"], "a gateway is never an app server"
    for gateway in (vpn.site_gateway, vpn.dc_gateway):
        assert _on(gateway, "wireguard-go", "--version").returncode == 0
        assert _on(gateway, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "0"
    assert _ping(vpn.site_client_netns, vpn.site_lan_gateway), "the LAN reaches its own gateway"
    assert _ping(vpn.site_gateway.netns, vpn.dc_underlay), "the gateways see each other over the underlay"
    assert not _ping(vpn.site_client_netns, vpn.dc_server), "no path to the DC LAN before a tunnel"


@pytest.fixture
def tunnel(settings: Settings, vpn: LabVpn) -> Iterator[tuple[ActionContext, SiteToSitePlan]]:
    """The action's plan for one ticket; the tunnel is removed again whatever the test did."""
    ctx = _context(settings, vpn, "SPBE-2025-00042")
    plan = SiteToSiteVpnAction().plan(ctx)
    try:
        yield ctx, plan
    finally:
        run_vpn_playbook(settings, _allocated(settings, plan, ctx.step.id), "absent", _run(settings, []))


def test_the_action_brings_the_tunnel_up_and_traffic_passes_only_through_it(
    settings: Settings, vpn: LabVpn, tunnel: tuple[ActionContext, SiteToSitePlan]
) -> None:
    ctx, plan = tunnel
    action = SiteToSiteVpnAction()
    json.loads(plan.model_dump_json())  # plain data, attachable to the job before anything runs
    assert "public_key" not in plan.model_dump_json(), "nothing is allocated while planning"
    assert not _ping(vpn.site_client_netns, vpn.dc_server)
    log: list[str] = []
    result = action.execute(ctx, plan, _run(settings, log))
    assert result.ok, (result.summary, log[-20:])
    facts = result.facts
    interface = facts.interface
    assert facts.ping[0]["target"] == vpn.dc_server and facts.ping[0]["diterima"] > 0
    assert int(facts.handshake["site"]) > 0 and int(facts.handshake["dc"]) > 0
    assert "Terowongan VPN site-to-site antara lokasi **dinas-kesehatan** dan Pusat Data aktif" in result.comment
    assert any("TASK [Start the tunnel]" in line for line in log), "ansible events reach the job log"

    # A client on the site LAN reaches the DC server, over ICMP and TCP, and the bytes go through wg.
    before = _transfer(vpn.site_gateway, interface)
    assert _ping(vpn.site_client_netns, vpn.dc_server)
    server = subprocess.Popen(["ip", "netns", "exec", vpn.dc_server_netns, sys.executable, "-c", TCP_SERVER,
                               vpn.dc_server], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        reply = _in_ns(vpn.site_client_netns, sys.executable, "-c", TCP_CLIENT, vpn.dc_server)
        assert reply.stdout.strip() == f"pusat-data {vpn.site_client}", reply.stderr
    finally:
        server.kill()
        server.wait()
        server.stdout.close()  # type: ignore[union-attr]
    after = _transfer(vpn.site_gateway, interface)
    assert after[0] > before[0] and after[1] > before[1], "the traffic went through the tunnel"
    routes = _on(vpn.site_gateway, "ip", "route", "get", vpn.dc_server, "from", vpn.site_lan_gateway).stdout
    assert f"dev {interface}" in routes

    # Idempotent: the same plan again changes nothing on either gateway, and still proves traffic.
    again = action.execute(ctx, plan, _run(settings, log, job_id=2))
    assert again.ok and again.facts.changed == 0, again.facts.hosts
    assert "tidak ada yang diubah" in again.comment

    # Removing the tunnel cuts the path again.
    removed = run_vpn_playbook(settings, _allocated(settings, plan, ctx.step.id), "absent",
                               _run(settings, log, 3))
    assert removed.status == "successful"
    assert _on(vpn.site_gateway, "ip", "link", "show", "dev", interface).returncode != 0
    assert not _ping(vpn.site_client_netns, vpn.dc_server)
    _no_private_key_anywhere(settings, [result, again], log, ctx, plan)


def _no_private_key_anywhere(settings: Settings, results: list[ActionResult], log: list[str], ctx: ActionContext,
                             plan: SiteToSitePlan) -> None:
    """Canary: the private keys are in the key store (and on the gateways), and nowhere else."""
    store = KeyStore.for_state_dir(settings.state_dir)
    vpn_plan = _allocated(settings, plan, ctx.step.id)
    secrets = [store.private(name).get_secret_value() for name in vpn_plan.key_names]
    public_text = plan.model_dump_json() + vpn_plan.model_dump_json() + "\n".join(log) + "".join(
        r.comment + r.summary + r.facts.model_dump_json() + json.dumps(r.changed) for r in results)
    for secret in secrets:
        assert secret not in public_text
        leaks = [str(p) for p in settings.state_dir.rglob("*") if p.is_file() and not p.is_relative_to(store.root)
                 and secret.encode() in p.read_bytes()]  # fmt: skip
        assert leaks == []
    assert (settings.state_dir / "work").is_dir(), "the runner's artifacts were searched too"


def test_a_failed_verification_rolls_both_gateways_back(lab: LabState, vpn: LabVpn, tmp_path: Path) -> None:
    """A DC target nobody answers at: the playbook fails at the traffic check, the action removes the
    tunnel from both gateways and says so on the ticket."""
    inventory = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))
    dc_vars = inventory["all"]["children"]["vpn_dc_gateways"]["hosts"][vpn.dc_gateway.name]
    silent = vpn.dc_server.rsplit(".", 1)[0] + "." + str(int(vpn.dc_server.rsplit(".", 1)[1]) + 5)
    dc_vars["spbe_vpn_verify_targets"] = [silent]
    copy = tmp_path / "inventory.yml"
    copy.write_text(yaml.safe_dump(inventory), encoding="utf-8")
    settings = load_settings(state_dir=tmp_path / "state", inventory=copy)
    ctx = _context(settings, vpn, "SPBE-2025-00043")
    plan = SiteToSiteVpnAction().plan(ctx)
    log: list[str] = []
    result = SiteToSiteVpnAction().execute(ctx, plan, _run(settings, log))
    assert not result.ok and result.facts.rolled_back is True
    assert "dibongkar kembali" in result.comment and "Ping the data-center targets" in result.comment
    interface = result.facts.interface
    for gateway in (vpn.site_gateway, vpn.dc_gateway):
        assert _on(gateway, "ip", "link", "show", "dev", interface).returncode != 0
        assert _on(gateway, "test", "-e", f"/etc/wireguard/{interface}.conf").returncode != 0
    assert not _ping(vpn.site_client_netns, vpn.dc_server)
    _no_private_key_anywhere(settings, [result], log, ctx, plan)


def test_down_removes_the_vpn_part_even_without_its_state_file(tmp_path: Path) -> None:
    from lab import netns
    from lab.manager import LabManager
    from tests.fixtures.lab import test_lab_name

    manager = LabManager(tmp_path, test_lab_name("-vd"), switches=0, with_prometheus=False)
    state = manager.up()
    try:
        assert state.vpn is not None
        names = [state.vpn.site_gateway.netns, state.vpn.dc_gateway.netns,
                 state.vpn.site_client_netns, state.vpn.dc_server_netns]  # fmt: skip
        assert all(netns.netns_exists(n) for n in names)
        manager.state_file.unlink()  # a crash lost lab.json: names alone must be enough
    finally:
        manager.down()
    assert not any(netns.netns_exists(n) for n in names)
    assert not any(netns.link_exists(h.veth_root) for h in (state.vpn.site_gateway, state.vpn.dc_gateway))
