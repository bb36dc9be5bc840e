"""The signing port: put a person's electronic signature on a PDF, ask whether they can sign, verify.

Two adapters implement it (`integrations/signing/`): ``pades`` signs with keys of a local CA that spbe
keeps (the embedded default), ``bsre`` asks the BSrE (BSSN) TTE service to sign with the person's
certificate there. Both return the whole signed PDF: every signature after the first is an
incremental update, so earlier signatures stay valid and the SOP's order is visible in the file.

The passphrase is a `SecretStr` from the CLI prompt (or stdin) to the adapter and nowhere else: no
model here stores it, no error message carries it. A wrong passphrase is a `WrongPassphraseError`
so the command layer can count it (lockout lives there, the same for both adapters).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from toolkit.errors import AuthenticationError, ConflictError, NotFoundError, PermissionDeniedError

Nik = Annotated[str, Field(pattern=r"^[0-9]{16}$")]
Nip = Annotated[str, Field(pattern=r"^[0-9]{18}$")]
_LABEL = r"^[^\x00-\x1f\x7f]{1,120}$"  # shown in the signature box: one line, printable


class WrongPassphraseError(AuthenticationError):
    """The passphrase did not open the signer's key (or BSrE said so); nothing was signed."""


class SignerNotEnrolledError(NotFoundError):
    """No certificate for this signer (never enrolled locally, or NIK not registered at BSrE)."""


class CertificateExpiredError(ConflictError):
    """The signer's certificate has expired or was revoked: enrol again before signing."""


class SignerLockedError(PermissionDeniedError):
    """Too many wrong passphrases in a row: signing is refused until the lock ends."""


class SignerIdentity(BaseModel):
    """Who signs, as printed in the signature box and put in the certificate's subject."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    username: str = Field(pattern=r"^[a-z][a-z0-9._-]{0,63}$")
    name: str = Field(pattern=_LABEL)
    role: str = Field(pattern=_LABEL, description="the role label printed under the name (Bahasa Indonesia)")
    nip: Nip | None = None
    nik: Nik | None = None
    organisation: str | None = Field(default=None, pattern=_LABEL)


class SignatureBox(BaseModel):
    """Where the visible signature goes: page (1-based) and a box in PDF points from the bottom left."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    field_name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    page: int = Field(default=1, ge=1, le=10000)
    x: float = Field(default=50, ge=0, le=5000)
    y: float = Field(default=50, ge=0, le=5000)
    width: float = Field(default=220, gt=10, le=2000)
    height: float = Field(default=70, gt=10, le=2000)
    visible: bool = True
    reason: str = Field(default="Menyetujui isi dokumen", pattern=_LABEL)


class SignedPdf(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    content: bytes = Field(repr=False)
    document_id: str | None = Field(default=None, description="the service's id of the signed document (BSrE)")
    signed_at: datetime
    timestamped: bool = False


class SignerStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    username: str
    state: Literal["active", "not_enrolled", "expired", "revoked", "pending_activation"]
    subject: str | None = None
    serial: str | None = None
    not_after: datetime | None = None
    detail: str = ""

    @property
    def can_sign(self) -> bool:
        return self.state == "active"


class SignatureCheck(BaseModel):
    """One signature of a document, as validation found it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    field_name: str
    signer: str
    serial: str | None = None
    signed_at: datetime | None = None
    timestamped: bool = False
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool
    modified_after: bool = Field(description="the file changed after this signature in a way its policy forbids")
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and not self.modified_after and not self.problem


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    signatures: tuple[SignatureCheck, ...]
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and all(s.ok for s in self.signatures) and not self.problems


@runtime_checkable
class DocumentSigner(Protocol):
    """One signing service. ``sign`` returns the whole signed file or raises; it never leaves a
    partly signed file anywhere (the caller stores what it returns, nothing else)."""

    name: str

    def sign(self, pdf: bytes, signer: SignerIdentity, passphrase: SecretStr, box: SignatureBox) -> SignedPdf:
        """Raises WrongPassphraseError, SignerNotEnrolledError, CertificateExpiredError, UnavailableError."""
        ...

    def status(self, signer: SignerIdentity) -> SignerStatus: ...

    def enroll(self, signer: SignerIdentity, passphrase: SecretStr) -> SignerStatus:
        """Issue the signer a certificate whose key only ``passphrase`` opens (where the service allows)."""
        ...

    def verify(self, pdf: bytes) -> Verification:
        """Every signature, against the trust roots this adapter knows, and the file's integrity."""
        ...
