"""What only the bsre adapter does: BSrE's own answers (credentials, registration, download by id)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from lab.bsre_fake import BsreFake
from tests.signing.conftest import ANDI, CANARY, render_pdf
from tests.support.http_listener import Listener
from toolkit.errors import ConfigurationError, UnavailableError
from toolkit.ports.signing import DocumentSigner, SignerIdentity, SignerNotEnrolledError
from toolkit.settings import load_settings
from toolkit.signing.pdf import box_for


def _port(state_dir: Path, url: str, fake: BsreFake, monkeypatch: pytest.MonkeyPatch,
          password: str = "rahasia-api") -> DocumentSigner:  # noqa: S107 - the fake's test credential
    from integrations.signing.bsre import BsreSigner

    monkeypatch.setenv("SPBE_TEST_BSRE_USER", "spbe")
    monkeypatch.setenv("SPBE_TEST_BSRE_PASSWORD", password)
    settings = load_settings(state_dir=state_dir, secrets={"bsre_username": {"ref": "env:SPBE_TEST_BSRE_USER"},
                                                           "bsre_password": {"ref": "env:SPBE_TEST_BSRE_PASSWORD"}})
    return BsreSigner(settings, base_url=url, trust_roots=(str(fake.ca_pem),), niks={"budi": "7501010101010003"},
                      timeout_s=5)


def test_download_by_id_and_nik_from_the_options(bsre_fake: tuple[BsreFake, Listener], state_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fake, listener = bsre_fake
    fake.add_user("7501010101010003", "Budi Santoso", CANARY)
    port = _port(state_dir, listener.url, fake, monkeypatch)
    budi = SignerIdentity(username="budi", name="Budi Santoso", role="Pemohon")  # NIK from options.niks
    signed = port.sign(render_pdf(), budi, SecretStr(CANARY), box_for("budi", 0, 1))
    assert signed.document_id and port.download(signed.document_id) == signed.content  # type: ignore[attr-defined]
    assert port.verify(signed.content).ok
    assert port.enroll(budi, SecretStr(CANARY)).state == "active"  # registered at BSrE: nothing to issue
    assert all(CANARY not in call for call in fake.calls)


def test_bsre_refusals(bsre_fake: tuple[BsreFake, Listener], state_dir: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake, listener = bsre_fake
    with pytest.raises(SignerNotEnrolledError, match="registration authority"):  # spbe cannot issue at BSrE
        _port(state_dir, listener.url, fake, monkeypatch).enroll(ANDI, SecretStr(CANARY))
    with pytest.raises(ConfigurationError, match="credentials"):
        _port(state_dir, listener.url, fake, monkeypatch, password="salah").sign(  # noqa: S106 - a wrong one
            render_pdf(), ANDI, SecretStr(CANARY), box_for("andi", 0, 1))
    listener.stop()
    with pytest.raises(UnavailableError):
        _port(state_dir, listener.url, fake, monkeypatch).status(ANDI)
