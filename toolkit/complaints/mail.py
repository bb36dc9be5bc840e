"""Complaints from the mailbox: each new message becomes a complaint ticket once, or is refused with a reason.

A message is refused whole, before anything is created, when it has no usable sender (a ``From`` that is no
single valid address), headers past the limits (`MAX_HEADER_BYTES`, `MAX_HEADER_LINE`, `MAX_HEADERS`: a flood of
headers is an attack on the parser, not a complaint), no text, a body past the catalog's limit, or an attachment
that fails the checks every attachment passes (`toolkit.commands.attachment_files.from_bytes`: size, name,
media type read from the content; the catalog says which types ``lampiran`` accepts). The reason is logged
(without the sender's address or the text) and kept in the ledger; the message is marked done either way, so a
refused message is not read again every round.

Text: a ``text/plain`` part is preferred; an HTML-only message is reduced to its text, with ``script``,
``style`` and similar elements dropped with their content, so what is stored is plain text (whatever markup-like
text remains is shown escaped by the portal, as all ticket text). E-mail is not typed into our form, so the
characters our free-text rules refuse are replaced (U+FFFD) rather than refused, and template delimiters are
split (``{{`` becomes ``{ {``). Idempotence: by Message-ID (`toolkit.complaints.ledger`), else the message's digest.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from toolkit.commands.attachment_files import from_bytes
from toolkit.complaints.intake import complaints_service, default_title, submit
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.field_types import is_email, refused_character
from toolkit.domain.tickets.models import AttachmentUpload, Ticket
from toolkit.errors import ConfigurationError, InvalidInputError, PermissionDeniedError
from toolkit.ports.mailbox import RawMessage
from toolkit.services import Services

if TYPE_CHECKING:
    from toolkit.complaints.ledger import MailLedger
    from toolkit.ports.mailbox import Mailbox

log = logging.getLogger("spbe.complaints.mail")
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_LINE = 8 * 1024
MAX_HEADERS = 200
MAX_ROUND = 100  # messages read per round; the rest wait for the next
_MESSAGE_ID = re.compile(r"^<?([A-Za-z0-9.!#$%&'*+/=?^_`|~@:-]{1,250})>?$")
_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
_SKIPPED_HTML = frozenset({"script", "style", "head", "title", "noscript", "template", "iframe", "object", "svg"})
_BLOCK_HTML = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"})
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")


class MailServices(Services, Protocol):
    """What the mail intake needs beyond the common services (`toolkit.bootstrap.App` has both)."""

    @property
    def mailbox(self) -> Mailbox: ...

    @property
    def complaint_mail(self) -> MailLedger: ...


class MailRefused(InvalidInputError):
    """A message that cannot become a complaint, and why."""


class MailOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)
    uid: str
    key: str | None
    result: Literal["created", "duplicate", "refused"]
    ticket_id: str | None = None
    reason: str | None = None


class ParsedMail(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    key: str
    message_id: str | None
    sender: str
    subject: str
    body: str
    attachments: tuple[AttachmentUpload, ...]


class _Text(HTMLParser):
    """The text of an HTML body, without the content of scripts, styles and other non-text elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_HTML:
            self._skipping += 1
        elif tag in _BLOCK_HTML:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_HTML and self._skipping:
            self._skipping -= 1
        elif tag in _BLOCK_HTML:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_text(text: str, *, multiline: bool = True) -> str:
    """Mail text held to the free-text rules by replacing, not refusing (the sender cannot be asked)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        text = " ".join(text.split())
    chars = ("\ufffd" if refused_character(c, multiline=multiline) else c for c in text)
    return _TEMPLATE.sub(lambda m: f"{m.group(0)[0]} {m.group(0)[1]}", "".join(chars)).strip()


def _check_headers(raw: bytes) -> None:
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    head = raw[:end]
    if len(head) > MAX_HEADER_BYTES:
        raise MailRefused(f"headers too large ({len(head)} bytes, limit {MAX_HEADER_BYTES})")
    lines = head.splitlines()
    fields = sum(1 for line in lines if line[:1] not in (b" ", b"\t"))
    if fields > MAX_HEADERS:
        raise MailRefused(f"too many header fields ({fields}, limit {MAX_HEADERS})")
    unfolded = re.split(rb"\r?\n(?![ \t])", head)
    longest = max((len(line) for line in unfolded), default=0)
    if longest > MAX_HEADER_LINE:
        raise MailRefused(f"a header field is too long ({longest} bytes, limit {MAX_HEADER_LINE})")


def _sender(message: EmailMessage) -> str:
    values = message.get_all("From") or []
    if len(values) != 1:
        raise MailRefused("no sender (From)" if not values else "more than one From header")
    try:
        addresses = [a for _, a in getaddresses([str(values[0])]) if a]
    except (ValueError, IndexError, TypeError):
        addresses = []
    if len(addresses) != 1 or not is_email(addresses[0]):
        raise MailRefused("no sender (From has no single valid address)")
    return addresses[0]


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        raise MailRefused("no text body")
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        raise MailRefused("the text body cannot be decoded") from None
    text = html_to_text(content) if part.get_content_subtype() == "html" else content
    return clean_text(str(text))


def _attachments(message: EmailMessage) -> tuple[AttachmentUpload, ...]:
    found = []
    for index, part in enumerate(message.iter_attachments(), start=1):
        raw_name = part.get_filename() or f"lampiran-{index}"
        name = _SAFE_NAME.sub("_", raw_name.replace("..", "_"))[:120].strip() or f"lampiran-{index}"
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise MailRefused(f"attachment {index} cannot be decoded")
        try:
            found.append(from_bytes("lampiran", name, payload))
        except InvalidInputError as exc:
            raise MailRefused(f"attachment {index}: {exc}") from None
    return tuple(found)


def parse(raw: bytes) -> ParsedMail:
    """The complaint a message carries, or `MailRefused` naming why it cannot be one."""
    _check_headers(raw)
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except (ValueError, TypeError, IndexError) as exc:
        raise MailRefused(f"malformed message: {type(exc).__name__}") from None
    assert isinstance(message, EmailMessage)
    raw_id = str(message.get("Message-ID") or "").strip()
    matched = _MESSAGE_ID.fullmatch(raw_id)
    message_id = matched.group(1) if matched else None
    key = f"mid:{message_id}" if message_id else "sha256:" + hashlib.sha256(raw).hexdigest()
    sender = _sender(message)
    subject = clean_text(str(message.get("Subject") or ""), multiline=False)[:200]
    return ParsedMail(key=key, message_id=message_id, sender=sender, subject=subject, body=_body(message),
                      attachments=_attachments(message))


def _kind(choices: tuple[str, ...], subject: str) -> str:
    """The kind the subject starts with ("Saran: ...", "[masukan] ..."), else the first (a complaint)."""
    first = subject.split(maxsplit=1)[0].strip("[]:").casefold() if subject else ""
    return first if first in choices else choices[0]


def _existing(app: Services, key: str) -> Ticket | None:
    """After a crash between making the ticket and recording it: the complaint that carries this key."""
    service = complaints_service(app)
    for ticket in app.tickets.list_tickets(service_id=service.id):
        if ticket.fields.get("message_id") and f"mid:{ticket.fields['message_id']}" == key:
            return ticket
    return None


def handle(app: MailServices, message: RawMessage) -> MailOutcome:
    """One message: a new complaint, a duplicate of one made before, or refused (logged with the reason)."""
    uid = message.uid
    if not message.raw:  # the adapter did not download it: over the mailbox's max_message_bytes
        return _refused(app, uid, None, f"message larger than the mailbox limit ({message.size} bytes)")
    try:
        mail = parse(message.raw)
    except MailRefused as exc:
        return _refused(app, uid, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - a message the parser chokes on must not stop every later round
        return _refused(app, uid, None, f"malformed message: {type(exc).__name__}")
    now = datetime.now(UTC)
    mine, before = app.complaint_mail.claim(mail.key, now)
    if not mine:
        return MailOutcome(uid=uid, key=mail.key, result="duplicate", ticket_id=before.ticket_id if before else None)
    if before is not None:
        found = _existing(app, mail.key)
        if found is not None:
            app.complaint_mail.done(mail.key, now, ticket_id=found.id)
            return MailOutcome(uid=uid, key=mail.key, result="duplicate", ticket_id=found.id)
    service = complaints_service(app)
    assert service.complaints is not None
    kind_field = service.complaints.kind_field
    fields = {kind_field: _kind(service.requirements.field(kind_field).choices or ("",), mail.subject),
              "kanal": "email", "isi": mail.body, "kontak_pengadu": mail.sender, "message_id": mail.message_id}
    try:
        ticket = submit(app, service, Principal.engine(), mail.subject or default_title(fields),
                        fields, list(mail.attachments))
    except (InvalidInputError, PermissionDeniedError) as exc:
        return _refused(app, uid, mail.key, str(exc))
    except BaseException:
        app.complaint_mail.release(mail.key)  # the store was down: the next round tries this message again
        raise
    app.complaint_mail.done(mail.key, datetime.now(UTC), ticket_id=ticket.id)
    log.info("complaint %s from mail %s", ticket.id, mail.key, extra={"event": "complaints.mail.created"})
    return MailOutcome(uid=uid, key=mail.key, result="created", ticket_id=ticket.id)


def _refused(app: MailServices, uid: str, key: str | None, reason: str) -> MailOutcome:
    reason = app.masker(reason)[:500]
    log.warning("complaint mail uid %s refused: %s", uid, reason, extra={"event": "complaints.mail.refused"})
    if key is not None:
        app.complaint_mail.done(key, datetime.now(UTC), refused=reason)
    return MailOutcome(uid=uid, key=key, result="refused", reason=reason)


def fetch_once(app: MailServices, limit: int = MAX_ROUND) -> list[MailOutcome]:
    """One round over the mailbox's unread messages; each is marked done after it was handled."""
    if app.settings.mailbox is None:
        raise ConfigurationError("no complaints mailbox is configured (settings.mailbox)")
    outcomes = []
    with app.mailbox.session() as box:
        for message in box.unread(limit):
            outcome = handle(app, message)
            box.mark_done(message.uid)
            outcomes.append(outcome)
    return outcomes
