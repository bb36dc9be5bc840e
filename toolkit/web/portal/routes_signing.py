"""Signing a ticket's document from the portal: the progress of each document its SOP has signed (who
signed, who is next) on the ticket page, and for the next party a passphrase form that calls
`toolkit.commands.signing.sign_document` with the session's principal, exactly as
``spbe document sign TICKET DOC`` does (parties, turn, lockout, audit and the timeline stay there).

The passphrase goes from the form into a `SecretStr` and on to the command only: it is never logged,
never put into a redirect, a notice or a page (a refused form is not drawn again with it), and the
refusals are fixed Bahasa Indonesia texts (`texts.SIGN_*`), never the command's own message.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from toolkit.commands.signing import authorize_signer as authorize_party
from toolkit.commands.signing import sign_document
from toolkit.domain.principal import ENGINE_USER
from toolkit.domain.tickets.models import AttachmentRef, TicketStatus
from toolkit.engine.services import EngineServices
from toolkit.errors import ConflictError, IntegrityError, InvalidInputError, PermissionDeniedError, ToolkitError
from toolkit.ports.signing import (
    CertificateExpiredError,
    SignerLockedError,
    SignerNotEnrolledError,
    WrongPassphraseError,
)
from toolkit.signing.progress import signing_state
from toolkit.web.portal import texts, views
from toolkit.web.portal.views import TicketView
from toolkit.web.portal.web import Portal, Viewer

PASSPHRASE_FIELD = "frasa"  # noqa: S105 - the form field's name, not a passphrase
MAX_PASSPHRASE = 512  # characters; longer is refused before anything is asked of the signer
_DOCUMENT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TRIES_LEFT = re.compile(r"\((\d+) tries left")  # the command's WrongPassphraseError message


@dataclass(frozen=True)
class Signed:
    name: str
    role: str
    at: datetime | None
    attachment: str


@dataclass(frozen=True)
class SigningPanel:
    """One document of the ticket that its SOP has signed, as the ticket page shows it."""

    document: str
    title: str  # the signing step's title
    signed: tuple[Signed, ...]
    parties: tuple[str, ...]  # the signer roles' labels, in the SOP's order
    next_role: str | None  # the next party's role label (None: every party has signed)
    my_turn: bool  # the viewer is the next party and may sign now
    versions: tuple[AttachmentRef, ...]  # every PDF version of the document, oldest first

    @property
    def label(self) -> str:
        return self.document.replace("_", " ")


def signing_panels(app: EngineServices, viewer: Viewer, view: TicketView) -> list[SigningPanel]:
    """The documents of ``view``'s ticket awaiting or holding signatures: only those whose rendered PDF
    is attached (before that there is nothing to sign). The turn is asked of the command's own check."""
    service = view.service
    documents = list(dict.fromkeys(s.signed_document for s in service.steps if s.signed_document))
    if not documents:
        return []  # most services: no extra read of the ticket
    ticket = app.tickets.get(view.ticket.id)
    panels = []
    for document in documents:
        versions = tuple(a for a in ticket.attachments
                         if a.kind == document and a.media_type == "application/pdf")
        if not any(a.added_by == ENGINE_USER for a in versions):
            continue
        try:
            state = signing_state(app, ticket, service, document)
        except ToolkitError:
            continue
        my_turn = False
        if not state.complete and ticket.status != TicketStatus.CLOSED:
            try:
                authorize_party(app, viewer.principal, ticket, service, state)  # type: ignore[arg-type]
                my_turn = True
            except ToolkitError:
                my_turn = False
        signed = tuple(Signed(name=_name(app, str(r.get("signer", ""))), role=_role(app, str(r.get("role", ""))),
                              at=_moment(r.get("signed_at")), attachment=str(r.get("attachment", "")))
                       for r in state.done)
        panels.append(SigningPanel(
            document=document, title=state.step.title, signed=signed,
            parties=tuple(_role(app, r) for r in state.step.signers),
            next_role=_role(app, state.next_role) if state.next_role else None, my_turn=my_turn, versions=versions))
    return panels


def _role(app: EngineServices, role: str) -> str:
    return app.catalog.roles.label(role) or role


def _moment(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _name(app: EngineServices, user: str) -> str:
    try:
        return app.directory.person(user).name
    except ToolkitError:
        return user


def refusal(exc: ToolkitError) -> tuple[int, str, str]:
    """(status, title, text) of a refused signature, in Bahasa Indonesia; never the command's message
    (which is English and names the user), never anything the form carried."""
    if isinstance(exc, WrongPassphraseError):
        found = _TRIES_LEFT.search(exc.message)
        left = texts.SIGN_TRIES_LEFT.format(n=found.group(1)) if found else ""
        return 403, texts.SIGN_TITLE, f"{texts.SIGN_WRONG_PASSPHRASE} {left}".strip()
    if isinstance(exc, SignerLockedError):
        return 403, texts.SIGN_TITLE, texts.SIGN_LOCKED
    if isinstance(exc, SignerNotEnrolledError):
        return 409, texts.SIGN_TITLE, texts.SIGN_NOT_ENROLLED
    if isinstance(exc, CertificateExpiredError):
        return 409, texts.SIGN_TITLE, texts.SIGN_EXPIRED
    if isinstance(exc, PermissionDeniedError):
        turn = "next" in exc.details
        return 403, texts.TITLE_FORBIDDEN, texts.SIGN_NOT_YOUR_TURN if turn else texts.SIGN_NOT_A_PARTY
    if isinstance(exc, IntegrityError):
        return 409, texts.SIGN_TITLE, texts.SIGN_INTEGRITY
    if isinstance(exc, ConflictError):
        return 409, texts.TITLE_CONFLICT, texts.SIGN_CONFLICT
    if isinstance(exc, InvalidInputError):
        return 400, texts.TITLE_INVALID, texts.SIGN_INVALID
    return 0, "", ""


def add_signing_routes(router: APIRouter, portal: Portal) -> None:
    app = portal.app
    Viewing = Annotated[Viewer, Depends(portal.require)]

    def panels(view: TicketView, viewer: Viewer) -> list[SigningPanel]:
        return signing_panels(app, viewer, view)

    portal.env.globals["penandatanganan"] = panels  # the ticket page's partial, _tanda_tangan.html.j2

    def refused(request: Request, viewer: Viewer, exc: ToolkitError) -> Response:
        status, title, text = refusal(exc)
        if not status:
            return portal.failure(request, viewer, exc)
        return portal.render(request, "galat.html.j2", {"judul": title, "pesan": text}, viewer=viewer, status=status)

    @router.post("/tiket/{ticket_id}/tanda-tangan/{document}")
    async def sign(request: Request, ticket_id: str, document: str, viewer: Viewing) -> Response:
        form = await request.form(max_files=0, max_fields=5, max_part_size=4 * MAX_PASSPHRASE)
        denied = portal.csrf_refused(request, viewer, form)
        if denied is not None:
            return denied
        raw: Any = form.get(PASSPHRASE_FIELD)
        passphrase = SecretStr(raw if isinstance(raw, str) else "")
        del raw, form
        try:
            views.visible_ticket(app, viewer, ticket_id)
            if not _DOCUMENT.fullmatch(document):
                raise InvalidInputError("document must be a template id", errors=[("document", "invalid")])
            length = len(passphrase.get_secret_value())
            if not 0 < length <= MAX_PASSPHRASE:
                raise InvalidInputError("the passphrase is empty or too long", errors=[("frasa", "invalid")])
            await run_in_threadpool(sign_document, app, ticket_id, document, viewer.principal,  # type: ignore[arg-type]
                                    passphrase)
        except ToolkitError as exc:
            return refused(request, viewer, exc)
        return portal.redirect(request, f"/tiket/{ticket_id}?ok=ditandatangani#tanda-tangan")
