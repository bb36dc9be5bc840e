"""Both incident SOPs as workflows: Surakarta's branches (security vs general incident, outside help
with its seven days on the SLA clock) and Gorontalo's 48 h / 72 h totals, decided on the ticket."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.incident import decide
from toolkit.domain.tickets.models import AttachmentUpload, EventKind
from toolkit.engine.progress import progress
from toolkit.engine.server import run_ticket
from toolkit.errors import ConflictError, InvalidInputError, PermissionDeniedError
from toolkit.settings import load_settings
from toolkit.worktime.calendars import calendars_for

LETTER = AttachmentUpload(name="surat.pdf", media_type="application/pdf", content=b"%PDF-1.4\n%%EOF\n",
                          kind="surat_permohonan")
SURAKARTA = {"pelapor_nama": "Siti Pelapor", "pelapor_kontak": "0812-3456-7890", "instansi": "Dinas Kesehatan",
             "objek_terdampak": "pd-app-01", "deskripsi": "Situs berubah tampilan."}
GORONTALO = {"pelapor_nama": "Siti Pelapor", "pelapor_kontak": "siti@example.go.id", "instansi": "Dinas Pendidikan",
             "objek_terdampak": "pd-app-01", "deskripsi": "Situs diretas.", "ada_backup": "ya"}
# Row 16: what the Analis documents before recording it (the Dokumentasi hasil perbaikan is rendered from it).
DOCUMENTATION = {"langkah_perbaikan": "Konfigurasi virtual host dikembalikan; layanan diuji dari luar.",
                 "akar_masalah": "Perubahan konfigurasi tanpa peninjauan.",
                 "rencana_pencegahan": "Setiap perubahan konfigurasi melalui tiket dan peninjauan.",
                 "evaluasi_pencegahan": "Ditinjau pada evaluasi bulanan; belum ada gangguan berulang."}
EVIDENCE = [AttachmentUpload(name="layar.png", media_type="image/png", content=b"\x89PNG\r\n", kind="tangkapan_layar"),
            AttachmentUpload(name="log.txt", media_type="text/plain", content=b"log\n", kind="log_sistem"),
            AttachmentUpload(name="ktp.pdf", media_type="application/pdf", content=b"%PDF-1.4\n",
                             kind="kartu_identitas")]


@pytest.fixture
def app(state_dir: Path) -> App:
    return App(load_settings(state_dir=state_dir))


def _state(app: App, ticket_id: str):  # type: ignore[no-untyped-def]
    ticket = app.tickets.get(ticket_id)
    return progress(app.catalog.get(ticket.service_id), ticket, app.tickets.timeline(ticket_id), app.queue, app.policy)


def _surakarta_to_row4(app: App) -> str:
    ticket = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement situs Dinkes", SURAKARTA,
                              [LETTER])
    desk.record_step(app, ticket.id, as_lab("hendra"), "tindak-lanjut-laporan", "Didisposisikan ke analis.")
    assert [j.step_id for j in run_ticket(app, ticket.id)] == ["dokumen-disposisi"]  # the Kepala Bidang's Disposisi
    return ticket.id


def test_security_incident_goes_to_notice_isolation_and_evidence(app: App) -> None:
    ticket_id = _surakarta_to_row4(app)
    decide(app, ticket_id, as_lab("hendra"), {"jenis_insiden": "keamanan"}, "Ada indikasi akses tidak sah.")
    desk.record_step(app, ticket_id, as_lab("hendra"), "penentuan-jenis-insiden", "Insiden keamanan.")
    state = _state(app, ticket_id)
    assert state.current.id == "pemberitahuan-opd"
    statuses = {s.step.id: s.status.value for s in state.steps}
    assert statuses["pemindahan-aset"] == statuses["analisis-dan-bukti"] == "pending"
    assert statuses["kebutuhan-bantuan-eksternal"] == "skipped"
    assert state.sla.variant_id == "standar"


def test_general_incident_goes_straight_to_the_pranata_komputer(app: App) -> None:
    ticket_id = _surakarta_to_row4(app)
    decide(app, ticket_id, as_lab("hendra"), {"jenis_insiden": "umum"}, "Gangguan layanan biasa, bukan serangan.")
    desk.record_step(app, ticket_id, as_lab("hendra"), "penentuan-jenis-insiden", "Insiden umum.")
    state = _state(app, ticket_id)
    assert (state.current.id, state.current.actor) == ("penanganan-insiden", "pranata-komputer-ahli-muda")
    skipped = {s.step.id for s in state.steps if s.status.value == "skipped"}
    assert {"pemberitahuan-opd", "pemindahan-aset", "analisis-dan-bukti"} <= skipped
    assert app.tickets.get(ticket_id).fields["jenis_insiden"] == "keamanan"  # what was reported stays on record
    decision = [e for e in app.tickets.timeline(ticket_id) if e.data.get("decisions")][-1]
    assert "Jenis insiden: keamanan → **umum**" in decision.text
    assert app.audit.entries(ticket_id=ticket_id)[-2].action == "ticket.decide"


def test_outside_help_adds_seven_days_to_the_sla_and_brings_rows_8_to_11(app: App) -> None:
    ticket_id = _surakarta_to_row4(app)
    before = _state(app, ticket_id).sla
    decide(app, ticket_id, as_lab("kabid"), {"bantuan_eksternal": "ya"}, "Perlu bantuan CSIRT Nasional (BSSN).")
    after = _state(app, ticket_id)
    assert (before.variant_id, after.sla.variant_id) == ("standar", "dengan-bantuan-eksternal")
    # "1 Hari kerja" counts a working day on Surakarta's calendar; the outside-help branch, 1 + 7 days, in days
    opened = app.tickets.get(ticket_id).created_at
    assert before.deadline == calendars_for(app.settings.worktime).for_zone("Asia/Jakarta").add_working_days(opened, 1)
    assert after.sla.deadline - opened == timedelta(days=8)
    statuses = {s.step.id: s.status.value for s in after.steps}
    assert statuses["bantuan-pihak-eksternal"] == "pending"
    assert after.state_of("bantuan-pihak-eksternal").step.standard_time == timedelta(days=7)
    note = app.tickets.timeline(ticket_id)[-1].text
    assert "1 Hari kerja ditambah 7 Hari" in note


def test_decisions_are_checked(app: App) -> None:
    ticket_id = _surakarta_to_row4(app)
    events = len(app.tickets.timeline(ticket_id))
    with pytest.raises(PermissionDeniedError):
        decide(app, ticket_id, as_lab("lina"), {"jenis_insiden": "umum"}, "bukan wewenang")
    with pytest.raises(PermissionDeniedError):
        decide(app, ticket_id, as_lab("hendra"), {"bantuan_eksternal": "ya"}, "kepala bidang yang memutuskan")
    with pytest.raises(InvalidInputError):
        decide(app, ticket_id, as_lab("hendra"), {"jenis_insiden": "serangan"}, "bukan pilihan")
    with pytest.raises(InvalidInputError):
        decide(app, ticket_id, as_lab("hendra"), {"instansi": "lain"}, "bukan titik keputusan")
    with pytest.raises(InvalidInputError):
        decide(app, ticket_id, as_lab("hendra"), {"jenis_insiden": "umum"}, "")
    desk.record_step(app, ticket_id, as_lab("hendra"), "penentuan-jenis-insiden", "Insiden keamanan.")
    with pytest.raises(ConflictError, match="can no longer be changed"):
        decide(app, ticket_id, as_lab("hendra"), {"jenis_insiden": "umum"}, "terlambat")
    assert len([e for e in app.tickets.timeline(ticket_id) if e.data.get("decisions")]) == 0
    assert len(app.tickets.timeline(ticket_id)) == events + 1


def test_gorontalo_records_48_or_72_hours(app: App) -> None:
    ticket = desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Situs Disdik diretas", GORONTALO, EVIDENCE)
    assert ticket.sla_variant == "dengan-backup"
    assert _state(app, ticket.id).sla.deadline - ticket.created_at == timedelta(hours=48)
    decide(app, ticket.id, as_lab("rina"), {"ada_backup": "tidak"}, "Repositori backup ikut terenkripsi penyerang.")
    state = _state(app, ticket.id)
    assert (state.sla.variant_id, state.sla.deadline - ticket.created_at) == ("tanpa-backup", timedelta(hours=72))
    last = app.tickets.timeline(ticket.id)[-1]
    assert last.kind == EventKind.COMMENT and "Tanpa backup 72 jam" in last.text
    assert last.data["sla_variant"] == "tanpa-backup"


def test_surakarta_general_incident_runs_to_close_with_its_notices(app: App) -> None:
    """The general path needs no lab: every automated step is a notice, run by the real engine."""
    from toolkit.domain.tickets.models import TicketStatus
    from toolkit.ports.jobs import JobState

    ticket_id = _surakarta_to_row4(app)
    decide(app, ticket_id, as_lab("hendra"), {"jenis_insiden": "umum"}, "Gangguan konfigurasi, bukan serangan.")
    desk.record_step(app, ticket_id, as_lab("hendra"), "penentuan-jenis-insiden", "Insiden umum.")
    assert run_ticket(app, ticket_id) == []  # no notice to the asset owner on the general path
    desk.record_step(app, ticket_id, as_lab("wati"), "penanganan-insiden", "Konfigurasi web server diperbaiki.")
    desk.record_step(app, ticket_id, as_lab("kabid"), "pemeriksaan-hasil-penanganan", "Sesuai; layanan normal.")
    jobs = run_ticket(app, ticket_id)
    assert [(j.step_id, j.state) for j in jobs] == [("informasi-status-opd", JobState.SUCCEEDED)]
    status = [e for e in app.tickets.timeline(ticket_id) if e.step_id == "informasi-status-opd"][-1].text
    assert "Status Penyelesaian Insiden" in status and "insiden umum" in status
    assert "Konfigurasi web server diperbaiki." in status
    desk.record_step(app, ticket_id, as_lab("hendra"), "penutupan-laporan", "Laporan ditutup.")
    jobs = run_ticket(app, ticket_id)
    assert [(j.step_id, j.state) for j in jobs] == [("notifikasi-pelapor", JobState.SUCCEEDED)]
    assert jobs[0].result["facts"]["recipients"] == ["pelapor"]  # the reporter is not named in job facts
    decide(app, ticket_id, as_lab("hendra"), DOCUMENTATION, "Hasil perbaikan didokumentasikan.")
    desk.record_step(app, ticket_id, as_lab("hendra"), "dokumentasi-insiden", "Langkah dan bukti didokumentasikan.")
    jobs = run_ticket(app, ticket_id)
    assert [(j.step_id, j.state) for j in jobs] == [("dokumen-hasil-perbaikan", JobState.SUCCEEDED)]
    desk.close(app, ticket_id, as_lab("hendra"), "Selesai.")
    final = app.tickets.get(ticket_id)
    assert final.status == TicketStatus.CLOSED and _state(app, ticket_id).finished
    assert {a.kind for a in final.attachments} >= {"disposisi", "dokumentasi_hasil_perbaikan"}


def test_a_branch_cannot_be_reopened_once_the_procedure_went_past_it(app: App) -> None:
    ticket_id = _surakarta_to_row4(app)
    decide(app, ticket_id, as_lab("hendra"), {"jenis_insiden": "umum"}, "Insiden umum.")
    desk.record_step(app, ticket_id, as_lab("hendra"), "penentuan-jenis-insiden", "Insiden umum.")
    decide(app, ticket_id, as_lab("kabid"), {"bantuan_eksternal": "ya"}, "Masih boleh: penanganan belum selesai.")
    assert _state(app, ticket_id).current.id == "kebutuhan-bantuan-eksternal"
    decide(app, ticket_id, as_lab("kabid"), {"bantuan_eksternal": "tidak"}, "Ternyata tidak perlu.")
    desk.record_step(app, ticket_id, as_lab("wati"), "penanganan-insiden", "Selesai ditangani.")
    with pytest.raises(ConflictError, match="penanganan-insiden after kebutuhan-bantuan-eksternal is done"):
        decide(app, ticket_id, as_lab("kabid"), {"bantuan_eksternal": "ya"}, "Terlambat.")


def test_each_step_keeps_whether_it_overran_its_standard_time(state_dir: Path) -> None:
    from datetime import UTC, datetime

    past = App(load_settings(state_dir=state_dir, tickets={"kind": "embedded", "options": {
        "clock": lambda: datetime.now(UTC) - timedelta(minutes=40)}}))
    ticket = desk.open_ticket(past, "keamanan-informasi", as_lab("kabid"), "Defacement", SURAKARTA, [LETTER])
    app = App(load_settings(state_dir=state_dir))
    desk.record_step(app, ticket.id, as_lab("hendra"), "tindak-lanjut-laporan", "40 menit kemudian (baku: 15 menit).")
    run_ticket(app, ticket.id)
    desk.record_step(app, ticket.id, as_lab("hendra"), "penentuan-jenis-insiden", "Segera (baku: 10 menit).")
    state = _state(app, ticket.id)
    assert state.state_of("tindak-lanjut-laporan").late is True
    assert state.state_of("penentuan-jenis-insiden").late is False
    assert state.state_of("penerimaan-laporan").late is False
