"""Pusat Data end to end: a ticket from open to closed, with the playbooks run for real over SSH
against the lab's Debian host, the documents rendered from the runs' facts, and the applicant
seeing every SOP step on the timeline."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import CANARY_BACKUP_PASSWORD
from tests.support.principals import as_lab
from tests.support.signatures import sign_in_order
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload, EventKind, Ticket, TicketStatus
from toolkit.engine.progress import progress
from toolkit.engine.server import run_ticket
from toolkit.ports.jobs import JobState

pytestmark = [pytest.mark.lab, pytest.mark.slow]

FIELDS = {
    "instansi": "Dinas Kesehatan", "perihal": "Permohonan pemanfaatan Pusat Data untuk SIMPUS",
    "produk": "hosting-aplikasi", "nama_aplikasi": "simpus", "hostname": "simpus-app", "vcpu": "2",
    "ram_gb": "4", "disk_gb": "40", "backup": "ya", "uat": "ya", "kontak_email": "it@dinkes.example.go.id",
    "keterangan": "Mohon {{ tidak dievaluasi }}".replace("{{", "(").replace("}}", ")"),
}
LETTER = AttachmentUpload(name="surat-permohonan.pdf", media_type="application/pdf",
                          content=b"%PDF-1.4\n% Surat permohonan Dinas Kesehatan\n%%EOF\n", kind="surat_permohonan")
APPROVAL = AttachmentUpload(name="persetujuan-aplikasi.pdf", media_type="application/pdf",  # SOP 002 step 4
                            content=b"%PDF-1.4\n% Persetujuan aplikasi\n%%EOF\n", kind="dokumen_persetujuan_aplikasi")


def approved(app: App, title: str, fields: dict[str, str], attachments: list[AttachmentUpload],
             applicant: str = "andi") -> Ticket:
    """A Pusat Data request opened by the applicant, checked by the team and approved by the Kepala Dinas."""
    ticket = desk.open_ticket(app, "pusat-data", as_lab(applicant), title, fields, attachments)
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui.")
    return ticket


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - lab address in our netns
        return response.status, response.read().decode("utf-8", "replace")


def test_pusat_data_ticket_runs_from_open_to_closed(lab, lab_settings):
    app = App(lab_settings)
    ticket = approved(app, "Hosting SIMPUS", FIELDS, [LETTER, APPROVAL])
    assert ticket.sla_variant == "dengan-uat"

    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [
        ("koordinasi-pengembangan-aplikasi", JobState.SUCCEEDED),
        ("instalasi-server", JobState.SUCCEEDED),
        ("instalasi-monitoring", JobState.SUCCEEDED),
        ("konfigurasi-backup", JobState.SUCCEEDED),
        ("berita-acara-instalasi-server", JobState.SUCCEEDED),
    ], [j.error for j in jobs]
    provision = jobs[1].result["facts"]
    log = "\n".join(line for _, line in app.queue.logs(jobs[1].id))  # ansible events streamed into the job log
    assert "TASK [Set the host name]" in log and "PLAY RECAP" in log
    address = provision["address"]
    host = lab.hosts[0]
    assert address == host.address
    assert provision["hosts"][host.name]["failed"] == 0

    # What was provisioned is really there: the web stack answers, the exporter serves metrics,
    # and the monitoring host has the scrape target.
    status, _body = _get(f"http://{address}/")
    assert status == 200
    status, metrics = _get(f"http://{address}:9100/metrics")
    assert status == 200 and "node_cpu_seconds_total" in metrics
    targets = json.loads((Path(lab.file_sd_dir) / "simpus-app.json").read_text())
    assert targets[0]["targets"] == [f"{address}:9100"]
    assert targets[0]["labels"]["ticket"] == ticket.id
    assert lab.prometheus_url, "the lab starts a Prometheus on loopback"
    query = f"{lab.prometheus_url}/api/v1/query?query=up%7Bticket%3D%22{ticket.id}%22%7D"
    deadline, scraped = time.monotonic() + 30, []
    while time.monotonic() < deadline and not scraped:  # it picks the file_sd target up and scrapes it
        scraped = [r for r in json.loads(_get(query)[1])["data"]["result"] if r["value"][1] == "1"]
        time.sleep(0.5)
    assert scraped, "Prometheus never scraped the new target"

    ba = app.tickets.read_attachment(ticket.id, f"berita_acara_instalasi_server_{ticket.id}.md").decode()
    assert "simpus-app" in ba and address in ba and "nginx" in ba.lower()

    desk.record_step(app, ticket.id, as_lab("dewi"), "instalasi-aplikasi", "Aplikasi SIMPUS v2.3 terpasang.")
    desk.record_step(app, ticket.id, as_lab("dewi"), "uji-fungsionalitas", "Uji beban 50 pengguna: lulus.")
    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [("berita-acara-pemanfaatan", JobState.SUCCEEDED)]
    # Step 10: the app-dev team, then the applicant, sign the rendered PDF; the last signature completes the step.
    signed = sign_in_order(app, ticket.id, "berita_acara_pemanfaatan", ["dewi", "andi"])
    assert [o.step_done for o in signed] == [False, True]
    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [("laporan-pelaksanaan", JobState.SUCCEEDED)]
    pemanfaatan = app.tickets.read_attachment(ticket.id, f"berita_acara_pemanfaatan_{ticket.id}.md").decode()
    assert "Uji beban 50 pengguna" in pemanfaatan

    desk.close(app, ticket.id, as_lab("sari"), "Seluruh tahapan selesai.")
    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [("notifikasi-penutupan", JobState.SUCCEEDED)]

    final = app.tickets.get(ticket.id)
    assert final.status == TicketStatus.CLOSED
    timeline = app.tickets.timeline(ticket.id)
    state = progress(app.catalog.get("pusat-data"), final, timeline, app.queue, app.policy)
    assert state.finished and not state.sla.breached
    shown = {e.step_id for e in timeline if e.kind in (EventKind.STEP_COMPLETED, EventKind.APPROVED,
                                                      EventKind.CHECKED)}
    expected = {s.step.id for s in state.steps if s.status.value == "done"} - {"pengajuan-permohonan"}
    assert expected <= shown, expected - shown
    assert {a.kind for a in final.attachments} >= {
        "surat_permohonan", "berita_acara_instalasi_server", "berita_acara_pemanfaatan", "laporan_pelaksanaan"}
    assert app.queue.outbox_pending_count() == 0
    assert app.audit.verify().ok

    # Idempotence: the provisioning playbook re-run on the same host changes nothing.
    rerun = app.actions.get("ansible.provision_server")
    from toolkit.engine.scheduler import action_context

    ctx = action_context(app, ticket.id, "instalasi-server")
    plan = jobs_plan = rerun.plan(ctx)
    from toolkit.actions.base import RunContext

    result = rerun.execute(ctx, jobs_plan, RunContext(job_id=999, attempt=1, log=lambda _: None,
                                                     should_cancel=lambda: False,
                                                     work_dir=app.artifacts_dir(ticket.id), mask=app.masker,
                                                     services=app))
    assert result.ok and result.facts.hosts[host.name]["changed"] == 0, plan

    # The backup password never shows: not in the ticket, documents, job logs, results, audit, or any
    # file the toolkit left in its state directory.
    leaks = [str(p) for p in Path(lab_settings.state_dir).rglob("*")
             if p.is_file() and CANARY_BACKUP_PASSWORD.encode() in p.read_bytes()]
    assert leaks == []


def test_a_second_ticket_never_provisions_over_the_first_ones_server(lab, lab_settings):
    """The lab has one pool host, already allocated above: the second ticket's provisioning step
    fails with a clear message on its ticket, and nothing runs on the first ticket's server."""
    app = App(lab_settings)
    first = approved(app, "Hosting SIMPUS", FIELDS, [LETTER, APPROVAL])
    jobs = run_ticket(app, first.id)
    assert jobs[1].state == JobState.SUCCEEDED
    second = approved(app, "Hosting SIKD", FIELDS | {"instansi": "Badan Keuangan Daerah", "nama_aplikasi": "sikd",
                                                     "hostname": "sikd-app"}, [LETTER, APPROVAL], applicant="budi")
    jobs = run_ticket(app, second.id)
    assert [(j.step_id, j.state) for j in jobs] == [
        ("koordinasi-pengembangan-aplikasi", JobState.SUCCEEDED), ("instalasi-server", JobState.FAILED)]
    assert "no host in pusat_data_pool" in (jobs[1].error or "")
    failed = [e for e in app.tickets.timeline(second.id) if e.kind == EventKind.STEP_FAILED]
    assert len(failed) == 1 and failed[0].step_id == "instalasi-server"
    status, _ = _get(f"http://{lab.hosts[0].address}/")
    assert status == 200
