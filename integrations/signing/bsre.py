"""``bsre``: the electronic-signature service (TTE) of BSrE, BSSN, as Indonesian agencies call it.

API (v1, as agency integrations use it): ``POST /api/sign/pdf`` (multipart: ``file``, ``nik``,
``passphrase``, ``tampilan`` visible|invisible, and for visible ``page``, ``xAxis``, ``yAxis``,
``width``, ``height``, optional ``imageTTD`` or ``linkQR``; HTTP Basic auth) answers the signed PDF with
the document's id in the ``id_dokumen`` header, or a JSON error ``{"error": ..., "status_code": N}``
(2031: wrong passphrase; 2011: user/NIK not registered); ``GET /api/user/status/{nik}`` answers
``{"status_code": ..., "status": "ISSUE" | "EXPIRED" | "REVOKE" | "NOT_REGISTERED", "message": ...}``;
``GET /api/sign/download/{id}`` returns a signed document again.

Certificates are issued by BSrE's registration authority (in person, with the KTP), so ``enroll``
here only reports the status. A signer's NIK comes from ``niks`` (username to NIK). Verification is
local, with pyHanko, against ``trust_roots`` (BSrE's root and intermediate certificates, PEM).
Tested against `lab.bsre_fake`, which follows this API and signs for real.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from pydantic import Field, SecretStr

from toolkit.adapter_options import AdapterOptions
from toolkit.errors import ConfigurationError, InvalidInputError, UnavailableError
from toolkit.ports.signing import (
    CertificateExpiredError,
    SignatureBox,
    SignedPdf,
    SignerIdentity,
    SignerNotEnrolledError,
    SignerStatus,
    Verification,
    WrongPassphraseError,
)
from toolkit.secret_types import SecretName, ServiceUrl
from toolkit.settings import Settings
from toolkit.signing.pdf import verify_pdf
from toolkit.signing.trust import load_roots

WRONG_PASSPHRASE, NOT_REGISTERED, EXPIRED = 2031, 2011, 2021
_STATES = {"ISSUE": "active", "EXPIRED": "expired", "REVOKE": "revoked", "NOT_REGISTERED": "not_enrolled"}


class BsreOptions(AdapterOptions):
    """``signing.options`` of bsre."""

    base_url: ServiceUrl = Field(description="the TTE API, e.g. https://esign.example.go.id")
    username_secret: SecretName = Field(default="bsre_username", description="settings.secrets: Basic auth user")
    password_secret: SecretName = Field(default="bsre_password", description="settings.secrets: Basic auth password")
    niks: dict[str, str] = Field(default_factory=dict, description="username -> NIK (16 digits) of each signer")
    trust_roots: tuple[str, ...] = Field(default=(), description="PEM files of BSrE's CA chain, for verify")
    timeout_s: float = Field(default=30.0, gt=0, le=600)


class BsreSigner:
    Options = BsreOptions
    name = "bsre"

    def __init__(self, settings: Settings, *, base_url: object,
                 username_secret: str = "bsre_username",  # noqa: S107 - the name of a settings.secrets entry
                 password_secret: str = "bsre_password",  # noqa: S107 - the name of a settings.secrets entry
                 niks: dict[str, str] | None = None,
                 trust_roots: tuple[str, ...] = (), timeout_s: float = 30.0) -> None:
        self._url = (base_url.get_secret_value() if isinstance(base_url, SecretStr) else str(base_url)).rstrip("/")
        self._auth = (settings.secret(username_secret), settings.secret(password_secret))
        self._niks = dict(niks or {})
        self._roots = tuple(Path(p) for p in trust_roots)
        self._timeout = timeout_s
        self._session = requests.Session()

    def _nik(self, signer: SignerIdentity) -> str:
        nik = signer.nik or self._niks.get(signer.username)
        if not nik or not (len(nik) == 16 and nik.isdigit()):
            raise SignerNotEnrolledError(f"no NIK known for {signer.username} (signing.options.niks)",
                                         user=signer.username)
        return nik

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        auth = (self._auth[0].get_secret_value(), self._auth[1].get_secret_value())
        try:
            return self._session.request(method, self._url + path, auth=auth, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise UnavailableError(f"BSrE TTE at {self._url} did not answer: {type(exc).__name__}") from None

    @staticmethod
    def _error(response: requests.Response, user: str) -> Exception:
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("status_code") if isinstance(body, dict) else None
        message = str(body.get("error") or body.get("message") or response.reason)[:200] if isinstance(body, dict) \
            else response.reason
        if code == WRONG_PASSPHRASE:
            return WrongPassphraseError("wrong signing passphrase", user=user, reason=f"bsre {code}")
        if code == NOT_REGISTERED:
            return SignerNotEnrolledError(f"{user} is not registered at BSrE: {message}", user=user)
        if code == EXPIRED:
            return CertificateExpiredError(f"the BSrE certificate of {user} is not valid: {message}", user=user)
        if response.status_code == 401:
            return ConfigurationError("BSrE refused spbe's credentials (signing.options secrets)")
        if response.status_code >= 500:
            return UnavailableError(f"BSrE TTE failed ({response.status_code}): {message}")
        return InvalidInputError(f"BSrE refused the document ({response.status_code}, {code}): {message}")

    def sign(self, pdf: bytes, signer: SignerIdentity, passphrase: SecretStr, box: SignatureBox) -> SignedPdf:
        data = {"nik": self._nik(signer), "passphrase": passphrase.get_secret_value(),
                "tampilan": "visible" if box.visible else "invisible"}
        if box.visible:
            data |= {"page": str(box.page), "xAxis": str(box.x), "yAxis": str(box.y), "width": str(box.width),
                     "height": str(box.height)}
        response = self._call("POST", "/api/sign/pdf", data=data,
                              files={"file": ("dokumen.pdf", pdf, "application/pdf")})
        if response.status_code != 200 or not response.content.startswith(b"%PDF"):
            raise self._error(response, signer.username)
        return SignedPdf(content=response.content, document_id=response.headers.get("id_dokumen"),
                         signed_at=datetime.now(UTC))

    def download(self, document_id: str) -> bytes:
        response = self._call("GET", f"/api/sign/download/{quote(document_id, safe='')}")
        if response.status_code != 200:
            raise self._error(response, "?")
        return response.content

    def status(self, signer: SignerIdentity) -> SignerStatus:
        try:
            nik = self._nik(signer)
        except SignerNotEnrolledError as exc:
            return SignerStatus(username=signer.username, state="not_enrolled", detail=str(exc))
        response = self._call("GET", f"/api/user/status/{nik}")
        try:
            body = response.json()
        except ValueError:
            raise UnavailableError(f"BSrE user status answered {response.status_code} without JSON") from None
        state = _STATES.get(str(body.get("status", "")).upper(), "not_enrolled")
        return SignerStatus(username=signer.username, state=state,  # type: ignore[arg-type]
                            detail=str(body.get("message", ""))[:200])

    def enroll(self, signer: SignerIdentity, passphrase: SecretStr) -> SignerStatus:
        status = self.status(signer)
        if status.state != "active":
            raise SignerNotEnrolledError(f"{signer.username} must register at BSrE's registration authority "
                                         f"(status: {status.state}); spbe cannot issue BSrE certificates",
                                         user=signer.username)
        return status

    def verify(self, pdf: bytes) -> Verification:
        return verify_pdf(pdf, load_roots(self._roots))
