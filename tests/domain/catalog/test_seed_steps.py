"""The catalog against the SOPs: every numbered procedure, in order, with the SOP's actor and kind.

The expected lists below are written from the seed texts (a short key phrase of each procedure,
lower case), independently of the YAML, so a transcription slip in either shows up here. When the
seed files are present the phrases are also checked against them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.catalog.models import Service, StepKind

H, A, ACT, DOC, NTF = StepKind.HUMAN, StepKind.APPROVAL, StepKind.ACTION, StepKind.DOCUMENT, StepKind.NOTIFY

EXPECTED: dict[str, list[tuple[str, str, StepKind]]] = {
    "insiden-siber": [
        ("mengirimkan laporan insiden siber", "pelapor", H),
        ("verifikasi awal", "koordinator-layanan", A),
        ("pemeriksaan terhadap objek yang terdampak", "csirt", ACT),
        ("membuat laporan insiden siber", "csirt", DOC),
        ("press release terkait insiden siber", "humas", DOC),
        ("menyusun strategi mitigasi", "csirt", H),
        ("penanganan insiden siber sesuai strategi mitigasi", "csirt", ACT),
        ("memastikan penanganan insiden siber telah berhasil", "csirt", H),
        ("press release hasil keberhasilan", "humas", DOC),
        ("laporan penanganan insiden siber dan rekomendasi keamanan siber", "csirt", DOC),
        ("sesuai laporan dan rekomendasi", "tim-kerja-aplikasi", H),
        ("verifikasi perbaikan keamanan siber", "csirt", ACT),
        ("laporan perbaikan keamanan insiden", "tim-keamanan-spbe", DOC),
        ("penutupan tiket pelaporan insiden siber", "koordinator-layanan", H),
        ("menerima notifikasi penyelesaian tiket", "pelapor", NTF),
    ],
    "jaringan-intra": [
        ("mengajukan permohonan melalui layanan helpdesk", "pemohon", H),
        ("memeriksa kelengkapan dokumen", "koordinator-layanan", H),
        ("menyetujui atau memberikan pertimbangan untuk menunda", "kepala-dinas", A),
        ("analisis ketersediaan dan kebutuhan", "tim-jaringan-intra", ACT),
        ("persiapan pemasangan", "tim-jaringan-intra", H),
        ("mengkonfirmasi jadwal pelaksanaan", "pemohon", H),
        ("pemasangan jaringan di lokasi", "tim-jaringan-intra", ACT),
        ("uji kualitas pemasangan jaringan", "tim-jaringan-intra", ACT),
        ("berita acara penggunaan layanan", "tim-jaringan-intra", DOC),
        ("laporan pelaksanaan kegiatan pemasangan jaringan", "tim-jaringan-intra", DOC),
        ("menutup tiket pemohon", "koordinator-layanan", H),
        ("notifikasi penutupan tiket", "pemohon", NTF),
    ],
    "pusat-data": [
        ("open tiket", "pemohon", H),
        ("memeriksa kelengkapan", "koordinator-layanan", H),
        ("menyetujui atau memberikan pertimbangan untuk menunda", "kepala-dinas", A),
        ("koordinasi dengan tim kerja pengembangan aplikasi", "tim-pusat-data", NTF),
        ("instalasi dan konfigurasi server", "tim-pusat-data", ACT),
        ("instalasi dan konfigurasi monitoring", "tim-pusat-data", ACT),
        ("berita acara instalasi server", "tim-pusat-data", DOC),
        ("instalasi aplikasi pada server", "tim-pengembangan-aplikasi", H),
        ("uji beban fungsionalitas", "tim-pengembangan-aplikasi", H),
        ("berita acara pemanfaatan layanan pusat data", "tim-pengembangan-aplikasi", DOC),
        ("laporan pelaksanaan instalasi dan konfigurasi server", "tim-pusat-data", DOC),
        ("menutup tiket pemohon", "koordinator-layanan", H),
        ("notifikasi penutupan tiket", "pemohon", NTF),
    ],
    # Table rows 2-16; actors are inferred (the seed lost the Pelaksana column marks).
    "keamanan-informasi": [
        ("menerima laporan keamanan informasi", "kepala-bidang-ti", H),
        ("menindaklanjuti laporan", "analis-sistem-informasi-jaringan", H),
        ("insiden security atau insiden umum", "analis-sistem-informasi-jaringan", H),
        ("pemberitahuan kepada opd pemilik", "kepala-bidang-ti", NTF),
        ("pemindahan aplikasi/website/aset informasi", "analis-sistem-informasi-jaringan", ACT),
        ("pengumpulan bukti dukung", "analis-sistem-informasi-jaringan", ACT),
        ("memerlukan bantuan dari pihak eksternal", "kepala-bidang-ti", H),
        ("menghubungi pihak luar", "analis-sistem-informasi-jaringan", H),
        ("bantuan penanganan insiden oleh pihak eksternal", "pihak-eksternal", H),
        ("memverifikasi hasil penanganan insiden dari pihak", "analis-sistem-informasi-jaringan", H),
        ("melakukan penanganan insiden", "pranata-komputer-ahli-muda", H),
        ("memeriksa hasil pelaksanaan penanganan insiden", "kepala-bidang-ti", H),
        ("status penyelesaian insiden", "analis-sistem-informasi-jaringan", NTF),
        ("penutupan terhadap laporan insiden", "analis-sistem-informasi-jaringan", H),
        ("mendokumentasikan langkah dan hasil perbaikan", "analis-sistem-informasi-jaringan", H),
    ],
    # Seed 003's own short procedure (three procedures of 60 minutes); actors inferred.
    "permohonan-keamanan-informasi": [
        ("mengajukan surat permohonan", "pemohon", H),
        ("memverifikasi dan melakukan peninjauan", "kepala-bidang-ti", A),
        ("implementasi penggunaan layanan keamanan informasi", "analis-sistem-informasi-jaringan", H),
    ],
    "splp": [
        ("mengajukan permohonan penggunaan api", "pemohon", H),
        ("memeriksa kelengkapan permohonan", "koordinator-layanan", H),
        ("memberikan persetujuan", "penyedia-api", A),
        ("mengarahkan permohonan", "koordinator-layanan", H),
        ("memberikan endpoint api", "tim-pengembangan-aplikasi", ACT),
        ("try out", "tim-pengembangan-aplikasi", ACT),
        ("mengkonfirmasi kesesuaian", "pemohon", H),
        ("menandatangani perjanjian (berita acara)", "tim-pengembangan-aplikasi", DOC),
        ("membuat laporan pelaksanaan", "tim-pengembangan-aplikasi", DOC),
        ("menutup tiket", "koordinator-layanan", H),
        ("konfirmasi penutupan tiket", "pemohon", NTF),
    ],
}

SEED_PREFIX = {"insiden-siber": "000_", "jaringan-intra": "001_", "pusat-data": "002_",
               "keamanan-informasi": "003_", "permohonan-keamanan-informasi": "003_", "splp": "004_"}
UNNUMBERED = {"insiden-siber": ["pengumpulan-bukti", "dokumen-strategi-mitigasi", "pemulihan-sistem"],
              "pusat-data": ["penyediaan-cloud", "alokasi-kolokasi", "pencadangan-server", "konfigurasi-vpn",
                             "konfigurasi-backup", "penandatanganan-berita-acara"],
              "keamanan-informasi": ["dokumen-disposisi", "dokumen-hasil-identifikasi", "notifikasi-pelapor",
                                     "dokumen-hasil-perbaikan", "penutupan-tiket"],
              "permohonan-keamanan-informasi": ["notifikasi-pemohon"],
              "jaringan-intra": ["persetujuan-rencana-konfigurasi"], "splp": []}
ROLES = {
    "pemohon", "pelapor", "koordinator-layanan", "kepala-dinas", "penyedia-api", "tim-pusat-data",
    "tim-jaringan-intra", "tim-pengembangan-aplikasi", "csirt", "tim-keamanan-spbe", "tim-kerja-aplikasi",
    "humas", "analis-sistem-informasi-jaringan", "sandiman-ahli-pertama", "pranata-komputer-ahli-muda",
    "kepala-bidang-ti", "pihak-eksternal", "opd-pemilik-aset",
}
SEED_DIRS = [Path(__file__).resolve().parents[3] / "seeds", Path("/work/shared/seeds")]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_catalog_has_the_five_sop_services_and_audit_ti(catalog) -> None:
    # Audit TI and Tanda Tangan Elektronik are products of seed 003 with no procedure of their own (their
    # steps: the headers of audit-ti.yaml and tanda-tangan-elektronik.yaml).
    # Pengaduan: the complaint channel every seed names (issue 18), its procedure inferred (pengaduan.yaml).
    assert sorted(catalog.ids()) == sorted([*EXPECTED, "audit-ti", "tanda-tangan-elektronik", "pengaduan"])


@pytest.mark.parametrize("service_id", sorted(EXPECTED))
def test_every_sop_step_in_order_with_actor_and_kind(catalog, service_id: str) -> None:
    service: Service = catalog.get(service_id)
    numbered = [step for step in service.steps if step.sop_no is not None]
    expected = EXPECTED[service_id]
    assert [step.sop_no for step in numbered] == list(range(1, len(expected) + 1))
    for step, (phrase, actor, kind) in zip(numbered, expected, strict=True):
        assert phrase in _norm(step.title), f"{service_id} step {step.sop_no} ({step.id}): {phrase!r}"
        assert (step.actor, step.kind) == (actor, kind), f"{service_id} step {step.sop_no} ({step.id})"
    assert [s.id for s in service.steps if s.sop_no is None] == UNNUMBERED[service_id]


@pytest.mark.parametrize("service_id", sorted(EXPECTED))
def test_key_phrases_come_from_the_seed(catalog, service_id: str) -> None:
    seed_dir = next((d for d in SEED_DIRS if d.is_dir()), None)
    if seed_dir is None:
        pytest.skip("seed texts not available")
    service = catalog.get(service_id)
    assert service.seed.startswith(SEED_PREFIX[service_id])
    text = _norm((seed_dir / service.seed).read_text(encoding="utf-8"))
    for phrase, _actor, _kind in EXPECTED[service_id]:
        assert phrase in text, f"{phrase!r} not in {service.seed}"


@pytest.mark.parametrize("service_id", sorted(EXPECTED))
def test_roles_are_the_agreed_ids(catalog, service_id: str) -> None:
    assert set(catalog.get(service_id).roles) <= ROLES


def test_approver_roles(catalog) -> None:
    assert catalog.get("pusat-data").approver_roles == ("kepala-dinas",)
    assert catalog.get("jaringan-intra").approver_roles == ("kepala-dinas",)
    assert catalog.get("splp").approver_roles == ("penyedia-api",)
    assert catalog.get("insiden-siber").approver_roles == ("koordinator-layanan",)
    assert catalog.get("keamanan-informasi").approver_roles == ()
    assert catalog.get("permohonan-keamanan-informasi").approver_roles == ("kepala-bidang-ti",)


BOUND = {
    "pusat-data": {
        "koordinasi-pengembangan-aplikasi": "notify.koordinasi_pengembangan_aplikasi",
        "instalasi-server": "ansible.provision_server",
        "instalasi-monitoring": "ansible.install_monitoring",
        "konfigurasi-backup": "ansible.configure_backup",
        "konfigurasi-vpn": "vpn.site_to_site",
        "berita-acara-instalasi-server": "berita_acara_instalasi_server",
        "berita-acara-pemanfaatan": "berita_acara_pemanfaatan",
        "laporan-pelaksanaan": "laporan_pelaksanaan",
        "notifikasi-penutupan": "notify.penutupan_tiket",
    },
    "jaringan-intra": {
        "analisis-kebutuhan": "network.analyse",
        "pemasangan-jaringan": "network.install",
        "uji-kualitas": "network.quality_test",
        "berita-acara-penggunaan-layanan": "berita_acara_penggunaan_layanan",
        "laporan-pelaksanaan": "laporan_pelaksanaan_jaringan",
        "notifikasi-penutupan": "notify.penutupan_tiket",
    },
    "splp": {
        "pemberian-endpoint": "gateway.issue_endpoint",
        "try-out-endpoint": "gateway.try_out",
        "berita-acara-perjanjian": "berita_acara_perjanjian_api",
        "notifikasi-penutupan": "notify.penutupan_tiket",
    },
    "insiden-siber": {
        "pemeriksaan-objek": "containment.inspect",
        "penanganan-insiden": "containment.isolate_host",
        "pemulihan-sistem": "recovery.restore_or_rebuild",
        "press-release-insiden": "press_release_insiden",
        "press-release-keberhasilan": "press_release_keberhasilan",
        "verifikasi-perbaikan": "compliance.verify_fixes",
        "dokumen-strategi-mitigasi": "strategi_mitigasi",
    },
    "keamanan-informasi": {
        "pemindahan-aset": "containment.isolate_host",
        "analisis-dan-bukti": "evidence.collect",
        "dokumen-disposisi": "disposisi",
        "dokumen-hasil-identifikasi": "catatan_hasil_identifikasi",
        "dokumen-hasil-perbaikan": "dokumentasi_hasil_perbaikan",
    },
}


@pytest.mark.parametrize("service_id", sorted(BOUND))
def test_automated_steps_bind_the_agreed_actions(catalog, service_id: str) -> None:
    service = catalog.get(service_id)
    for step_id, action in BOUND[service_id].items():
        assert service.step(step_id).action == action


def test_pusat_data_specifics(catalog) -> None:
    service = catalog.get("pusat-data")
    assert service.index_of("konfigurasi-backup") == service.index_of("instalasi-monitoring") + 1
    hosting = {"produk": "hosting-aplikasi"}
    assert service.step("konfigurasi-backup").applies_to(hosting | {"backup": True})
    assert not service.step("konfigurasi-backup").applies_to(hosting | {"backup": False})
    assert not service.step("konfigurasi-backup").applies_to({"produk": "vpn", "backup": True})
    assert service.step("konfigurasi-vpn").applies_to({"produk": "vpn"})
    assert not service.step("konfigurasi-vpn").applies_to({"produk": "hosting-aplikasi"})
    assert service.step("berita-acara-pemanfaatan").participants == ("pemohon", "tim-pengembangan-aplikasi")
    fields = {f.name: f for f in service.requirements.fields}
    assert list(fields) == ["instansi", "perihal", "produk", "nama_aplikasi", "hostname", "web_stack", "vcpu",
                            "ram_gb", "disk_gb", "colo_unit_rak", "colo_daya_watt", "colo_jumlah_port", "colo_rak",
                            "backup", "vpn_subnet_lan", "vpn_ip_gateway", "uat", "kontak_email", "keterangan"]
    assert (fields["vpn_subnet_lan"].type, fields["vpn_ip_gateway"].type) == ("cidr", "ipv4")
    assert fields["produk"].choices == ("hosting-aplikasi", "colocation", "layanan-cloud", "backup", "vpn")
    ranges = [(fields[n].min, fields[n].max) for n in ("vcpu", "ram_gb", "disk_gb")]
    assert ranges == [(1, 64), (1, 512), (10, 10000)]
    assert fields["nama_aplikasi"].max_length == 40
    defaults = (fields["backup"].default, fields["uat"].default, fields["web_stack"].default)
    assert defaults == (False, True, "nginx")
    assert service.requirements.attachments[0].media_types == ("application/pdf",)


def test_confidential_reporter_fields(catalog) -> None:
    for service_id in ("insiden-siber", "keamanan-informasi"):
        assert catalog.get(service_id).requirements.confidential_fields == ("pelapor_nama", "pelapor_kontak")
    assert catalog.get("pusat-data").requirements.confidential_fields == ()


def test_press_releases_only_when_wanted(catalog) -> None:
    service = catalog.get("insiden-siber")
    quiet = {s.id for s in service.steps_for({"perlu_press_release": False})}
    loud = {s.id for s in service.steps_for({"perlu_press_release": True})}
    assert loud - quiet == {"press-release-insiden", "press-release-keberhasilan"}


def _hours(variant) -> tuple[float | None, float]:
    low = variant.min_duration.total_seconds() / 3600 if variant.min_duration else None
    return low, variant.duration.total_seconds() / 3600


def test_sla_variants(catalog) -> None:
    incident = catalog.get("insiden-siber").sla
    assert _hours(incident.select({"ada_backup": True})) == (None, 48)
    assert _hours(incident.select({"ada_backup": False})) == (None, 72)
    data_center = catalog.get("pusat-data").sla
    assert _hours(data_center.select({"uat": False})) == (3, 4)
    assert data_center.select({"uat": True}).duration == timedelta(weeks=1)
    for service_id in ("jaringan-intra", "splp"):
        assert [_hours(v) for v in catalog.get(service_id).sla.variants] == [(None, 8)]
    security = catalog.get("keamanan-informasi").sla
    assert security.select({"bantuan_eksternal": False}).duration == timedelta(days=1)
    assert security.select({"bantuan_eksternal": True}).duration == timedelta(days=8)


def test_surakarta_rows(catalog) -> None:
    service = catalog.get("keamanan-informasi")
    numbered = [s for s in service.steps if s.sop_no is not None]
    minutes = [10, 15, 10, 30, 60, 60, 60, 60, 7 * 24 * 60, 30, 24 * 60, 30, 15, 10, None]
    assert [s.standard_time.total_seconds() / 60 if s.standard_time else None for s in numbered] == minutes
    assert service.step("pemberitahuan-opd").outputs == ("Surat Pemberitahuan kepada OPD pemilik aset",)
    external = [s.sop_no for s in numbered if s.when and s.when.field == "bantuan_eksternal"]
    assert external == [7, 8, 9, 10]  # table rows 8-11
    security = [s.sop_no for s in numbered if s.when and s.when.field == "jenis_insiden"]
    assert security == [4, 5, 6]  # table rows 5-7
    general = [s.id for s in service.steps_for({"jenis_insiden": "umum", "bantuan_eksternal": False})]
    assert "pemindahan-aset" not in general and "penanganan-insiden" in general
    assert {s.supervisor for s in service.steps if s.actor != "kepala-bidang-ti"} == {"kepala-bidang-ti"}


def test_pusat_data_berita_acara_pemanfaatan_is_signed_by_the_applicant_before_the_report() -> None:
    service = load_catalog().get("pusat-data")
    sign = service.step("penandatanganan-berita-acara")
    assert (sign.actor, str(sign.kind)) == ("pemohon", "human")
    order = [s.id for s in service.steps]
    assert order.index("berita-acara-pemanfaatan") < order.index(sign.id) < order.index("laporan-pelaksanaan")
