"""Pusat Data with Redmine as the desk of record: the request is opened in Redmine through its API, checked and
approved there by the right accounts, provisioning runs on the lab, the berita acara is attached in Redmine and
the issue is closed there; and once more with the approval by the requester's own account: refused, nothing
runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.redmine_spec import APPROVED, CHECKED, CLOSED, DONE, RedmineHandle
from tests.conftest import CANARY_BACKUP_PASSWORD
from tests.support.principals import as_lab
from tests.support.redmine_desk import Person, desk_settings
from tests.support.signatures import sign_in_order
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.desks.mirror import DeskMirror
from toolkit.domain.tickets.models import TicketStatus
from toolkit.engine.server import run_ticket
from toolkit.ports.jobs import JobState
from toolkit.settings import Settings

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.redmine]

FIELDS = {"Layanan": "pusat-data", "Instansi": "Dinas Kesehatan", "Perihal": "Permohonan hosting SIMPUS",
          "Produk": "hosting-aplikasi", "Nama aplikasi": "simpus", "Nama host": "simpus-rm", "Jumlah vCPU": "2",
          "Memori (GB)": "4", "Penyimpanan (GB)": "40", "Backup": "ya", "UAT": "ya",
          "Email kontak": "it@dinkes.example.go.id"}
LETTER = {"surat-permohonan.pdf": b"%PDF-1.4\n% Surat permohonan Dinas Kesehatan\n%%EOF\n",
          "persetujuan-aplikasi.pdf": b"%PDF-1.4\n% Persetujuan aplikasi\n%%EOF\n"}  # SOP 002 step 4


def _sync(app: App) -> None:
    desk_ = app.desks.get("redmine")
    assert not desk_.poller.poll_once().failed
    mirrored = DeskMirror(app, app.desks).run_desk(desk_)
    assert mirrored.waiting is None, mirrored.waiting


def test_a_request_in_redmine_is_provisioned_documented_there_and_closed(
        lab, lab_settings: Settings, redmine: RedmineHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = App(desk_settings(redmine, tmp_path, monkeypatch, base=lab_settings))
    andi, sari, kadis, bot = (Person(redmine, who) for who in ("andi", "sari", "kadis", "spbe"))
    key = andi.open("Hosting SIMPUS", FIELDS, LETTER)
    _sync(app)
    ticket_id = app.desks.records.ticket_for("redmine", key)
    assert ticket_id is not None
    sari.status(key, CHECKED, "Berkas lengkap.")
    kadis.status(key, APPROVED, "Disetujui.")
    _sync(app)

    jobs = run_ticket(app, ticket_id)
    assert [(j.step_id, j.state) for j in jobs][:5] == [
        ("koordinasi-pengembangan-aplikasi", JobState.SUCCEEDED), ("instalasi-server", JobState.SUCCEEDED),
        ("instalasi-monitoring", JobState.SUCCEEDED), ("konfigurasi-backup", JobState.SUCCEEDED),
        ("berita-acara-instalasi-server", JobState.SUCCEEDED)], [j.error for j in jobs]
    _sync(app)
    files = {a["filename"] for a in bot.issue(key)["attachments"]}
    assert f"berita_acara_instalasi_server_{ticket_id}.md" in files, files

    # The remaining human steps are recorded in spbe (the SOP's own steps), then the koordinator closes in Redmine.
    desk.record_step(app, ticket_id, as_lab("dewi"), "instalasi-aplikasi", "Aplikasi SIMPUS v2.3 terpasang.")
    desk.record_step(app, ticket_id, as_lab("dewi"), "uji-fungsionalitas", "Uji fungsi: lulus.")
    run_ticket(app, ticket_id)
    sign_in_order(app, ticket_id, "berita_acara_pemanfaatan", ["dewi", "andi"])  # step 10, signed in spbe
    run_ticket(app, ticket_id)
    sari.status(key, DONE, "Seluruh tahapan selesai.")
    _sync(app)
    run_ticket(app, ticket_id)
    _sync(app)
    assert app.tickets.get(ticket_id).status == TicketStatus.CLOSED
    final = bot.issue(key)
    assert final["status"]["name"] in {CLOSED, DONE}
    assert f"laporan_pelaksanaan_{ticket_id}.md" in {a["filename"] for a in final["attachments"]}
    # The backup password (a canary) is nowhere in Redmine: no journal, no attachment, no field.
    notes = [j.get("notes") or "" for j in final["journals"]] + [str(d) for j in final["journals"]
                                                                  for d in j.get("details", [])]
    assert notes and not any(CANARY_BACKUP_PASSWORD in n for n in notes)
    for attachment in final["attachments"]:
        assert CANARY_BACKUP_PASSWORD.encode() not in bot.download(attachment["id"]), attachment["filename"]


def test_approval_by_the_requesters_own_account_in_redmine_runs_nothing(
        lab, lab_settings: Settings, redmine: RedmineHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = App(desk_settings(redmine, tmp_path, monkeypatch, base=lab_settings))
    kadis2, sari = Person(redmine, "kadis2"), Person(redmine, "sari")
    key = kadis2.open("Hosting aplikasi Diskominfo", FIELDS | {"Instansi": "Diskominfo", "Nama host": "dkf-rm"},
                      LETTER)
    _sync(app)
    ticket_id = app.desks.records.ticket_for("redmine", key)
    assert ticket_id is not None
    sari.status(key, CHECKED)
    kadis2.status(key, APPROVED, "Saya setujui sendiri.")
    _sync(app)
    assert run_ticket(app, ticket_id) == []
    assert not app.queue.list_jobs(ticket_id=ticket_id)
    assert any("tidak dijalankan" in (j.get("notes") or "") for j in sari.issue(key)["journals"])
