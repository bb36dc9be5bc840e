"""Documents and comments rendered from real model instances, the way the actions render them.

The facts are shaped like those the Pusat Data playbooks publish with ``set_stats`` under ``spbe``
(``provision``/``backup`` keyed by inventory host, ``monitoring`` keyed by host name), wrapped the
way the ansible action stores them, so a drift between playbooks and templates shows up here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.document_samples import (
    CATALOG,
    FIELDS,
    INJECTION,
    NOW,
    PROVISION,
    TEMPLATES,
    FakeDirectory,
    context,
    make_prior,
    make_ticket,
    make_timeline,
    pusat_data_service,
    render_doc,
    repository_renderer,
)
from toolkit.document_context import REDACTED, UNSIGNED
from toolkit.documents import (
    MissingTemplateDataError,
    TemplateRenderer,
    daftar,
    durasi,
    hari,
    md,
    tanggal,
    tanggal_terbilang,
    waktu,
)
from toolkit.errors import ConfigurationError, InvalidInputError


@pytest.fixture(scope="module")
def service() -> Any:
    return pusat_data_service()


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return repository_renderer()

def test_dates_are_indonesian_and_in_wib() -> None:
    assert tanggal(date(2026, 11, 23)) == "23 November 2026"
    assert tanggal(datetime(2026, 8, 17, 2, 0, tzinfo=UTC)) == "17 Agustus 2026"
    # 20:00 UTC is already the next day in WIB; a naive datetime is taken as UTC
    assert tanggal(datetime(2026, 11, 22, 20, 0, tzinfo=UTC)) == "23 November 2026"
    assert tanggal(datetime(2026, 11, 22, 20, 0)) == "23 November 2026"
    assert hari(date(2026, 11, 23)) == "Senin" and hari(NOW) == "Jumat"
    assert waktu(datetime(2026, 11, 23, 7, 5, tzinfo=UTC)) == "14:05 WIB"
    assert waktu("2026-11-23T07:05:00+00:00") == "14:05 WIB"
    assert tanggal_terbilang(NOW) == "dua puluh tujuh bulan November tahun dua ribu dua puluh enam"
    with pytest.raises(InvalidInputError):
        waktu(date(2026, 11, 23))


@pytest.mark.parametrize(("value", "text"), [
    (3900, "1 jam 5 menit"), (45, "45 detik"), (41.2, "41 detik"), (125, "2 menit 5 detik"),
    (timedelta(hours=1), "1 jam"), (timedelta(days=7, minutes=3), "7 hari 3 menit"), (0, "0 detik"),
    (0.2, "kurang dari 1 detik"), (None, "-"),
])
def test_durasi(value: Any, text: str) -> None:
    assert durasi(value) == text


def test_md_escapes_what_would_change_the_markdown() -> None:
    assert md("a | b") == "a \\| b"
    assert md("`rm -rf`") == "\\`rm -rf\\`"
    assert md("# judul") == "\\# judul"
    assert md("baris satu\r\nbaris dua\n\ntiga") == "baris satu baris dua tiga"
    assert md("[klik](javascript:alert(1)) <img src=x>") == "\\[klik\\](javascript:alert(1)) &lt;img src=x&gt;"
    assert md("**tebal** _miring_ ~~coret~~ a*b*c &amp; > kutip") == (
        "\\*\\*tebal\\*\\* \\_miring\\_ \\~\\~coret\\~\\~ a\\*b\\*c &amp;amp; &gt; kutip")
    assert md("> kutipan") == "&gt; kutipan" and md("<script>") == "&lt;script&gt;"
    assert md("berita_acara_PD-1.md") == "berita_acara_PD-1.md"  # snake_case cannot open emphasis
    assert md("- butir") == "\\- butir" and md("-") == "-" and md(None) == "-"
    assert md(True) == "Ya"
    assert daftar([22, 80, "a|b"]) == "22, 80, a\\|b" and daftar("[22, 80]") == "\\[22, 80\\]"


# --- the renderer ----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["../comments/persetujuan", "Persetujuan", "_kop", "", "a" * 65, "a.b",
                                 "a-b"])
def test_a_bad_template_id_is_refused(renderer: TemplateRenderer, bad: str) -> None:
    with pytest.raises(InvalidInputError):
        renderer.render("comments", bad, {})


def test_a_missing_template_or_kind_is_reported(renderer: TemplateRenderer) -> None:
    with pytest.raises(ConfigurationError) as caught:
        renderer.render("documents", "tidak_ada", {})
    assert caught.value.details["template"] == "tidak_ada"
    with pytest.raises(InvalidInputError):
        renderer.render("network", "persetujuan", {})  # type: ignore[arg-type]


def test_every_template_parses(renderer: TemplateRenderer) -> None:
    names = [(kind, p.name) for kind in ("documents", "comments") for p in (TEMPLATES / kind).glob("*.md.j2")]
    assert len(names) >= 13
    for kind, name in names:
        renderer._env(kind).get_template(name)


def test_the_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    (tmp_path / "comments").mkdir()
    (tmp_path / "comments" / "jahat.md.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ConfigurationError):
        TemplateRenderer(tmp_path, CATALOG.roles).render("comments", "jahat", {})


def test_ticket_text_is_data_not_template(renderer: TemplateRenderer) -> None:
    text = renderer.render("comments", "langkah_selesai", {
        "langkah": {"id": "instalasi-aplikasi", "judul": "Instalasi aplikasi"}, "nama": "Nurul",
        "catatan": INJECTION + " | `x`"})
    assert "{{ 7\\*7 }}" in text and "{% for x in range(3) %}x{% endfor %}" in text  # "*" escaped, not evaluated
    assert "49" not in text and "xxx" not in text and "object" not in text
    assert "\\| \\`x\\`" in text


# --- comments --------------------------------------------------------------------------------------

def test_hasil_aksi_shows_status_hosts_duration_and_artifacts(renderer: TemplateRenderer) -> None:
    text = renderer.render("comments", "hasil_aksi", {
        "langkah": {"id": "instalasi-server", "judul": "Instalasi dan konfigurasi server"}, "berhasil": True,
        "host": {"pd-app-01": {"ok": 12, "changed": 7, "failed": 0, "unreachable": 0, "skipped": 1}},
        "durasi_s": 3900, "ringkasan": "Playbook provision_server.yml selesai.", "lampiran": ["ba.md"],
        "job_id": 7})
    assert "**Berhasil** (job #7)" in text and "1 jam 5 menit" in text
    assert "| pd-app-01 | 12 | 7 | 0 | 0 | 1 |" in text and "- ba.md" in text
    failed = renderer.render("comments", "hasil_aksi", {
        "langkah": {"id": "x", "judul": "Instalasi"}, "berhasil": False, "durasi_s": None,
        "ringkasan": "gagal: host | tidak terjangkau"})
    assert "**Gagal**" in failed and "host \\| tidak" in failed and "| Host |" not in failed


@pytest.mark.parametrize(("idempotent", "phrase"), [(True, "aman untuk dijalankan ulang"),
                                                    (False, "tidak dijalankan ulang secara otomatis")])
def test_aksi_gagal_says_what_happens_next(renderer: TemplateRenderer, idempotent: bool, phrase: str) -> None:
    text = renderer.render("comments", "aksi_gagal", {
        "langkah": {"id": "instalasi-server", "judul": "Instalasi server"}, "job_id": 9, "percobaan": 2,
        "galat": "password=******** ditolak", "idempoten": idempotent})
    assert "job #9, percobaan ke-2" in text and "password=" + "\\*" * 8 in text and phrase in text


def test_decision_and_step_comments(renderer: TemplateRenderer) -> None:
    ok = renderer.render("comments", "persetujuan", {"nama": "Dr. Hendra", "peran": "kepala-dinas",
                                                     "alasan": "Sesuai rencana"})
    assert "**disetujui** oleh Dr. Hendra (Kepala Dinas)" in ok and "Sesuai rencana" in ok
    later = renderer.render("comments", "penundaan", {"nama": "Dr. Hendra", "peran": "kepala-dinas",
                                                      "alasan": "Anggaran belum tersedia"})
    assert "**ditunda**" in later and "Anggaran belum tersedia" in later
    checked = renderer.render("comments", "kelengkapan", {"tiket": {"id": "PD-1"}, "petugas": "Sri",
                                                          "penyetuju": "kepala-dinas"})
    assert "**lengkap**" in checked and "diteruskan kepada Kepala Dinas" in checked
    step = renderer.render("comments", "langkah_selesai", {
        "langkah": {"id": "a", "judul": "Instalasi aplikasi"}, "nama": "Nurul", "catatan": "Terpasang"})
    assert "**Instalasi aplikasi**" in step and "Nurul" in step and "Catatan: Terpasang" in step
    with pytest.raises(MissingTemplateDataError):
        renderer.render("comments", "persetujuan", {"nama": "Dr. Hendra", "peran": "kepala-dinas"})


def test_koordinasi_pengembangan_aplikasi(renderer: TemplateRenderer, service: Any) -> None:
    text = renderer.render("comments", "koordinasi_pengembangan_aplikasi", context(service))
    assert text.startswith("Yth. Nurul Ain Daud, M.Kom. (Tim Kerja Pengembangan Aplikasi)")
    assert "**disetujui** oleh Dr. Ir. Hendra Lamato, M.Si. pada 23 November 2026 pukul 10:30 WITA" in text
    assert "Sesuai rencana SPBE BKD" in text and "| Nama host server | pd-app-01 |" in text


def test_penutupan_tiket(renderer: TemplateRenderer, service: Any) -> None:
    text = renderer.render("comments", "penutupan_tiket", context(service))
    assert "Yth. Bapak/Ibu Rahmat Hasan, S.Kom. (Badan Kepegawaian Daerah)" in text
    assert "**ditutup** pada 27 November 2026 pukul 15:05 WITA" in text
    assert "- Berita acara instalasi server (berita_acara_instalasi_server_PD-2026-0042.md)" in text
    for channel in service.complaint_channels:
        assert f"- {channel}" in text


# --- documents -------------------------------------------------------------------------------------

def test_berita_acara_instalasi_server(renderer: TemplateRenderer, service: Any) -> None:
    text = render_doc(renderer, "berita_acara_instalasi_server", context(service))
    assert "## BERITA ACARA INSTALASI SERVER" in text
    assert "Nomor: BA-INSTALASI-SERVER/PD-2026-0042/2026" in text
    assert "Pada hari ini Jumat, tanggal dua puluh tujuh bulan November tahun dua ribu dua puluh enam " \
           "(27 November 2026)" in text
    for fact in ("| Nama host | pd-app-01 |", "| Alamat IP | 10.20.30.41 |", "Debian 12.8 (bookworm)",
                 "| Web server | nginx versi 1.22.1-9+deb12u1 |", "| Direktori aplikasi | /srv/apps/simpeg |",
                 "| Akun layanan | spbe-app", "Login dengan kata sandi: dinonaktifkan",
                 "Port yang dibuka: 22, 80, 443, 9100", "Akses SSH hanya dari: 10.20.0.0/24",
                 "| Target node_exporter | 10.20.30.41:9100 |", "opd=bkd", "spbe-pusat-data.yml",
                 "| Repositori (restic) | /var/backups/spbe/simpeg |", "setiap hari pukul 01:30",
                 "7 harian, 4 mingguan, 6 bulanan", "| Snapshot pertama | 4f1c2a9b |",
                 "siap digunakan oleh Tim Kerja Pengembangan Aplikasi"):
        assert fact in text, fact
    assert "**Fadli Pakaya, S.Kom.**" in text and "**Rahmat Hasan, S.Kom.**" in text
    assert "**Dr. Ir. Hendra Lamato, M.Si.**" in text and "PIHAK PERTAMA" in text
    assert "nomor PD-2026-0042" in text and "{{ 7\\*7 }}" in text and "49" not in text
    assert "restic-password" not in text  # the path of the secret is not the applicant's business


def test_berita_acara_instalasi_server_without_backup(renderer: TemplateRenderer, service: Any) -> None:
    text = render_doc(renderer, "berita_acara_instalasi_server", context(
        service, ticket=make_ticket(fields={**FIELDS, "backup": False}), prior=make_prior(backup=False)))
    assert "tidak termasuk dalam permohonan ini" in text and "restic" not in text


@pytest.mark.parametrize("broken", [
    {"provision": {"pd-app-01": {k: v for k, v in PROVISION["provision"]["pd-app-01"].items()
                                 if k != "address"}}},
    {"provision": {}},
    {},
])
def test_a_missing_required_fact_stops_the_berita_acara(renderer: TemplateRenderer, service: Any,
                                                        broken: dict[str, Any]) -> None:
    with pytest.raises(MissingTemplateDataError) as caught:
        render_doc(renderer, "berita_acara_instalasi_server",
                   context(service, prior=make_prior(provision=broken)))
    assert isinstance(caught.value, InvalidInputError)
    assert caught.value.details["template"] == "berita_acara_instalasi_server"


def test_berita_acara_needs_the_monitoring_step(renderer: TemplateRenderer, service: Any) -> None:
    prior = {k: v for k, v in make_prior().items() if k != "instalasi-monitoring"}
    with pytest.raises(MissingTemplateDataError):
        render_doc(renderer, "berita_acara_instalasi_server", context(service, prior=prior))


def test_berita_acara_pemanfaatan(renderer: TemplateRenderer, service: Any) -> None:
    text = render_doc(renderer, "berita_acara_pemanfaatan", context(service))
    assert "## BERITA ACARA PEMANFAATAN LAYANAN PUSAT DATA" in text
    assert "SIMPEG v3.2 terpasang di /srv/apps/simpeg; basis data PostgreSQL 15." in text
    assert "UAT 50 pengguna serentak lulus \\| tanpa galat." in text  # note from the event's text
    assert "| Selesai pada | 24 November 2026 pukul 11:00 WITA |" in text
    assert "**Nurul Ain Daud, M.Kom.**" in text and "**Rahmat Hasan, S.Kom.**" in text
    assert "server pd-app-01 (10.20.30.41)" in text


def test_berita_acara_pemanfaatan_without_uat_or_before_installation(renderer: TemplateRenderer,
                                                                       service: Any) -> None:
    no_uat = make_ticket(fields={**FIELDS, "uat": False}, sla_variant="tanpa-uat")
    timeline = [e for e in make_timeline() if e.step_id != "uji-fungsionalitas"]
    text = render_doc(renderer, "berita_acara_pemanfaatan",
                      context(service, ticket=no_uat, timeline=timeline))
    assert "tanpa User Acceptance Test" in text
    early = [e for e in make_timeline() if e.step_id not in ("instalasi-aplikasi", "uji-fungsionalitas")]
    with pytest.raises(MissingTemplateDataError):
        render_doc(renderer, "berita_acara_pemanfaatan", context(service, timeline=early))


def test_laporan_pelaksanaan(renderer: TemplateRenderer, service: Any) -> None:
    text = render_doc(renderer, "laporan_pelaksanaan", context(service))
    assert "## LAPORAN PELAKSANAAN INSTALASI DAN KONFIGURASI SERVER" in text
    assert "Nomor: LAP-PD/PD-2026-0042/2026" in text
    assert "| 5 | Tim kerja pusat data melakukan instalasi dan konfigurasi server sesuai rekomendasi " \
           "spesifikasi server | Sistem | Selesai | 23 November 2026 12:00 WITA |" in text
    assert "| 9 | Tim kerja pengembangan aplikasi melakukan uji beban fungsionalitas aplikasi pada server " \
           "(UAT) | Nurul Ain Daud, M.Kom. | Selesai | 26 November 2026 09:00 WITA |" in text
    assert "Playbook: provision_server.yml; status: berhasil; durasi: 41 detik" in text
    assert "| pd-app-01 | 12 | 9 | 0 | 0 | 1 |" in text and "durasi: 1 menit 5 detik" in text
    assert "1 Minggu jika melalui User Acceptance test" in text
    assert "masih dalam jangka waktu pelayanan" in text
    assert "- Berita acara instalasi server: selesai (berita_acara_instalasi_server_PD-2026-0042.md)" in text
    assert "| Nama host server | pd-app-01 |" in text


# --- the context -----------------------------------------------------------------------------------

def _with_confidential_email(service: Any) -> Any:
    fields = tuple(f.model_copy(update={"confidential": True}) if f.name == "kontak_email" else f
                   for f in service.requirements.fields)
    requirements = service.requirements.model_copy(update={"fields": fields})
    return service.model_copy(update={"requirements": requirements})


@pytest.mark.parametrize(("roles", "shown"), [
    (frozenset(), False), (frozenset({"tim-pusat-data", "pemohon"}), False),
    (frozenset({"csirt"}), True), (frozenset({"koordinator-layanan"}), True),
])
def test_confidential_fields_are_masked_for_other_viewers(renderer: TemplateRenderer, service: Any,
                                                          roles: frozenset[str], shown: bool) -> None:
    ctx = context(_with_confidential_email(service), viewer_roles=roles)
    row = next(d for d in ctx["tiket"]["data"] if d["nama"] == "kontak_email")
    assert (row["nilai"] == FIELDS["kontak_email"]) is shown
    assert (ctx["tiket"]["isian"]["kontak_email"] == REDACTED) is not shown
    text = render_doc(renderer, "laporan_pelaksanaan", ctx)
    assert (f"| Email kontak pemohon | {FIELDS['kontak_email']} |" in text) is shown
    assert ("| Email kontak pemohon | [dirahasiakan] |" in text) is not shown


def test_context_steps_results_and_parties(service: Any) -> None:
    ctx = context(service)
    status = {s["id"]: s["status"] for s in ctx["langkah"]}
    assert status["pengajuan-permohonan"] == status["persetujuan-kepala-dinas"] == "selesai"
    assert status["konfigurasi-backup"] == "selesai" and status["penutupan-tiket"] == "belum"
    assert ctx["catatan_langkah"]["instalasi-aplikasi"].startswith("SIMPEG v3.2")
    assert "instalasi-server" not in ctx["catatan_langkah"]  # a result comment is not a note
    assert ctx["hasil"]["instalasi-server"]["fakta"]["spbe"] == PROVISION
    assert ctx["hasil"]["instalasi-server"]["durasi_s"] == 41.2
    assert ctx["pihak"]["kepala-dinas"]["nama"] == "Dr. Ir. Hendra Lamato, M.Si."
    assert ctx["riwayat"][2]["pelaku"] == "Dr. Ir. Hendra Lamato, M.Si."
    assert ctx["riwayat"][3]["pelaku"] == "Sistem"
    skipped = context(service, ticket=make_ticket(fields={**FIELDS, "backup": False}),
                      prior=make_prior(backup=False),
                      timeline=[e for e in make_timeline() if e.step_id != "konfigurasi-backup"])
    assert {s["id"]: s["status"] for s in skipped["langkah"]}["konfigurasi-backup"] == "dilewati"


def test_unknown_people_get_placeholders(service: Any) -> None:
    empty = FakeDirectory([])
    ctx = context(service, directory=empty)
    assert ctx["pemohon"]["nama"] == "rahmat" and ctx["pemohon"]["opd"] == "Badan Kepegawaian Daerah"
    assert ctx["pihak"]["tim-pusat-data"]["nama"] == UNSIGNED
    assert not ctx["pihak"]["tim-pusat-data"]["ditetapkan"]
    assert ctx["riwayat"][1]["pelaku"] == "sri"


def test_document_number_uses_the_year_in_wib(service: Any) -> None:
    ctx = context(service, now=datetime(2026, 12, 31, 18, 0, tzinfo=UTC))  # 1 January 2027 in Gorontalo
    assert ctx["nomor_dokumen"]("BA") == "BA/PD-2026-0042/2027"


def test_kode_shows_a_masked_key_literally_and_fences_any_backticks() -> None:
    """A mask's asterisks in a code span stay asterisks in the Markdown source and its rendering; a value
    with backticks cannot close the span early (CommonMark: a longer fence)."""
    from toolkit.documents import kode

    assert kode("********RSAb") == "`********RSAb`"
    assert kode("a`b") == "``a`b``"
    assert kode("`x") == "`` `x ``"
    assert kode("baris\nbaru") == "`baris baru`"
    assert kode(None) == "`-`"
