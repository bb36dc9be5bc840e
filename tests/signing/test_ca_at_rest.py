"""The signing CA's key lies encrypted with ``settings.vault.key`` (`toolkit.at_rest`, context ``CA_KEY``):
the raw file holds no private key, signing works as before, another key is refused naming the setting, and
a CA made by an older version (a clear PEM key) is sealed in place the first time it is used."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from tests.signing.conftest import DEWI
from toolkit.at_rest import CA_KEY, Sealer, is_sealed
from toolkit.bootstrap import App
from toolkit.errors import ConfigurationError, IntegrityError
from toolkit.settings import load_settings
from toolkit.signing.pdf import box_for
from toolkit.vault import generate_key

PASS = SecretStr("dewi-rahasia-1")
PEM_MARKER = b"PRIVATE KEY"
SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _key_file(state_dir: Path) -> Path:
    return state_dir / "signing" / "ca.key"


def _sign_and_verify(app: App, pdf: bytes) -> None:
    app.signing.enroll(DEWI, PASS)
    signed = app.signing.sign(pdf, DEWI, PASS, box_for("dewi", 0, 1)).content
    assert app.signing.verify(signed).ok


def test_the_ca_key_is_sealed_and_signing_works(pades_app: App, state_dir: Path, pdf: bytes) -> None:
    raw = _key_file(state_dir).read_bytes()
    assert is_sealed(raw) and PEM_MARKER not in raw and b"-----BEGIN" not in raw
    _sign_and_verify(pades_app, pdf)
    opened = Sealer.from_settings(pades_app.settings).open(raw, CA_KEY)
    assert opened.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert _key_file(state_dir).read_bytes() == raw  # used, not rewritten


def test_another_vault_key_is_a_configuration_error_naming_the_setting(
        pades_app: App, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _key_file(state_dir).read_bytes()
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    other = App(load_settings(state_dir=state_dir, deployment="lab"))
    try:
        with pytest.raises(ConfigurationError, match=r"settings\.vault\.key") as caught:
            other.signing.enroll(DEWI, PASS)
        assert caught.value.details["setting"] == "settings.vault.key"
        assert "BEGIN" not in str(caught.value)
    finally:
        other.close()
    assert _key_file(state_dir).read_bytes() == raw
    assert not (state_dir / "signing" / "signers" / "dewi.p12").exists()  # nothing issued


def test_no_vault_key_no_ca(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPBE_VAULT_KEY")
    app = App(load_settings(state_dir=state_dir))
    try:
        assert app.signing.status(DEWI).state == "not_enrolled"  # reading a status needs no key
        with pytest.raises(ConfigurationError, match=r"settings\.vault\.key"):
            app.signing.ca.init("Diskominfo Uji")  # type: ignore[attr-defined]
    finally:
        app.close()
    assert not _key_file(state_dir).exists() and not (state_dir / "signing" / "ca.crt").exists()


def test_a_clear_key_of_an_older_version_is_sealed_in_place_once(pades_app: App, state_dir: Path,
                                                                 pdf: bytes) -> None:
    sealer = Sealer.from_settings(pades_app.settings)
    path = _key_file(state_dir)
    clear = sealer.open(path.read_bytes(), CA_KEY)
    path.write_bytes(clear)  # as `spbe sign init` wrote it before: PEM, owner-only
    path.chmod(0o600)
    ca_cert = (state_dir / "signing" / "ca.crt").read_bytes()

    app = App(load_settings(state_dir=state_dir, deployment="lab"))
    try:
        _sign_and_verify(app, pdf)  # the same CA: its certificate is unchanged and the chain verifies
    finally:
        app.close()
    sealed = path.read_bytes()
    assert is_sealed(sealed) and PEM_MARKER not in sealed and path.stat().st_mode & 0o077 == 0
    assert sealer.open(sealed, CA_KEY) == clear and (state_dir / "signing" / "ca.crt").read_bytes() == ca_cert
    key = serialization.load_pem_private_key(clear, password=None)
    ca_public = x509.load_pem_x509_certificate(ca_cert).public_key()
    assert key.public_key().public_bytes(*SPKI) == ca_public.public_bytes(*SPKI)

    again = App(load_settings(state_dir=state_dir, deployment="lab"))
    try:
        _sign_and_verify(again, pdf)
    finally:
        again.close()
    assert path.read_bytes() == sealed  # sealed once: not rewritten on later use


def test_a_damaged_ca_key_is_reported_not_used(pades_app: App, state_dir: Path) -> None:
    path = _key_file(state_dir)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    app = App(load_settings(state_dir=state_dir, deployment="lab"))
    try:
        with pytest.raises(IntegrityError, match="altered") as caught:
            app.signing.enroll(DEWI, PASS)
        assert "BEGIN" not in str(caught.value)
    finally:
        app.close()



def test_verifying_needs_no_vault_key_and_leaves_a_clear_key_as_it_is(
        pades_app: App, state_dir: Path, pdf: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checking a signature reads only the CA's certificate: an auditor's shell without the key can."""
    pades_app.signing.enroll(DEWI, PASS)
    signed = pades_app.signing.sign(pdf, DEWI, PASS, box_for("dewi", 0, 1)).content
    path = _key_file(state_dir)
    path.write_bytes(Sealer.from_settings(pades_app.settings).open(path.read_bytes(), CA_KEY))  # an older CA
    monkeypatch.delenv("SPBE_VAULT_KEY")
    app = App(load_settings(state_dir=state_dir, deployment="lab"))
    try:
        assert app.signing.verify(signed).ok
    finally:
        app.close()
    assert PEM_MARKER in path.read_bytes()  # sealed at the next signature or enrolment, which have the key


def test_a_clear_key_is_sealed_at_the_first_signature_too(pades_app: App, state_dir: Path, pdf: bytes) -> None:
    pades_app.signing.enroll(DEWI, PASS)  # enrolled under the older version
    path = _key_file(state_dir)
    clear = Sealer.from_settings(pades_app.settings).open(path.read_bytes(), CA_KEY)
    path.write_bytes(clear)
    app = App(load_settings(state_dir=state_dir, deployment="lab"))
    try:
        signed = app.signing.sign(pdf, DEWI, PASS, box_for("dewi", 0, 1)).content
        assert app.signing.verify(signed).ok
    finally:
        app.close()
    sealed = path.read_bytes()
    assert is_sealed(sealed) and PEM_MARKER not in sealed
    assert Sealer.from_settings(pades_app.settings).open(sealed, CA_KEY) == clear
