"""PAdES signing and validation with pyHanko, for every adapter (and the BSrE fake).

**Signing** appends one incremental update per signature (pyHanko's `IncrementalPdfFileWriter`), so
the bytes an earlier signer signed are never rewritten: the second signature of a berita acara leaves
the first one valid and the file's revisions record the SOP's order. The signature field is visible
(name, role, local time) unless the box says otherwise; the CMS carries the signer's chain; a
timestamp token is added when a `TimeStamper` is given (settings: the adapter's ``tsa_url``). All of
it happens in memory: the caller gets the whole signed file or an exception, never half a file.

**Validation** checks each embedded signature: the digest over its byte range (intact), the CMS
signature (valid), the chain to the given trust roots (trusted), and pyHanko's difference analysis
of every later revision (a change beyond filling in and signing fields is a modification). Bytes
edited inside a signed range break that signature; anything added after the last signature that is
not an allowed revision is reported too. Nothing is fetched from the network.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import logging
from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from toolkit.errors import InvalidInputError, UnavailableError
from toolkit.ports.signing import SignatureBox, SignatureCheck, SignerIdentity, Verification

# pyHanko logs each failed difference analysis as an ERROR with a traceback; the finding is part of our
# result (`SignatureCheck.problem`), so the traceback on the terminal would only repeat it noisily.
logging.getLogger("pyhanko.sign.diff_analysis").setLevel(logging.CRITICAL)


T = TypeVar("T")
_RESERVED = 16384  # hex digits for the CMS without a timestamp: 8 KB of DER, ~2 KB used with our 2-certificate chain


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run one of pyHanko's coroutines to the end. Its synchronous API calls ``asyncio.run``, which fails
    in a thread whose event loop is running (an async web handler, or a test runner that left one set);
    then the coroutine runs on a fresh loop in a worker thread instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyhanko") as pool:
        return pool.submit(asyncio.run, work).result()


def field_name_for(username: str) -> str:
    """The signature field of a signer: a PDF field name may not contain '.' (it separates a hierarchy)."""
    return "ttd_" + username.replace(".", "_").replace("-", "_")


def _stamp_text(signer: SignerIdentity, when_label: str) -> str:
    lines = ["Ditandatangani secara elektronik oleh", signer.name, signer.role]
    if signer.nip:
        lines.append(f"NIP {signer.nip}")
    lines.append(when_label)
    return "\n".join(lines).replace("%", "%%")  # the stamp text is a %-template


def _registry(chain: Sequence[asn1_x509.Certificate]) -> SimpleCertificateStore:
    store = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    store.register_multiple(chain)
    return store


def sign_pdf(pdf: bytes, signer: SignerIdentity, box: SignatureBox, *, certificate: asn1_x509.Certificate,
             key: asn1_keys.PrivateKeyInfo, chain: Sequence[asn1_x509.Certificate], when_label: str,
             timestamper: TimeStamper | None = None) -> bytes:
    """``pdf`` with one more signature, as a new revision; InvalidInputError for a file that is not a
    PDF, a page it does not have, or a field already signed."""
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        pages = int(writer.root["/Pages"]["/Count"])
    except (PdfError, KeyError, ValueError, TypeError) as exc:
        raise InvalidInputError(f"not a readable PDF: {exc}") from None
    if box.page > pages:
        raise InvalidInputError(f"the document has {pages} page(s); no page {box.page} to sign on")
    existing = {name for name, _, _ in fields.enumerate_sig_fields(writer.prev, filled_status=True)}
    if box.field_name in existing:
        raise InvalidInputError(f"signature field {box.field_name} is already signed", field=box.field_name)
    rect = (int(box.x), int(box.y), int(box.x + box.width), int(box.y + box.height)) if box.visible else None
    spec = fields.SigFieldSpec(sig_field_name=box.field_name, on_page=box.page - 1, box=rect)
    meta = signers.PdfSignatureMetadata(field_name=box.field_name, reason=box.reason, name=signer.name,
                                        location=signer.organisation, md_algorithm="sha256")
    cms_signer = signers.SimpleSigner(signing_cert=certificate, signing_key=key,
                                      cert_registry=_registry(chain))
    style = TextStampStyle(stamp_text=_stamp_text(signer, when_label), border_width=1)
    out = io.BytesIO()
    try:
        # Without a TSA the CMS size is known (our chain, one ECDSA signature): reserving it skips pyHanko's
        # estimation, which otherwise builds and signs the whole CMS a second time (a third of the cost).
        pdf_signer = signers.PdfSigner(meta, cms_signer, timestamper=timestamper, stamp_style=style,
                                       new_field_spec=spec)
        _run(pdf_signer.async_sign_pdf(writer, output=out, bytes_reserved=None if timestamper else _RESERVED))
    except SigningError as exc:
        raise InvalidInputError(f"cannot sign: {exc}") from None
    except (OSError, TimestampRequestError) as exc:  # the TSA did not answer, or not with a timestamp
        raise UnavailableError(f"the timestamp authority did not answer: {exc}") from None
    return out.getvalue()


def _check(embedded: object, context: ValidationContext) -> SignatureCheck:
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

    assert isinstance(embedded, EmbeddedPdfSignature)
    cert = embedded.signer_cert
    signer = str(cert.subject.native.get("common_name", cert.subject.human_friendly)) if cert is not None else "?"
    try:
        status = _run(async_validate_pdf_signature(embedded, signer_validation_context=context,
                                                   ts_validation_context=context))
    except Exception as exc:  # noqa: BLE001 - any failure to validate means "not valid", with its reason
        return SignatureCheck(field_name=embedded.field_name, signer=signer, intact=False, valid=False, trusted=False,
                              covers_whole_file=False, modified_after=True, problem=f"cannot validate: {exc}")
    whole = status.coverage is SignatureCoverageLevel.ENTIRE_FILE
    modified = not whole and status.docmdp_ok is not True
    problem = ""
    if not status.intact:
        problem = "the signed bytes were changed"
    elif not status.valid:
        problem = "the signature does not match"
    elif not status.trusted:
        problem = "the certificate does not chain to a trusted CA"
    elif modified:
        problem = "the document was changed after this signature"
    signed_at = status.signer_reported_dt
    ts = status.timestamp_validity
    return SignatureCheck(
        field_name=embedded.field_name, signer=signer, serial=format(cert.serial_number, "x") if cert else None,
        signed_at=ts.timestamp if ts is not None else signed_at, timestamped=ts is not None and ts.valid,
        intact=status.intact, valid=status.valid, trusted=status.trusted,
        covers_whole_file=whole, modified_after=modified, problem=problem)


def verify_pdf(pdf: bytes, trust_roots: Sequence[asn1_x509.Certificate],
               moment: datetime | None = None) -> Verification:
    """Every signature of ``pdf`` against ``trust_roots``; a file with none, or with anything after its
    last signature that is not an allowed revision, has a problem."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_regular_signatures)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        return Verification(signatures=(), problems=(f"not a readable PDF: {exc}",))
    context = ValidationContext(trust_roots=list(trust_roots), allow_fetching=False, moment=moment,
                                revocation_mode="soft-fail")
    checks = tuple(_check(sig, context) for sig in embedded)
    problems: list[str] = []
    if not checks:
        problems.append("the document has no signature")
    elif not checks[-1].covers_whole_file:  # spbe adds nothing after a signature: any later byte is a change
        problems.append("the file was changed after its last signature")
    return Verification(signatures=checks, problems=tuple(problems))


def page_count(pdf: bytes) -> int:
    try:
        return int(PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Count"])
    except (PdfError, KeyError, ValueError, TypeError) as exc:
        raise InvalidInputError(f"not a readable PDF: {exc}") from None


def box_for(username: str, order: int, page: int) -> SignatureBox:
    """The n-th signer's box (0-based ``order``): two per row from the bottom of ``page``, in SOP order."""
    return SignatureBox(field_name=field_name_for(username), page=page, x=40 + (order % 2) * 270,
                        y=40 + (order // 2) * 90, width=250, height=80)
