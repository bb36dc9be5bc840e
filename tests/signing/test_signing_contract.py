"""The same contract for every signing adapter: pades (local CA) and bsre (against the BSrE fake)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.signing.conftest import ANDI, CANARY, DEWI, render_pdf
from toolkit.bootstrap import App
from toolkit.errors import ConfigurationError
from toolkit.ports.signing import (
    CertificateExpiredError,
    DocumentSigner,
    SignerIdentity,
    SignerNotEnrolledError,
    WrongPassphraseError,
)
from toolkit.settings import load_settings
from toolkit.signing.pdf import box_for


def _two_signatures(port: DocumentSigner, pdf: bytes) -> bytes:
    first = port.sign(pdf, DEWI, SecretStr("dewi-rahasia-1"), box_for("dewi", 0, 1))
    return port.sign(first.content, ANDI, SecretStr(CANARY), box_for("andi", 1, 1)).content


def test_two_signers_in_order_both_valid(signer_port: DocumentSigner, pdf: bytes) -> None:
    signed = _two_signatures(signer_port, pdf)
    assert signed.startswith(pdf[:8]) and len(signed) > len(pdf)
    result = signer_port.verify(signed)
    assert result.ok, result
    assert [s.signer for s in result.signatures] == ["Dewi Lestari", "Andi Pratama"]
    assert result.signatures[-1].covers_whole_file and not result.signatures[0].covers_whole_file
    assert all(s.intact and s.valid and s.trusted for s in result.signatures)


def test_wrong_passphrase_is_refused(signer_port: DocumentSigner, pdf: bytes) -> None:
    with pytest.raises(WrongPassphraseError) as caught:
        signer_port.sign(pdf, ANDI, SecretStr("bukan-passphrase"), box_for("andi", 0, 1))
    assert "bukan-passphrase" not in str(caught.value) and CANARY not in repr(caught.value.details)


def test_unknown_signer_is_not_enrolled(signer_port: DocumentSigner, pdf: bytes) -> None:
    stranger = SignerIdentity(username="budi", name="Budi", role="Pemohon", nik="7501010101019999")
    with pytest.raises(SignerNotEnrolledError):
        signer_port.sign(pdf, stranger, SecretStr("apa-saja-123"), box_for("budi", 0, 1))
    assert signer_port.status(stranger).state == "not_enrolled"
    assert signer_port.status(ANDI).state == "active"


def test_a_changed_document_does_not_verify(signer_port: DocumentSigner, pdf: bytes) -> None:
    signed = _two_signatures(signer_port, pdf)
    at = signed.find(b"/Producer")
    tampered = signed[:at + 12] + bytes([signed[at + 12] ^ 1]) + signed[at + 13:]
    assert not signer_port.verify(tampered).ok
    assert not signer_port.verify(signed + b"\n%% appended\n").ok
    assert not signer_port.verify(render_pdf()).ok  # no signature at all


def test_an_expired_certificate_is_refused(signer_port: DocumentSigner, pdf: bytes, request: pytest.FixtureRequest,
                                           ) -> None:
    if signer_port.name == "pades":
        from datetime import UTC, datetime, timedelta

        later = datetime.now(UTC) + timedelta(days=800)
        signer_port._now = lambda: later  # type: ignore[attr-defined]
        signer_port.ca._now = lambda: later  # type: ignore[attr-defined]
    else:
        fake, _ = request.getfixturevalue("bsre_fake")
        fake.expire_now(ANDI.nik)
    with pytest.raises(CertificateExpiredError):
        signer_port.sign(pdf, ANDI, SecretStr(CANARY), box_for("andi", 0, 1))
    assert signer_port.status(ANDI).state == "expired"


@pytest.mark.parametrize("zone", ["Asia/Gorontalo", "../../etc/passwd", "WITA; rm -rf /", ""])
def test_an_unknown_time_zone_is_refused_at_load(state_dir: Path, zone: str) -> None:
    with pytest.raises(ConfigurationError, match="timezone"):
        load_settings(state_dir=state_dir, signing={"kind": "pades", "options": {"timezone": zone}})


def test_the_signature_box_says_who_as_what_and_when_in_local_time(state_dir: Path, pdf: bytes) -> None:
    app = App(load_settings(state_dir=state_dir, signing={"kind": "pades", "options": {"timezone": "Asia/Makassar"}}))
    app.signing.ca.init("Diskominfo Uji")  # type: ignore[attr-defined]
    app.signing.enroll(DEWI, SecretStr("dewi-rahasia-1"))
    signed = app.signing.sign(pdf, DEWI, SecretStr("dewi-rahasia-1"), box_for("dewi", 0, 1)).content
    app.close()
    path = state_dir / "ttd.pdf"
    path.write_bytes(signed)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Dewi Lestari" in text and "Tim Kerja Pengembangan Aplikasi" in text and "WITA" in text
    assert "NIP 198001012005011001" in text


def test_signing_works_inside_a_running_event_loop(signer_port: DocumentSigner, pdf: bytes) -> None:
    """An async caller (the portal's handlers) signs and verifies too: pyHanko's own sync API would fail there."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def handler() -> bool:
        asyncio.get_running_loop()  # the signer is called while this loop runs
        return signer_port.verify(_two_signatures(signer_port, pdf)).ok

    # On a thread of its own: a test before this one on the same worker may have left a loop running here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, handler()).result()
