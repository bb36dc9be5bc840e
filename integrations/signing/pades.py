"""``pades``: PAdES signatures with pyHanko and keys of spbe's own local CA (the embedded default).

Each signer's key is in ``state_dir/signing/signers/<user>.p12``, encrypted with their passphrase
(`toolkit.signing.ca`); ``sign`` decrypts it in memory for one signature. A timestamp token comes from
the RFC 3161 authority at ``tsa_url`` when one is configured (pyHanko's `HTTPTimeStamper`). Verification
trusts this installation's CA (and ``extra_trust_roots``, e.g. a TSA's root or BSrE's).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pydantic import Field, SecretStr, field_validator
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

from toolkit.adapter_options import AdapterOptions
from toolkit.at_rest import Sealer
from toolkit.ports.signing import SignatureBox, SignedPdf, SignerIdentity, SignerStatus, Verification
from toolkit.secret_types import ServiceUrl
from toolkit.settings import Settings
from toolkit.signing.ca import LocalCa
from toolkit.signing.pdf import sign_pdf, verify_pdf
from toolkit.signing.trust import load_roots, local_time_label
from toolkit.worktime.calendars import calendars_for


class PadesOptions(AdapterOptions):
    """``signing.options`` of pades."""

    tsa_url: ServiceUrl | None = Field(default=None, description="RFC 3161 timestamp authority; None: no timestamp")
    valid_days: int = Field(default=730, ge=1, le=3650, description="validity of a signer's certificate")
    timezone: str | None = Field(default=None, description="time zone of the time printed in the signature box; "
                                                           "None: the deployment's (settings.worktime)")
    extra_trust_roots: tuple[str, ...] = Field(default=(), description="PEM files also trusted when verifying")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Makassar)") from None
        return value


class PadesSigner:
    Options = PadesOptions
    name = "pades"

    def __init__(self, settings: Settings, *, tsa_url: object = None, valid_days: int = 730,
                 timezone: str | None = None, extra_trust_roots: tuple[str, ...] = (),
                 timestamper: TimeStamper | None = None, now: Callable[[], datetime] | None = None) -> None:
        self.ca = LocalCa(Path(settings.state_dir) / "signing", sealer=lambda: Sealer.from_settings(settings), now=now)
        url = tsa_url.get_secret_value() if isinstance(tsa_url, SecretStr) else tsa_url
        self._timestamper = timestamper or (HTTPTimeStamper(str(url)) if url else None)
        self._valid_days = valid_days
        local = calendars_for(settings.worktime).zone(timezone)  # WITA for Gorontalo, WIB for Surakarta
        self._zone, self._label = local.zone, local.label
        self._extra_roots = tuple(Path(p) for p in extra_trust_roots)
        self._now = now or (lambda: datetime.now(UTC))

    def sign(self, pdf: bytes, signer: SignerIdentity, passphrase: SecretStr, box: SignatureBox) -> SignedPdf:
        cert, key, ca = self.ca.unlock(signer.username, passphrase)
        now = self._now()
        content = sign_pdf(pdf, signer, box, certificate=cert, key=key, chain=[ca],
                           when_label=local_time_label(now, self._zone, self._label), timestamper=self._timestamper)
        return SignedPdf(content=content, signed_at=now, timestamped=self._timestamper is not None)

    def status(self, signer: SignerIdentity) -> SignerStatus:
        return self.ca.status(signer.username)

    def enroll(self, signer: SignerIdentity, passphrase: SecretStr) -> SignerStatus:
        self.ca.issue(signer, passphrase, self._valid_days)
        return self.ca.status(signer.username)

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        roots = [asn1_x509.Certificate.load(self.ca.ca_certificate().public_bytes(serialization.Encoding.DER))]
        return roots + load_roots(self._extra_roots)

    def verify(self, pdf: bytes) -> Verification:
        return verify_pdf(pdf, self.trust_roots())
