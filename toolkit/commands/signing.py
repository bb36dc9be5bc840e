"""Electronic signatures as a human step of the SOP: who may sign which document, in which turn.

The catalog says which roles sign a document and in what order (``Step.signers``; 001 step 9, 002's
signing step, 004 step 8). Signing here is always one person signing as themselves: the principal
must be a party of that document (a holder of one of its signer roles; for the applicant's role, the
ticket's own requester) and it must be their turn (the roles before theirs have signed). The
document is the newest PDF attachment of that kind; the signed file is attached as a new version
(earlier versions stay, the ticket store never overwrites), the timeline says who signed what and
when in Bahasa Indonesia, and when the last party has signed, the SOP's signing step is recorded
as done. Before a second signature, the file's existing signatures must verify and match the
timeline, so nobody signs a document changed since.

A wrong passphrase is counted (`toolkit.signing.lockout`) and audited; nothing is attached or posted.
The passphrase goes from the caller to the adapter only: never into an event, the audit log, an
error or a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import SecretStr

from toolkit.domain.catalog.models import Service, Step, StepKind
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.policy import SIGNATURE
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.models import AttachmentUpload, EventKind, NewEvent, Ticket, TicketStatus
from toolkit.engine.services import EngineServices
from toolkit.errors import ConflictError, IntegrityError, InvalidInputError, PermissionDeniedError
from toolkit.ports.signing import (
    DocumentSigner,
    SignatureBox,
    SignerIdentity,
    SignerLockedError,
    SignerStatus,
    Verification,
    WrongPassphraseError,
)
from toolkit.signing.lockout import PassphraseLockout
from toolkit.signing.pdf import box_for, field_name_for, page_count
from toolkit.signing.progress import SigningState, activation_step, signing_state, source_pdf
from toolkit.signing.trust import local_time_label
from toolkit.splp.apis import load_register
from toolkit.worktime.calendars import calendars_for

_DOCUMENT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # a document template id, as the catalog binds it
_USER = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")
_ORGANISATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .,()'&/-]{1,119}$")


def _checked(value: str, pattern: re.Pattern[str], what: str) -> str:
    """User input at the command's boundary: one line of the expected alphabet, or InvalidInputError
    (the message does not echo the value: it may be anything, a pasted passphrase included)."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidInputError(f"{what} must match {pattern.pattern}", errors=[(what, "invalid")])
    return value


class SigningServices(EngineServices, Protocol):
    @property
    def signing(self) -> DocumentSigner: ...


@dataclass(frozen=True)
class SignOutcome:
    ticket_id: str
    document: str
    attachment: str
    order: int
    total: int
    signed_at: datetime
    step_done: bool


def signing_root(app: SigningServices) -> Path:
    return Path(app.settings.state_dir) / "signing"


def _when(app: SigningServices, service: Service, moment: datetime) -> str:
    """The time in the ticket's office zone and its label (WITA for Gorontalo's services), as on its documents."""
    local = calendars_for(app.settings.worktime).zone_of(service)
    return local_time_label(moment, local.zone, local.label)


def identity_of(app: SigningServices, username: str, role: str | None = None) -> SignerIdentity:
    """The signer as the directory knows them; ``role`` is the catalog role printed in the box."""
    person = app.directory.person(username)
    roles = [role] if role else sorted(person.roles)
    label = next((app.catalog.roles.label(r) for r in roles if app.catalog.roles.label(r)), None)
    return SignerIdentity(username=username, name=person.name, role=label or (person.title or "Penandatangan"),
                          nip=getattr(person, "nip", None), nik=getattr(person, "nik", None), organisation=person.opd)


def authorize_signer(app: SigningServices, principal: Principal, ticket: Ticket, service: Service,
               state: SigningState) -> str:
    """The role the principal signs as; PermissionDeniedError for a non-party or out of turn. A party is a
    holder of a signer role, narrowed as the SOP narrows it: the applicant's role is this ticket's requester
    only, and an API provider's role (SPLP) is a provider of the API this ticket asks for."""
    person = app.policy.person(principal)
    applicants = app.catalog.roles.with_trait(RoleTrait.APPLICANT)
    providers = app.catalog.roles.with_trait(RoleTrait.API_PROVIDER)

    def of_this_api() -> bool:
        if service.approval_scope is None:
            return True
        api_id = str(ticket.fields.get(service.approval_scope.provider_of_field, ""))
        return principal.user in load_register(app.settings.splp_register).get(api_id).providers

    def holds(role: str) -> bool:
        if not person.has_role(role):
            return False
        if role in applicants:
            return principal.user == ticket.requester
        return role not in providers or of_this_api()

    mine = [role for role in state.step.signers if holds(role)]
    if not mine:
        raise PermissionDeniedError(f"{principal.user} is not a party of '{state.document}' on {ticket.id} "
                                    f"(signed by: {', '.join(state.step.signers)})", user=principal.user)
    if any(record.get("signer") == principal.user for record in state.done):
        raise ConflictError(f"{principal.user} has already signed '{state.document}' on {ticket.id}",
                            user=principal.user)
    if state.next_role not in mine:
        raise PermissionDeniedError(f"it is not {principal.user}'s turn to sign '{state.document}': the next "
                                    f"signer is a '{state.next_role}'", user=principal.user, next=state.next_role)
    return str(state.next_role)


def _check_existing(app: SigningServices, pdf: bytes, state: SigningState, ticket_id: str) -> None:
    if not state.done:
        return
    verification = app.signing.verify(pdf)
    if not verification.ok or len(verification.signatures) != len(state.done):
        raise IntegrityError(f"the current version of '{state.document}' on {ticket_id} does not verify "
                             f"({len(verification.signatures)} signature(s), {len(state.done)} recorded): not signing",
                             ticket=ticket_id)


def _box(app: SigningServices, ticket_id: str, service: Service, document: str, user: str, role: str, order: int,
         pdf: bytes) -> SignatureBox:
    """Where this signer's visible signature goes: the signature block the PDF renderer laid out for them
    (the document job's facts, ``tanda_tangan``: by username, else the first unnamed block of their role,
    else the n-th unnamed block), so the signature lands in the blank space above the printed name and
    NIP; without a block of theirs, `box_for`'s box at the foot of the last page."""
    results = app.queue.step_results(ticket_id)
    blocks: list[dict[str, Any]] = []
    for step in service.steps:
        job = results.get(step.id)
        if step.kind is StepKind.DOCUMENT and step.action == document and job is not None and job.result:
            blocks = [b for b in (job.result.get("facts") or {}).get("tanda_tangan") or [] if isinstance(b, dict)]
    unnamed = [b for b in blocks if not b.get("username")]  # never another signer's block
    chosen = (next((b for b in blocks if b.get("username") == user), None)
              or next((b for b in unnamed if b.get("peran") == role), None)
              or (unnamed[order] if order < len(unnamed) else None))
    if chosen is None:
        return box_for(user, order, page_count(pdf))
    return SignatureBox(field_name=field_name_for(user), page=int(chosen["page"]), x=float(chosen["x"]),
                        y=float(chosen["y"]), width=float(chosen["width"]), height=float(chosen["height"]))


def sign_document(app: SigningServices, ticket_id: str, document: str, principal: Principal,
                  passphrase: SecretStr) -> SignOutcome:
    _checked(document, _DOCUMENT, "document")
    ticket = app.tickets.get(ticket_id)
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(f"ticket {ticket_id} is closed", ticket=ticket_id)
    service = app.catalog.get(ticket.service_id)
    state = signing_state(app, ticket, service, document)
    if state.complete:
        raise ConflictError(f"'{document}' on {ticket_id} is already signed by every party", ticket=ticket_id)
    role = authorize_signer(app, principal, ticket, service, state)
    user = principal.user
    lockout = PassphraseLockout(signing_root(app))
    now = app.clock.now()
    lockout.check(user, now)
    source = source_pdf(ticket, state)
    pdf = app.tickets.read_attachment(ticket_id, source.name)
    _check_existing(app, pdf, state, ticket_id)
    identity = identity_of(app, user, role)
    order = len(state.done)
    try:
        signed = app.signing.sign(pdf, identity, passphrase, _box(app, ticket_id, service, document, user, role,
                                                              order, pdf))
    except WrongPassphraseError as exc:
        left = lockout.failed(user, now)
        app.audit.append(user, "document.sign.refused", ticket_id, {"document": document, "reason": "wrong passphrase",
                                                                      "tries_left": left, **principal.audit_data()})
        if left == 0:
            raise SignerLockedError(f"wrong passphrase; signing as {user} is now locked for "
                                    f"{int(lockout.lock_for.total_seconds() // 60)} minutes", user=user) from None
        raise WrongPassphraseError(f"wrong passphrase ({left} tries left before signing is locked)", user=user,
                                   reason=exc.details.get("reason", "")) from None
    lockout.succeeded(user)
    total = len(state.step.signers)
    name = f"{document}_{ticket_id}_ttd{order + 1}.pdf"
    upload = AttachmentUpload(name=name, media_type="application/pdf", content=signed.content, kind=document)
    app.tickets.attach(ticket_id, upload, user, dedupe_key=f"sign:{ticket_id}:{document}:{order}")
    when = _when(app, service, signed.signed_at)
    role_label = app.catalog.roles.label(role) or role
    text = (f"Dokumen {document.replace('_', ' ')} ditandatangani secara elektronik oleh {identity.name} "
            f"({role_label}) pada {when}; tanda tangan ke-{order + 1} dari {total}, berkas {name}.")
    record = {"document": document, "signer": user, "role": role, "order": order + 1, "attachment": name,
              "signed_at": signed.signed_at.isoformat(), "service": app.signing.name,
              "document_id": signed.document_id}
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor=user, text=text, data={SIGNATURE: record},
                                         dedupe_key=f"signed:{ticket_id}:{document}:{order}"))
    app.audit.append(user, "document.sign", ticket_id, {**record, **principal.audit_data()})
    step_done = order + 1 == total and _complete_step(app, ticket_id, state.step, principal)
    return SignOutcome(ticket_id=ticket_id, document=document, attachment=name, order=order + 1, total=total,
                       signed_at=signed.signed_at, step_done=step_done)


def _complete_step(app: SigningServices, ticket_id: str, step: Step, principal: Principal) -> bool:
    """The SOP's signing step is done when its last party has signed: a human step is recorded now; a document
    step its parties sign counts as done from the last signature (`toolkit.engine.progress.signed_steps`)."""
    if step.kind is not StepKind.HUMAN:
        return True
    from toolkit.commands.desk import record_step

    try:
        record_step(app, ticket_id, principal, step.id, "Seluruh pihak telah menandatangani dokumen secara elektronik.")
    except (ConflictError, PermissionDeniedError):
        return False  # not current yet, or the last party is not the step's actor: 'spbe ticket advance' later
    return True


def verify_document(app: SigningServices, content: bytes, principal: Principal, label: str) -> Verification:
    """Every signature and the file's integrity; IntegrityError (exit 9) when anything fails."""
    verification = app.signing.verify(content)
    app.audit.append(principal.user, "document.verify", None,
                     {"file": label, "ok": verification.ok, "signatures": len(verification.signatures),
                      **principal.audit_data()})
    if not verification.ok:
        problems = [f"{s.field_name} ({s.signer}): {s.problem}" for s in verification.signatures if not s.ok]
        raise IntegrityError(f"{label} does not verify: {'; '.join([*verification.problems, *problems])}",
                             verification=verification.model_dump(mode="json"))
    return verification


def signer_status(app: SigningServices, principal: Principal, username: str) -> SignerStatus:
    _checked(username, _USER, "user")
    if principal.user != username and not app.policy.is_staff(principal):
        raise PermissionDeniedError(f"{principal.user} may see only their own signing status", user=principal.user)
    return app.signing.status(identity_of(app, username))


# -- certificates -------------------------------------------------------------------------------
def init_ca(app: SigningServices, principal: Principal, organisation: str) -> str:
    """``spbe sign init``: the local CA of the pades adapter, by whoever administers accounts (the roles with
    that trait, the koordinator in our role book): the CA vouches for every signer's identity."""
    _checked(organisation, _ORGANISATION, "organisation")
    admins = sorted(app.catalog.roles.with_trait(RoleTrait.ADMINISTERS_ACCOUNTS))
    app.policy.authorize_role(principal, admins, "create the signing CA")
    ca = getattr(app.signing, "ca", None)
    if ca is None:
        raise ConflictError(f"the '{app.signing.name}' signing service has no local CA to create")
    cert = ca.init(organisation)
    app.audit.append(principal.user, "signing.ca.init", None,
                     {"subject": cert.subject.rfc4514_string(), **principal.audit_data()})
    return str(cert.subject.rfc4514_string())


def enroll(app: SigningServices, principal: Principal, username: str, passphrase: SecretStr) -> SignerStatus:
    """``spbe sign enroll USER``: staff get their own certificate in person. Only USER themselves, since the
    passphrase is theirs alone; applicants go through the *Tanda Tangan Elektronik* service instead."""
    _checked(username, _USER, "user")
    if principal.user != username:
        raise PermissionDeniedError(f"{principal.user} may not enrol {username}: a signer sets their own passphrase",
                                    user=principal.user)
    if not app.policy.is_staff(principal):
        raise PermissionDeniedError(f"{username} gets a certificate through the 'tanda-tangan-elektronik' service, "
                                    "then 'spbe sign activate'", user=username)
    status = app.signing.enroll(identity_of(app, username), passphrase)
    PassphraseLockout(signing_root(app)).succeeded(username)
    app.audit.append(username, "signing.enroll", None, {"serial": status.serial, **principal.audit_data()})
    return status


def activate(app: SigningServices, principal: Principal, passphrase: SecretStr) -> SignerStatus:
    """``spbe sign activate``: the applicant of an approved *Tanda Tangan Elektronik* ticket sets their
    passphrase; the certificate is issued now, and the ticket's activation step is recorded as done."""
    from toolkit.signing.activation import Activations

    activations = Activations(signing_root(app))
    now = app.clock.now()
    pending = activations.pending(principal.user, now)
    status = app.signing.enroll(pending.identity, passphrase)
    activations.use(principal.user, now)
    app.audit.append(principal.user, "signing.activate", pending.ticket_id,
                     {"serial": status.serial, **principal.audit_data()})
    ticket = app.tickets.get(pending.ticket_id)
    service = app.catalog.get(ticket.service_id)
    step = activation_step(service)
    if step is not None and ticket.status != TicketStatus.CLOSED:
        from toolkit.commands.desk import record_step

        try:
            record_step(app, ticket.id, principal, step.id,
                        f"Sertifikat elektronik diaktifkan oleh pemohon (nomor seri {status.serial}).")
        except ConflictError:
            pass  # not the current step (already recorded): the certificate is what matters
    return status
