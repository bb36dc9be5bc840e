"""The local certification authority of the ``pades`` adapter and each signer's encrypted key.

Layout under ``state_dir/signing`` (every directory 0700, every file 0600, `toolkit.private_files`):
``ca.key`` and ``ca.crt`` (the CA, made once by ``spbe sign init``), ``signers/<user>.p12`` (the
signer's key and certificate) and ``signers/<user>.crt`` (the certificate alone, for status).

**The signer's key** is a PKCS#12 bundle encrypted with the signer's passphrase (PBES2, AES-256-CBC,
PBKDF2-HMAC-SHA256 with `KDF_ROUNDS` rounds): spbe stores no passphrase and no clear key, so whoever
reads the state directory still cannot sign as someone else. The key is decrypted in memory for one
signature and dropped.

**The CA key** has no passphrase (spbe issues certificates unattended for the *Tanda Tangan Elektronik*
service), so it is encrypted at rest with ``settings.vault.key`` instead (`toolkit.at_rest`, context
`CA_KEY`): a copy of the state directory without the key cannot issue certificates. A key changed since
is a `ConfigurationError` naming the setting. A CA made by an older version (a clear PEM ``ca.key``) is
read once and sealed in place (`LocalCa._ca_key`).

Keys are EC P-256: a signature costs well under a millisecond (RSA-2048 key generation alone took
tens of milliseconds), and PAdES readers accept ECDSA. Writes go to a temporary file renamed into
place, so a crash never leaves half a key.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import SecretStr

from toolkit.at_rest import CA_KEY, Sealer, is_sealed, is_sealed_file
from toolkit.errors import ConfigurationError, ConflictError, InvalidInputError
from toolkit.ports.signing import (
    CertificateExpiredError,
    SignerIdentity,
    SignerNotEnrolledError,
    SignerStatus,
    WrongPassphraseError,
)
from toolkit.private_files import private_dir, write_private

KDF_ROUNDS = 200_000
MIN_PASSPHRASE = 8
MAX_PASSPHRASE = 256


def check_passphrase(passphrase: SecretStr) -> bytes:
    """The passphrase as bytes, refused when too short or too long (the message never repeats it)."""
    value = passphrase.get_secret_value()
    if not MIN_PASSPHRASE <= len(value) <= MAX_PASSPHRASE:
        raise InvalidInputError(f"a signing passphrase has {MIN_PASSPHRASE} to {MAX_PASSPHRASE} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInputError("a signing passphrase has no control characters")
    return value.encode("utf-8")


def _atomic_write(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_private(temporary, data)
    os.replace(temporary, path)


def _name(common: str, org: str | None, serial: str | None = None) -> x509.Name:
    """X.520 caps CN and O at 64 characters (an agency's full name is often longer): cut, not refused."""
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common[:64])]
    if org:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org[:64]))
    if serial:
        parts.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    parts.append(x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"))
    return x509.Name(parts)


class LocalCa:
    """``sealer``: the at-rest sealer of the CA key, or a function that makes it (called when the key is
    first needed, so reading a certificate's status needs no vault key)."""

    def __init__(self, root: Path, *, sealer: Sealer | Callable[[], Sealer],
                 now: Callable[[], datetime] | None = None) -> None:
        self.root = Path(root)
        self._sealer: Sealer | None = sealer if isinstance(sealer, Sealer) else None
        self._make_sealer: Callable[[], Sealer] | None = None if isinstance(sealer, Sealer) else sealer
        self._now = now or (lambda: datetime.now(UTC))

    @property
    def _key_path(self) -> Path:
        return self.root / "ca.key"

    def _at_rest(self) -> Sealer:
        if self._sealer is None:
            assert self._make_sealer is not None
            self._sealer = self._make_sealer()
        return self._sealer

    @property
    def ca_cert_path(self) -> Path:
        return self.root / "ca.crt"

    def _signer_path(self, username: str, suffix: str) -> Path:
        return self.root / "signers" / f"{username}{suffix}"

    # -- the CA ---------------------------------------------------------------------------------
    def initialised(self) -> bool:
        return self.ca_cert_path.is_file() and self._key_path.is_file()

    def init(self, organisation: str, valid_days: int = 3650) -> x509.Certificate:
        """Create the CA once; a second call is a ConflictError (re-keying would orphan every signer)."""
        if self.initialised():
            raise ConflictError(f"a signing CA already exists in {self.root}", path=str(self.root))
        sealer = self._at_rest()  # no key, no CA: refused before anything is written
        private_dir(self.root / "signers")
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(f"CA TTE {organisation}", organisation)
        now = self._now()
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
                .not_valid_after(now + timedelta(days=valid_days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        sealer.write_file(self._key_path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), CA_KEY)
        _atomic_write(self.ca_cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return cert

    def ca_certificate(self) -> x509.Certificate:
        if not self.initialised():
            raise ConfigurationError(f"no signing CA in {self.root}: run 'spbe sign init' first")
        return x509.load_pem_x509_certificate(self.ca_cert_path.read_bytes())

    def _ca_key(self) -> ec.EllipticCurvePrivateKey:
        """The CA key, opened with the vault key; a clear key file (an older version's) is sealed in place
        the first time it is read, durably (it is the only copy) and atomically (never half-written)."""
        sealer = self._at_rest()
        stored = self._key_path.read_bytes()
        pem = sealer.open(stored, CA_KEY, what="the signing CA key") if is_sealed(stored) else stored
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except ValueError:
            raise ConfigurationError(f"the signing CA key in {self.root} is damaged", path=str(self.root)) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ConfigurationError(f"the signing CA key in {self.root} is not an EC key", path=str(self.root))
        if not is_sealed(stored):
            sealer.write_file(self._key_path, pem, CA_KEY)
        return key

    # -- signers --------------------------------------------------------------------------------
    def issue(self, signer: SignerIdentity, passphrase: SecretStr, valid_days: int = 730) -> x509.Certificate:
        """A new key and certificate for ``signer``, the key encrypted with ``passphrase``. Issuing again
        replaces the previous certificate (a forgotten passphrase is recovered this way, never read back)."""
        secret = check_passphrase(passphrase)
        ca_cert, ca_key = self.ca_certificate(), self._ca_key()
        key = ec.generate_private_key(ec.SECP256R1())
        now = self._now()
        serial = signer.nip or signer.nik
        cert = (x509.CertificateBuilder().subject_name(_name(signer.name, signer.organisation, serial))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
                .not_valid_after(now + timedelta(days=valid_days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        encryption = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(KDF_ROUNDS)
                      .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256())
                      .build(secret))
        bundle = pkcs12.serialize_key_and_certificates(signer.username.encode(), key, cert, [ca_cert], encryption)
        private_dir(self.root / "signers", root=self.root)
        _atomic_write(self._signer_path(signer.username, ".p12"), bundle)
        _atomic_write(self._signer_path(signer.username, ".crt"), cert.public_bytes(serialization.Encoding.PEM))
        return cert

    def certificate(self, username: str) -> x509.Certificate | None:
        path = self._signer_path(username, ".crt")
        return x509.load_pem_x509_certificate(path.read_bytes()) if path.is_file() else None

    def status(self, username: str) -> SignerStatus:
        cert = self.certificate(username)
        if cert is None:
            return SignerStatus(username=username, state="not_enrolled", detail="no certificate issued")
        expired = cert.not_valid_after_utc <= self._now()
        return SignerStatus(username=username, state="expired" if expired else "active",
                            subject=cert.subject.rfc4514_string(), serial=format(cert.serial_number, "x"),
                            not_after=cert.not_valid_after_utc)

    def unlock(self, username: str, passphrase: SecretStr) -> tuple[asn1_x509.Certificate, asn1_keys.PrivateKeyInfo,
                                                                     asn1_x509.Certificate]:
        """The signer's certificate, key and CA certificate for one signature; WrongPassphraseError when the
        passphrase does not decrypt the key (the error says only that)."""
        path = self._signer_path(username, ".p12")
        if not path.is_file():
            raise SignerNotEnrolledError(f"{username} has no signing certificate: enrol first", user=username)
        status = self.status(username)
        if status.state == "expired":
            raise CertificateExpiredError(f"the signing certificate of {username} expired on {status.not_after}",
                                          user=username)
        if not is_sealed_file(self._key_path):  # an older version's clear CA key: sealed at the first signature
            self._ca_key()
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase.get_secret_value().encode())
        except ValueError:
            raise WrongPassphraseError("wrong signing passphrase", user=username, reason="pkcs12 decryption failed") \
                from None
        if key is None or cert is None:
            raise ConfigurationError(f"the key file of {username} is damaged", user=username)
        der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        ca = self.ca_certificate()
        return (asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
                asn1_keys.PrivateKeyInfo.load(der_key),
                asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER)))
