"""Pusat Data with the VPN product, end to end: the applicant gives the site's LAN and gateway address, the
approval triggers the work, the engine runs konfigurasi-vpn after the server steps, the tunnel is up on the
lab's two gateways with traffic through it, the ticket says so in Bahasa Indonesia, and the private keys are
in the key store only (never in the ticket, job logs, results, audit or any other file of the state dir)."""

from __future__ import annotations

import subprocess

import pytest

from lab.models import LabState
from tests.e2e.test_pusat_data import FIELDS, LETTER
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import EventKind
from toolkit.engine.server import run_ticket
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
    fields = FIELDS | {"produk": "vpn", "backup": "tidak", "vpn_subnet_lan": vpn.site_lan,
                       "vpn_ip_gateway": vpn.site_underlay}  # fmt: skip
    ticket = desk.open_ticket(app, "pusat-data", as_lab("andi"), "VPN Dinas Kesehatan", fields, [LETTER])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui.")
    assert not _ping(vpn.site_client_netns, vpn.dc_server)

    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [
        ("koordinasi-pengembangan-aplikasi", JobState.SUCCEEDED),
        ("instalasi-server", JobState.SUCCEEDED),
        ("instalasi-monitoring", JobState.SUCCEEDED),
        ("konfigurasi-vpn", JobState.SUCCEEDED),
        ("berita-acara-instalasi-server", JobState.SUCCEEDED),
    ], [j.error for j in jobs]
    vpn_job = jobs[3]
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
    assert app.audit.verify().ok
