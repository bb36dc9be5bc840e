"""Pusat Data products other than hosting, end to end on one lab of their own (one lab start for both):

- VPN: the applicant gives the site's LAN and gateway address, the approval triggers the work, the engine runs
  konfigurasi-vpn and nothing else (no web server, no monitoring), the tunnel is up on the lab's two gateways
  with traffic through it, the ticket says so in Bahasa Indonesia, and the private keys are in the key store
  only (never in the ticket, job logs, results, audit or any other file of the state dir);
- colocation: rack units and power are recorded durably, a port of the data center's simulated switch is
  configured through the network push (backup, diff, push, verify) and really holds the VLAN, and the berita
  acara shows the rack, the power and the port."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request

import pytest

from lab.models import LabState
from tests.e2e.test_pusat_data import FIELDS, LETTER, approved
from toolkit.bootstrap import App
from toolkit.domain.tickets.models import EventKind
from toolkit.engine.server import run_ticket
from toolkit.network.inventory import load_inventory
from toolkit.network.runner_factory import build_runner
from toolkit.network.session import DeviceSession
from toolkit.ports.jobs import JobState
from toolkit.settings import Settings
from toolkit.vpn.keys import KeyStore

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _ping(netns: str, address: str) -> bool:
    argv = ["ip", "netns", "exec", netns, "ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", address]
    return subprocess.run(argv, capture_output=True, check=False, timeout=20).returncode == 0


def test_a_vpn_ticket_configures_the_tunnel_and_reports_it(lab: LabState, lab_settings: Settings) -> None:
    vpn = lab.vpn
    assert vpn is not None
    app = App(lab_settings)
    fields = {k: FIELDS[k] for k in ("instansi", "perihal", "uat", "kontak_email")} | {
        "produk": "vpn", "backup": "ya", "vpn_subnet_lan": vpn.site_lan, "vpn_ip_gateway": vpn.site_underlay}
    ticket = approved(app, "VPN Dinas Kesehatan", fields, [LETTER])
    assert not _ping(vpn.site_client_netns, vpn.dc_server)

    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [
        ("koordinasi-pengembangan-aplikasi", JobState.SUCCEEDED),
        ("konfigurasi-vpn", JobState.SUCCEEDED),  # a VPN-only request: no server, monitoring or backup step
        ("berita-acara-instalasi-server", JobState.SUCCEEDED),
        ("berita-acara-pemanfaatan", JobState.SUCCEEDED),  # no application to install (steps 8-9 skipped)
    ], [j.error for j in jobs]
    assert app.state.hosts.allocation(ticket.id, "instalasi-server") is None  # no pool host was taken
    vpn_job = jobs[1]
    assert vpn_job.result is not None
    facts = vpn_job.result["facts"]
    assert facts["site_host"] == vpn.site_gateway.name and facts["dc_host"] == vpn.dc_gateway.name
    assert facts["ping"][0]["diterima"] > 0
    assert _ping(vpn.site_client_netns, vpn.dc_server), "the site LAN reaches the DC server through the tunnel"

    completed = [e for e in app.tickets.timeline(ticket.id) if e.kind == EventKind.STEP_COMPLETED]
    vpn_comment = next(e.text for e in completed if e.step_id == "konfigurasi-vpn")
    assert "Terowongan VPN site-to-site" in vpn_comment
    assert vpn.site_lan in vpn_comment and "kunci privat tidak pernah dicantumkan" in vpn_comment

    # Canary: the two private keys exist in the key store and nowhere else in the state directory
    # (ticket store, queue with plans, results and job logs, audit chain, runner artifacts).
    store = KeyStore.for_state_dir(lab_settings.state_dir)
    keys = sorted(store.root.glob("*.key"))
    assert len(keys) == 2
    for key_file in keys:
        secret = key_file.read_text(encoding="ascii").strip().encode()
        leaks = [str(p) for p in lab_settings.state_dir.rglob("*")
                 if p.is_file() and p != key_file and secret in p.read_bytes()]  # fmt: skip
        assert leaks == []
    ba = app.tickets.read_attachment(ticket.id, f"berita_acara_instalasi_server_{ticket.id}.md").decode()
    assert "VPN Site-to-Site" in ba and vpn.site_lan in ba and "### A. Server" not in ba
    assert app.audit.verify().ok


def test_a_colocation_ticket_records_rack_power_and_port_and_configures_the_port(
        lab: LabState, lab_settings: Settings) -> None:
    app = App(lab_settings)
    fields = {k: FIELDS[k] for k in ("instansi", "perihal", "uat", "kontak_email")} | {
        "produk": "colocation", "hostname": "srv-dinkes.example.go.id", "colo_unit_rak": "2",
        "colo_daya_watt": "450", "colo_rak": "rak-a2"}
    ticket = approved(app, "Colocation server Dinkes", fields, [LETTER])
    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [
        ("koordinasi-pengembangan-aplikasi", JobState.SUCCEEDED),
        ("alokasi-kolokasi", JobState.SUCCEEDED),
        ("berita-acara-instalasi-server", JobState.SUCCEEDED),
        ("berita-acara-pemanfaatan", JobState.SUCCEEDED),
    ], [j.error for j in jobs]
    facts = jobs[1].result["facts"]
    assert (facts["rack"], facts["unit_start"], facts["unit_end"], facts["power_watt"]) == ("rak-a2", 3, 4, 450)
    assert facts["ports"] == {"sw-dc-01": ["FastEthernet0/11"]} and facts["configured"]
    # Durable: the rack units and the port are held by the ticket in the state stores.
    space = app.state.racks.get(ticket.id)
    assert space is not None and (space.rack, space.unit_start, space.units) == ("rak-a2", 3, 2)
    segment = app.state.segments.get(ticket.id)
    assert segment is not None and segment.vlan_id == facts["vlan_id"]

    # The simulated switch really holds the port in the new VLAN, with the ticket in its description.
    network = load_inventory(lab_settings.network.inventory_file())
    runner = build_runner(lab_settings, network)
    device = network.site("dc").device("sw-dc-01")
    with DeviceSession(runner.resolver.device(device), runner.session_options) as session:
        running = session.running_config()
    block = running.split("interface FastEthernet0/11", 1)[1].split("!", 1)[0]
    assert f"switchport access vlan {facts['vlan_id']}" in block and ticket.id in block, block
    assert f"interface Vlan{facts['vlan_id']}" in running

    ba = app.tickets.read_attachment(ticket.id, f"berita_acara_instalasi_server_{ticket.id}.md").decode()
    assert "rak-a2" in ba and "U3 s/d U4" in ba and "450 watt" in ba and "FastEthernet0/11" in ba
    assert "### A. Server" not in ba and "### B. Monitoring" not in ba


def test_a_cloud_ticket_provisions_a_server_with_the_requested_spec_and_no_web_server(
        lab: LabState, lab_settings: Settings) -> None:
    app = App(lab_settings)
    fields = {k: FIELDS[k] for k in ("instansi", "perihal", "kontak_email")} | {
        "produk": "layanan-cloud", "nama_aplikasi": "simpus", "hostname": "vm-simpus", "vcpu": "2", "ram_gb": "2",
        "disk_gb": "20", "uat": "tidak"}
    ticket = approved(app, "Server cloud SIMPUS", fields, [LETTER])
    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [
        ("koordinasi-pengembangan-aplikasi", JobState.SUCCEEDED),
        ("penyediaan-cloud", JobState.SUCCEEDED),
        ("instalasi-monitoring", JobState.SUCCEEDED),
        ("berita-acara-instalasi-server", JobState.SUCCEEDED),
    ], [j.error for j in jobs]
    host = lab.hosts[0]
    cloud = jobs[1].result["facts"]["spbe"]["cloud"][host.name]
    assert cloud["hostname"] == "vm-simpus" and cloud["address"] == host.address
    assert cloud["requested"] == {"vcpu": 2, "ram_gb": 2, "disk_gb": 20}
    assert int(cloud["cpus_online"]) >= 1 and int(cloud["memory_kb"]) > 0 and int(cloud["root_fs_kb"]) > 0
    # A server, not a hosting: nothing answers on the web ports.
    with pytest.raises(urllib.error.URLError, match="refused"):
        urllib.request.urlopen(f"http://{host.address}/", timeout=3)  # noqa: S310 - lab address in our netns
    ba = app.tickets.read_attachment(ticket.id, f"berita_acara_instalasi_server_{ticket.id}.md").decode()
    assert "Server Virtual (Layanan Cloud) vm-simpus" in ba and "2 vCPU, memori 2 GB, penyimpanan 20 GB" in ba
    assert "dicatat, tidak diterapkan" in ba and "### B. Monitoring" in ba and "### A. Server vm-simpus" not in ba
