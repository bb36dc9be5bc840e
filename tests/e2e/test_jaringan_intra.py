"""Jaringan Intra end to end: analysis reads the lab's switch simulators, the head of office approves
the attached plan, the installation pushes it for real (backup, push, verify), the quality test
probes from the new segment through the lab data plane, the documents are rendered, the ticket closes.
"""

from __future__ import annotations

import json

import pytest

from lab.dataplane import LabDataPlane
from lab.models import subnet_index
from tests.e2e.network_support import KTP, network_settings, running_config, scheduled
from tests.fixtures.lab import config_env
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from tests.support.sealed_files import assert_no_plaintext
from tests.support.signatures import sign_in_order
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import TicketStatus
from toolkit.engine.server import run_ticket
from toolkit.ports.jobs import JobState
from toolkit.settings import Settings

pytestmark = [pytest.mark.lab, pytest.mark.slow]

FIELDS = {"instansi": "Dinas Kesehatan", "lokasi": "dinkes", "jumlah_user": "12", "aplikasi": "simpeg, dns",
          "kontak_email": "it@dinkes.example.go.id"}


@pytest.fixture
def net_settings(state_dir, lab) -> Settings:  # type: ignore[no-untyped-def]
    return network_settings(state_dir, lab, probes=5)


def test_jaringan_intra_ticket_from_open_to_closed(lab, net_settings: Settings) -> None:
    app = App(net_settings)
    ticket = desk.open_ticket(app, "jaringan-intra", as_lab("andi"), "Jaringan intra ruang staf Dinkes", FIELDS, [KTP])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui.")
    before = running_config(net_settings, "sw-dinkes-01")

    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [("analisis-kebutuhan", JobState.SUCCEEDED)], [j.error for j in jobs]
    analysis = jobs[0].result["facts"]["network"]["analysis"]
    vlan = analysis["vlan_id"]
    assert analysis["ports"] == {"sw-dinkes-01": ["FastEthernet0/1", "FastEthernet0/2"]}  # 12 users, 8 per port
    assert analysis["subnet"].endswith("/27")  # 12 users + 25 % headroom + gateway
    attachments = {a.name for a in app.tickets.get(ticket.id).attachments}
    assert {f"{ticket.id}_sw-dinkes-01.cfg", f"{ticket.id}_sw-dinkes-01.diff", f"{ticket.id}_plan.json"} <= attachments
    diff = app.tickets.read_attachment(ticket.id, f"{ticket.id}_sw-dinkes-01.diff").decode()
    assert f"+vlan {vlan}" in diff and f"+interface Vlan{vlan}" in diff
    # The job files lie encrypted at rest (the ticket id names the VLAN in all three); the ticket carries them.
    plan = app.tickets.read_attachment(ticket.id, f"{ticket.id}_plan.json").decode()
    assert ticket.id in plan and ticket.id in diff
    files = assert_no_plaintext(net_settings.state_dir / "artifacts", ticket.id, f"vlan {vlan}")
    assert {p.name for p in files} == attachments - {"ktp.pdf"}
    assert running_config(net_settings, "sw-dinkes-01") == before, "the analysis changed a device"

    # Nothing is pushed before the head of office approves the plan.
    assert run_ticket(app, ticket.id) == []
    desk.approve(app, ticket.id, as_lab("kadis"), "Rencana konfigurasi disetujui.")
    app = scheduled(app, ticket.id)  # proposed, confirmed, and the clock past the agreed start
    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [
        ("pemasangan-jaringan", JobState.SUCCEEDED), ("uji-kualitas", JobState.SUCCEEDED),
        ("berita-acara-penggunaan-layanan", JobState.SUCCEEDED)], [j.error for j in jobs]
    # Step 9: the applicant and the team sign the berita acara; the report waits for the last signature.
    assert run_ticket(app, ticket.id) == []
    sign_in_order(app, ticket.id, "berita_acara_penggunaan_layanan", ["andi", "yusuf"])
    assert [(j.step_id, j.state) for j in run_ticket(app, ticket.id)] == [("laporan-pelaksanaan", JobState.SUCCEEDED)]
    install = jobs[0].result["facts"]["network"]["install"]
    assert [(d["device"], d["status"], d["verified"]) for d in install["devices"]] == [
        ("sw-dinkes-01", "changed", True)]
    running = running_config(net_settings, "sw-dinkes-01")
    assert f"interface Vlan{vlan}" in running and f"SPBE-VLAN{vlan}" in running
    quality = jobs[1].result["facts"]["network"]["quality"]
    assert quality["ok"] and {r["app"] for r in quality["results"]} == {"simpeg", "dns", "sikd"}
    assert [r["expect"] for r in quality["results"] if r["app"] == "sikd"] == ["blocked"]

    ba = app.tickets.read_attachment(ticket.id, f"berita_acara_penggunaan_layanan_{ticket.id}.md").decode()
    assert f"VLAN | {vlan}" in ba and "LULUS" in ba and "SIMPEG" in ba
    laporan = app.tickets.read_attachment(ticket.id, f"laporan_pelaksanaan_jaringan_{ticket.id}.md").decode()
    assert analysis["plan_digest"] in laporan

    desk.close(app, ticket.id, as_lab("sari"), "Selesai.")
    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [("notifikasi-penutupan", JobState.SUCCEEDED)]
    assert app.tickets.get(ticket.id).status == TicketStatus.CLOSED
    assert app.audit.verify().ok
    assert_no_plaintext(net_settings.state_dir / "artifacts", ticket.id, FIELDS["instansi"], f"vlan {vlan}")
    # An engineer re-verifies the installed change from the plan attached to the ticket (scripts/demo).
    verified = Spbe(state_dir=net_settings.state_dir, env=config_env(lab))(
        "network", "verify", "--ticket", ticket.id, "--as", "sari", "--json")
    assert verified.exit_code == 0 and json.loads(verified.stdout)["ok"] is True, verified.output
    password = (lab.switches[0].password_file).read_text().strip()
    comments = "\n".join(e.text for e in app.tickets.timeline(ticket.id))
    assert password not in comments
    LabDataPlane(lab.lab_dir, lab.name, subnet_index(lab.name)).down()
