"""`spbe ticket open -a KIND=PATH` reads only what the applicant may attach, typed by its content.

Through the real CLI, catalog and embedded store: a refused attachment opens no ticket and leaves
no byte of what it pointed at anywhere in the state directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.attachment_samples import jpeg_bytes, pdf_bytes, png_bytes

PUSAT_DATA = {
    "instansi": "Dinas Kesehatan", "perihal": "Permohonan hosting", "produk": "hosting-aplikasi",
    "nama_aplikasi": "simpus", "hostname": "simpus-app", "vcpu": "2", "ram_gb": "4", "disk_gb": "40",
    "kontak_email": "it@dinkes.example.go.id",
}
JARINGAN_INTRA = {"instansi": "Badan Kepegawaian Daerah", "lokasi": "bkd", "jumlah_user": "20",
                  "aplikasi": "simpeg,dns", "kontak_email": "it@bkd.example.go.id"}
CANARY = "CANARY-rahasia-9c1e7b"
NOBODY = 65534


# `spbe`: the shared fixture (tests/conftest.py), spbe in-process on the test's state directory.


def _open(spbe, attach: str, service: str = "pusat-data", actor: str = "andi",  # type: ignore[no-untyped-def]
          extra: tuple[str, ...] = ()):
    fields = PUSAT_DATA if service == "pusat-data" else JARINGAN_INTRA
    args = ["ticket", "open", service, "--as", actor, "--title", "Permohonan", "--json", "-a", attach]
    for more in extra:
        args += ["-a", more]
    for name, value in fields.items():
        args += ["-f", f"{name}={value}"]
    return spbe(*args)


def _applicants_link(link: Path, target: Path | str) -> Path:
    link.symlink_to(target)
    if os.geteuid() == 0:
        os.lchown(link, NOBODY, NOBODY)
    return link


def _assert_nothing_stored(spbe, state_dir: Path) -> None:  # type: ignore[no-untyped-def]
    listed = spbe("ticket", "list", "--json")
    assert listed.exit_code == 0 and json.loads(listed.output) == []
    for path in state_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


@pytest.fixture
def secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "rahasia" / "shadow"
    path.parent.mkdir()
    path.write_text(f"root:$6${CANARY}:19000:0:99999:7:::\n")
    path.chmod(0o600)
    monkeypatch.setenv("SPBE_TEST_SECRET", CANARY)  # what /proc/self/environ would hand over
    return path


def test_a_link_to_a_secret_file_is_refused(spbe, state_dir, tmp_path, secret):
    link = _applicants_link(tmp_path / "x.pdf", secret)
    result = _open(spbe, f"surat_permohonan={link}")
    assert result.exit_code == 2, result.output
    assert "surat_permohonan" in result.output and "symbolic link" in result.output
    assert CANARY not in result.output
    _assert_nothing_stored(spbe, state_dir)


def test_a_link_to_etc_shadow_is_refused(spbe, state_dir, tmp_path):
    result = _open(spbe, f"surat_permohonan={_applicants_link(tmp_path / 'x.pdf', '/etc/shadow')}")
    assert result.exit_code == 2 and "symbolic link" in result.output, result.output
    _assert_nothing_stored(spbe, state_dir)


def test_a_link_in_a_parent_directory_is_refused(spbe, state_dir, tmp_path, secret):
    (secret.parent / "surat.pdf").write_bytes(pdf_bytes(CANARY))
    via = _applicants_link(tmp_path / "dokumen", secret.parent)
    result = _open(spbe, f"surat_permohonan={via / 'surat.pdf'}")
    assert result.exit_code == 2 and "symbolic link" in result.output, result.output
    _assert_nothing_stored(spbe, state_dir)


@pytest.mark.parametrize("how", ["direct", "link"])
def test_proc_self_environ_is_refused(spbe, state_dir, tmp_path, secret, how):
    path = "/proc/self/environ" if how == "direct" else str(_applicants_link(tmp_path / "env.pdf",
                                                                             "/proc/self/environ"))
    result = _open(spbe, f"surat_permohonan={path}")
    assert result.exit_code == 2, result.output
    assert ("/proc" if how == "direct" else "symbolic link") in result.output
    assert CANARY not in result.output
    _assert_nothing_stored(spbe, state_dir)


@pytest.mark.parametrize("what", ["fifo", "directory"])
def test_a_fifo_or_a_directory_is_refused(spbe, state_dir, tmp_path, what):
    path = tmp_path / "surat.pdf"
    if what == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    result = _open(spbe, f"surat_permohonan={path}")
    assert result.exit_code == 2 and "not a regular file" in result.output, result.output
    _assert_nothing_stored(spbe, state_dir)


def test_an_oversized_file_is_refused(spbe, state_dir, tmp_path):
    path = tmp_path / "besar.pdf"
    with path.open("wb") as handle:
        handle.write(pdf_bytes())
        handle.truncate(20 * 1024 * 1024 + 1)
    result = _open(spbe, f"surat_permohonan={path}")
    assert result.exit_code == 2 and "larger than" in result.output, result.output
    _assert_nothing_stored(spbe, state_dir)


def test_a_shell_script_named_pdf_is_refused(spbe, state_dir, tmp_path):
    path = tmp_path / "notpdf.pdf"
    path.write_text(f"#!/bin/sh\necho {CANARY}\n")
    result = _open(spbe, f"surat_permohonan={path}")
    assert result.exit_code == 2, result.output
    assert "surat_permohonan" in result.output and "notpdf.pdf" in result.output
    assert "application/pdf" in result.output and "text/x-shellscript" in result.output
    _assert_nothing_stored(spbe, state_dir)


def test_one_bad_attachment_among_good_ones_opens_nothing(spbe, state_dir, tmp_path):
    good = tmp_path / "layar.png"
    good.write_bytes(png_bytes())
    log = tmp_path / "log.txt"
    log.write_text("GET / 200\n")
    bad = tmp_path / "ktp.pdf"
    bad.write_text(f"#!/bin/sh\necho {CANARY}\n")
    result = spbe("ticket", "open", "insiden-siber", "--as", "lina", "--title", "Situs diretas",
                  "-f", "pelapor_nama=Nur", "-f", "pelapor_kontak=nur@example.go.id", "-f", "instansi=Dinkes",
                  "-f", "objek_terdampak=ir-web-01", "-f", "deskripsi=Halaman berubah.", "-f", "ada_backup=tidak",
                  "-a", f"tangkapan_layar={good}", "-a", f"log_sistem={log}", "-a", f"kartu_identitas={bad}")
    assert result.exit_code == 2 and "kartu_identitas" in result.output, result.output
    _assert_nothing_stored(spbe, state_dir)


def test_a_real_pdf_is_accepted_and_stored_as_read(spbe, tmp_path):
    path = tmp_path / "surat.pdf"
    path.write_bytes(pdf_bytes())
    approval = tmp_path / "persetujuan.pdf"  # hosting also needs the application's approval (SOP 002 step 4)
    approval.write_bytes(pdf_bytes("Persetujuan aplikasi"))
    result = _open(spbe, f"surat_permohonan={path}", extra=(f"dokumen_persetujuan_aplikasi={approval}",))
    assert result.exit_code == 0, result.output
    ticket = json.loads(result.output)
    attachment, _ = ticket["attachments"]
    assert (attachment["name"], attachment["media_type"], attachment["size"]) == (
        "surat.pdf", "application/pdf", len(pdf_bytes()))


@pytest.mark.parametrize(("name", "make", "media_type"), [
    ("ktp.png", png_bytes, "image/png"), ("ktp.jpg", jpeg_bytes, "image/jpeg"),
    ("ktp.pdf", pdf_bytes, "application/pdf"),
])
def test_images_are_accepted_where_the_catalog_allows_them(spbe, tmp_path, name, make, media_type):
    path = tmp_path / name
    path.write_bytes(make())
    result = _open(spbe, f"kartu_identitas={path}", service="jaringan-intra", actor="budi")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["attachments"][0]["media_type"] == media_type


def test_an_image_is_refused_where_the_catalog_wants_a_pdf(spbe, state_dir, tmp_path):
    path = tmp_path / "surat.pdf"
    path.write_bytes(png_bytes())
    result = _open(spbe, f"surat_permohonan={path}")
    assert result.exit_code == 2 and "image/png" in result.output, result.output
    _assert_nothing_stored(spbe, state_dir)
