"""`spbe sign ...` and `spbe document sign|verify` through the CLI, with bad input and a canary passphrase."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.signing.conftest import CANARY, render_pdf
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.signing import identity_of
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.settings import load_settings

DOC = "berita_acara_pemanfaatan"
PUSAT_DATA = {"instansi": "Dinas Kesehatan", "perihal": "Hosting SIMPUS", "produk": "hosting-aplikasi",
              "nama_aplikasi": "simpus", "hostname": "simpus-app", "vcpu": 2, "ram_gb": 4, "disk_gb": 40,
              "backup": True, "uat": False, "kontak_email": "it@dinkes.example.go.id"}


@pytest.fixture
def cli(spbe: Spbe) -> Spbe:
    return spbe.with_env(SPBE_DEPLOYMENT="lab")


@pytest.fixture
def enrolled(cli: Spbe) -> Spbe:
    assert cli("sign", "init", "--organisation", "Diskominfo Uji", "--as", "sari").exit_code == 0
    for user, phrase in (("dewi", "dewi-rahasia-1"),):
        result = cli("sign", "enroll", user, "--as", user, "--passphrase-stdin", input=phrase + "\n")
        assert result.exit_code == 0, result.output
    return cli


@pytest.fixture
def ticket_id(state_dir: Path, enrolled: Spbe) -> str:
    app = App(load_settings(state_dir=state_dir, deployment="lab"))
    app.signing.enroll(identity_of(app, "andi"), SecretStr(CANARY))  # as `spbe sign activate` would
    surat = AttachmentUpload(name="surat.pdf", media_type="application/pdf", content=render_pdf("Surat"),
                             kind="surat_permohonan")
    persetujuan = AttachmentUpload(name="persetujuan.pdf", media_type="application/pdf",
                                   content=render_pdf("Persetujuan"), kind="dokumen_persetujuan_aplikasi")
    ticket = desk.open_ticket(app, "pusat-data", as_lab("andi"), "Hosting SIMPUS", PUSAT_DATA, [surat, persetujuan])
    app.tickets.attach(ticket.id, AttachmentUpload(name=f"{DOC}_{ticket.id}.pdf", media_type="application/pdf",
                                                   content=render_pdf("Berita Acara Pemanfaatan"), kind=DOC), "spbe")
    app.close()
    return ticket.id


def test_sign_and_verify_from_the_cli(enrolled: Spbe, ticket_id: str, state_dir: Path, tmp_path: Path,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    outputs = []
    first = enrolled("document", "sign", ticket_id, DOC, "--as", "dewi", input="dewi-rahasia-1\n")  # the prompt
    second = enrolled("document", "sign", ticket_id, DOC, "--as", "andi", "--passphrase-stdin", "--json",
                      input=CANARY + "\n")
    outputs += [first.output, second.output]
    assert first.exit_code == 0 and second.exit_code == 0, outputs
    signed_name = json.loads(second.stdout)["attachment"]
    app = App(load_settings(state_dir=state_dir))
    signed = app.tickets.read_attachment(ticket_id, signed_name)
    said = [e.text for e in app.tickets.timeline(ticket_id) if "ditandatangani secara elektronik" in e.text]
    app.close()
    assert len(said) == 2 and all(text.endswith(f"berkas {DOC}_{ticket_id}_ttd{n}.pdf.") for n, text in
                                  enumerate(said, 1))
    assert all("WITA" in text for text in said)  # Gorontalo's Pusat Data: the office's own time
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    table = enrolled("document", "verify", str(path), "--as", "sari")
    assert table.exit_code == 0 and "Andi Pratama" in table.output and "Dewi Lestari" in table.output
    report = enrolled.json("document", "verify", str(path), "--as", "sari")
    assert report["ok"] and len(report["signatures"]) == 2
    changed = tmp_path / "changed.pdf"
    at = signed.find(b"/Producer")
    changed.write_bytes(signed[:at + 12] + bytes([signed[at + 12] ^ 1]) + signed[at + 13:])
    refused = enrolled("document", "verify", str(changed), "--as", "sari")
    assert refused.exit_code == 9, refused.output
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(signed + b"\n%% tambahan\n")
    assert enrolled("document", "verify", str(appended), "--as", "sari").exit_code == 9
    outputs += [table.output, refused.output]
    _no_canary(state_dir, outputs, caplog)


def test_a_wrong_passphrase_leaves_nothing(enrolled: Spbe, ticket_id: str, state_dir: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = enrolled("document", "sign", ticket_id, DOC, "--as", "dewi", "--passphrase-stdin", input=CANARY + "\n")
    assert result.exit_code == 4 and "wrong passphrase" in result.output
    app = App(load_settings(state_dir=state_dir))
    names = [a.name for a in app.tickets.get(ticket_id).attachments]
    app.close()
    assert not any("_ttd" in name for name in names)
    _no_canary(state_dir, [result.output], caplog)


def _no_canary(state_dir: Path, outputs: list[str], caplog: pytest.LogCaptureFixture) -> None:
    """The passphrase is nowhere: not in a file of the test's directory (the state directory's keys, tickets,
    audit log and lockout, the audit checkpoints beside it), not on the terminal, not in a log record."""
    needle = CANARY.encode()
    for path in state_dir.parent.rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), path
    assert all(CANARY not in out for out in outputs)
    assert CANARY not in caplog.text


def test_who_may_enrol_and_see_status(enrolled: Spbe) -> None:
    someone_else = enrolled("sign", "enroll", "dewi", "--as", "sari", "--passphrase-stdin", input="x" * 12 + "\n")
    assert someone_else.exit_code == 4
    assert enrolled("sign", "enroll", "andi", "--as", "andi", "--passphrase-stdin",
                    input="andi-rahasia-1\n").exit_code == 4  # applicants: the Tanda Tangan Elektronik service
    assert enrolled("sign", "enroll", "rudi", "--as", "rudi", "--passphrase-stdin", input="pendek\n").exit_code == 2
    assert enrolled.json("sign", "status", "dewi", "--as", "dewi")["state"] == "active"
    assert enrolled.json("sign", "status", "rudi", "--as", "sari")["state"] == "not_enrolled"
    assert enrolled("sign", "status", "dewi", "--as", "andi").exit_code == 4
    assert enrolled("sign", "init", "--organisation", "Lagi", "--as", "sari").exit_code == 5  # once
    assert enrolled("sign", "init", "--organisation", "Diskominfo", "--as", "andi").exit_code == 4


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a;rm -rf", "$(id)", "ba\nx", "{{ 7*7 }}", "x" * 5000,
                                 "BERITA"])
def test_hostile_document_names_are_refused(enrolled: Spbe, ticket_id: str, bad: str) -> None:
    result = enrolled("document", "sign", ticket_id, bad, "--as", "dewi", "--passphrase-stdin",
                      input="dewi-rahasia-1\n")
    assert result.exit_code == 2, result.output
    assert "49" not in result.output and "uid=" not in result.output


@pytest.mark.parametrize("bad", ["Dinas\nPalsu", "$(id)", "{{ 7*7 }}", "x" * 500, ""])
def test_hostile_organisation_and_user_are_refused(enrolled: Spbe, bad: str) -> None:
    assert enrolled("sign", "status", bad or "-", "--as", "sari").exit_code == 2
    fresh = enrolled("sign", "init", "--organisation", bad, "--as", "sari")
    assert fresh.exit_code == 2  # refused as input, before anything else is looked at


def test_only_a_provider_of_the_requested_api_signs_the_splp_agreement(enrolled: Spbe, state_dir: Path) -> None:
    """SOP 004 step 8: the API user, *the* API provider and the team sign, in that order."""
    document = "berita_acara_perjanjian_api"
    app = App(load_settings(state_dir=state_dir, deployment="lab"))
    for user in ("andi", "prov-dukcapil", "prov-dpmptsp"):
        app.signing.enroll(identity_of(app, user), SecretStr(f"{user}-rahasia-1"))
    surat = AttachmentUpload(name="surat.pdf", media_type="application/pdf", content=render_pdf("Surat"),
                             kind="surat_permohonan")
    ticket = desk.open_ticket(app, "splp", as_lab("andi"), "API kependudukan", {
        "instansi": "Dinas Kesehatan", "api_id": "kependudukan", "aplikasi_konsumen": "simpus",
        "kebutuhan_data": "NIK pasien", "rate_limit_per_menit": 60, "kontak_email": "it@dinkes.example.go.id"}, [surat])
    app.tickets.attach(ticket.id, AttachmentUpload(name=f"{document}_{ticket.id}.pdf", media_type="application/pdf",
                                                   content=render_pdf("Perjanjian"), kind=document), "spbe")
    app.close()

    def sign(user: str) -> int:
        return enrolled("document", "sign", ticket.id, document, "--as", user, "--passphrase-stdin",
                        input=f"{user}-rahasia-1\n").exit_code

    assert sign("andi") == 0
    assert sign("prov-dpmptsp") == 4  # a provider, but of another API: not a party of this agreement
    assert sign("prov-dukcapil") == 0, enrolled("document", "sign", ticket.id, document, "--as", "prov-dukcapil",
                                                 "--passphrase-stdin", input="prov-dukcapil-rahasia-1\n").output
    assert sign("dewi") == 0
