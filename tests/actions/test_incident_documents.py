"""The incident documents and notices in Bahasa Indonesia, rendered from recorded facts, and the
reporter's secrecy in everything others read (no lab: the job results are shaped like the actions')."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.actions.test_incident_workflow import EVIDENCE, GORONTALO, LETTER, SURAKARTA
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.incident import decide
from toolkit.document_context import build_context
from toolkit.documents import MissingTemplateDataError
from toolkit.ports.jobs import Job, JobState
from toolkit.settings import load_settings

SECRETS = ("Siti Pelapor", "siti@example.go.id", "0812-3456-7890", "lina", "Lina Marlina")


def leaked(text: str) -> list[str]:
    """The reporter's name, contact or username as a word (``lina`` inside "Salinan" is not a leak)."""
    return [s for s in SECRETS if re.search(rf"(?<![A-Za-z]){re.escape(s)}(?![A-Za-z])", text)]
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def _job(step: str, facts: dict[str, Any], summary: str = "ok") -> Job:
    at = NOW - timedelta(hours=1)
    return Job(id=abs(hash(step)) % 1000, ticket_id="T", step_id=step, action="x", idempotency_key=step,
               idempotent=True, plan={}, state=JobState.SUCCEEDED, attempt=1, max_attempts=3, created_at=at,
               finished_at=at, result={"ok": True, "summary": summary, "facts": facts, "changed": [], "artifacts": []})


PRIOR = {
    "pemeriksaan-objek": _job("pemeriksaan-objek", {}, "inspected pd-app-01: 3 listening sockets"),
    "pengumpulan-bukti": _job("pengumpulan-bukti", {
        "bundle_id": "EV-T-1", "manifest_sha256": "ab" * 32, "host": "pd-app-01", "address": "10.213.1.2",
        "files": [{"path": "files/logs/var/log/nginx/access.log", "sha256": "cd" * 32, "size": 10, "kind": "log",
                   "source": "/var/log/nginx/access.log"}],
        "archive": {"attached": True, "name": "bukti_EV-T-1.tar.gz", "path": "/x", "sha256": "ef" * 32}}),
    "penanganan-insiden": _job("penanganan-insiden", {}, "isolated pd-app-01"),
    "pemulihan-sistem": _job("pemulihan-sistem", {
        "path": "restore", "host": "pd-app-01", "app": "simpus", "app_dir": "/srv/apps/simpus",
        "snapshot": {"id": "42adfaaa", "time": "2026-11-23T11:31:11Z"}, "files_restored": 3,
        "quarantine": "/var/lib/spbe/quarantine/T/simpus"}),
    "verifikasi-perbaikan": _job("verifikasi-perbaikan", {
        "host": "pd-app-01", "address": "10.213.1.2", "verdict": "tidak_dapat_diperiksa", "checks": [
            {"id": "ssh_password_auth", "title": "SSH: login dengan kata sandi dinonaktifkan", "status": "lulus",
             "detail": "PasswordAuthentication no", "evidence": []},
            {"id": "security_updates", "title": "Tidak ada pembaruan keamanan yang tertunda",
             "status": "tidak_dapat_diperiksa", "detail": "daftar paket repositori keamanan tidak tersedia",
             "evidence": []}]}),
}


@pytest.fixture
def app(state_dir: Path) -> App:
    return App(load_settings(state_dir=state_dir))


def _gorontalo(app: App, analysed: bool = True) -> str:
    ticket = desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Situs Disdik diretas",
                              GORONTALO | {"perlu_press_release": "ya", "deskripsi": "Halaman | diganti *pesan*."},
                              EVIDENCE)
    if analysed:
        decide(app, ticket.id, as_lab("rina"), {"akar_masalah": "Plugin unggah berkas tanpa validasi.",
                                        "rekomendasi": "Perbarui CMS; batasi unggahan.",
                                        "rencana_pencegahan": "Pemindaian kerentanan bulanan."}, "Hasil analisis.")
    return ticket.id


def _render(app: App, ticket_id: str, kind: str, template: str, roles: frozenset[str] = frozenset()) -> str:
    ticket = app.tickets.get(ticket_id)
    context = build_context(ticket=ticket, service=app.catalog.get(ticket.service_id), prior=PRIOR,
                            timeline=app.tickets.timeline(ticket_id), directory=app.directory, now=NOW,
                            roles=app.catalog.roles,
                            viewer_roles=roles)
    return app.renderer.render(kind, template, context)  # type: ignore[arg-type]


@pytest.mark.parametrize(("template", "expected"), [
    ("laporan_insiden_siber", ["LAPORAN INSIDEN SIBER", "EV-T-1", "Bukti Dukung Insiden", "Kronologi",
                               "inspected pd-app-01", "Halaman \\| diganti"]),
    ("press_release_insiden", ["DRAF", "gangguan keamanan siber", "Maya Anggraini"]),
    ("press_release_keberhasilan", ["dipulihkan dari cadangan data (backup)", "berhasil ditangani"]),
    ("laporan_penanganan_insiden", ["Akar Masalah", "Plugin unggah berkas tanpa validasi.", "Rekomendasi Keamanan",
                                    "Rencana Pencegahan", "snapshot 42adfaaa", "Menggunakan Backup 48 jam"]),
    ("laporan_perbaikan_keamanan", ["Tidak dapat diperiksa", "PasswordAuthentication no",
                                    "perlu dipastikan secara manual"]),
])
def test_gorontalo_documents(app: App, template: str, expected: list[str]) -> None:
    ticket_id = _gorontalo(app)
    text = _render(app, ticket_id, "documents", template)
    for phrase in expected:
        assert phrase in text, phrase
    assert not leaked(text), "reporter identity in a document"


def test_the_handling_report_refuses_to_render_without_the_analysis(app: App) -> None:
    ticket_id = _gorontalo(app, analysed=False)
    with pytest.raises(MissingTemplateDataError, match="akar_masalah"):
        _render(app, ticket_id, "documents", "laporan_penanganan_insiden")


def test_notices_to_the_asset_owner_and_the_reporter(app: App) -> None:
    ticket = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement", SURAKARTA, [LETTER])
    notice = _render(app, ticket.id, "comments", "pemberitahuan_insiden_opd")
    assert "Dinas Kesehatan" in notice and "pd-app-01" in notice and "dirahasiakan" in notice
    status = _render(app, ticket.id, "comments", "status_penyelesaian_opd")
    assert "Status Penyelesaian Insiden" in status and "Menerima Laporan" in status
    gorontalo = _gorontalo(app)
    closing = _render(app, gorontalo, "comments", "penutupan_tiket")
    assert closing.startswith("Yth. Bapak/Ibu Pelapor,")
    for text in (notice, status, closing):
        assert not leaked(text)


def test_only_coordinator_and_csirt_see_the_reporter(app: App) -> None:
    ticket_id = _gorontalo(app)
    for roles, shown in ((frozenset({"csirt"}), True), (frozenset({"koordinator-layanan"}), True),
                         (frozenset({"humas"}), False), (frozenset({"tim-keamanan-spbe"}), False),
                         (frozenset(), False)):
        text = _render(app, ticket_id, "documents", "laporan_insiden_siber", roles)
        assert ("Siti Pelapor" in text and "siti@example.go.id" in text) is shown, roles
        assert ("[dirahasiakan]" in text) is not shown
    env = {"SPBE_STATE_DIR": str(app.settings.state_dir)}
    spbe = Spbe(env=env, catch_exceptions=True)
    for viewer, shown in (("rina", True), ("sari", True), ("maya", False), ("eko", False)):
        out = spbe("ticket", "show", ticket_id, "--as", viewer, "--json").output
        assert ("Siti Pelapor" in out and '"lina"' in out) is shown, viewer
    listing = spbe("ticket", "list", "--json").output
    assert '"lina"' not in listing and "[dirahasiakan]" in listing


def test_documents_state_the_sla_the_decisions_made(app: App) -> None:
    ticket_id = _gorontalo(app)
    decide(app, ticket_id, as_lab("rina"), {"ada_backup": "tidak"}, "Backup tidak dapat dipercaya.")
    text = _render(app, ticket_id, "documents", "laporan_penanganan_insiden")
    assert "Tanpa backup 72 jam" in text and "48 jam" not in text
