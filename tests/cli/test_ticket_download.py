"""`spbe ticket download`: attachments are stored encrypted, so the CLI is the way to a file's content; it reads
through the same visibility rule as the portal and the API, and never writes over a file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.attachment_samples import pdf_bytes

# `spbe`: the shared fixture (tests/conftest.py), spbe in-process on the test's state directory.


def _open(spbe, letter: Path) -> str:  # type: ignore[no-untyped-def]
    result = spbe("ticket", "open", "splp", "--as", "andi", "--title", "API kependudukan", "--json",
                  "-f", "instansi=Dinas Kesehatan", "-f", "api_id=kependudukan", "-f", "aplikasi_konsumen=simpus",
                  "-f", "kebutuhan_data=NIK pasien", "-f", "rate_limit_per_menit=60",
                  "-f", "kontak_email=it@dinkes.example.go.id", "-a", f"surat_permohonan={letter}")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.output)["id"])


def test_the_requester_saves_an_attachment_and_gets_its_bytes(spbe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    letter = tmp_path / "surat.pdf"
    letter.write_bytes(pdf_bytes("Surat permohonan API"))
    ticket_id = _open(spbe, letter)
    out = tmp_path / "out" / "salinan.pdf"
    out.parent.mkdir()
    result = spbe("ticket", "download", ticket_id, "surat.pdf", "--output", str(out), "--as", "andi")
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == letter.read_bytes() and out.stat().st_mode & 0o077 == 0

    again = spbe("ticket", "download", ticket_id, "surat.pdf", "--output", str(out), "--as", "andi")
    assert again.exit_code == 2 and "exists" in again.output  # never overwritten


def test_a_file_of_a_ticket_one_may_not_see_is_not_found(spbe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    letter = tmp_path / "surat.pdf"
    letter.write_bytes(pdf_bytes())
    ticket_id = _open(spbe, letter)
    for name, user in (("surat.pdf", "budi"), ("../../tickets.db", "andi"), ("tidak-ada.pdf", "andi")):
        out = tmp_path / f"{user}.pdf"
        result = spbe("ticket", "download", ticket_id, name, "--output", str(out), "--as", user)
        assert result.exit_code == 3, (name, user, result.output)  # another applicant's ticket, or no such file
        assert not out.exists()
