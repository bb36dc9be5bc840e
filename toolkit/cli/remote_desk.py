"""`RemoteDesk`: the CLI's desk (`toolkit.cli.desk_client.Desk`) through a server's ``/api/v1``.

The token is the identity: ``--as`` is refused before this desk is built (`CliContext.desk`), and the
server's policy decides everything, so a refusal comes back as the same error kind and exit code as
on the control node. What this side checks is what must not leave the machine in a bad shape: an id
that would change the URL's path (``../``, ``/``, ``?``), text with control, bidi or line-separator
characters or template syntax (the command layer's own free-text rules, so the message is the one a
local command gives), and attachments (read and refused locally by `attachment_files.from_path`
before any command runs). A refused input is an `InvalidInputError` (exit 2) and no request is sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from toolkit.cli.desk_client import JobRow, Revealed, only_secret
from toolkit.cli.remote import RemoteClient
from toolkit.domain.tickets.field_types import refused_character
from toolkit.domain.tickets.models import AttachmentUpload, Ticket, TicketStatus
from toolkit.domain.tickets.requests import check_free_text, validate_title
from toolkit.errors import InvalidInputError
from toolkit.ports.jobs import JobState

if TYPE_CHECKING:
    from toolkit.commands.installation_schedule import Outcome

_WHEN = 40  # characters of a typed date and time (`toolkit.domain.install_schedule.MAX_TIME_TEXT`)
_NOTE = 500  # a schedule's note (`install_schedule.MAX_NOTE`): one line

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_PAGE = 500  # the API's largest page of tickets


def ident(value: str, field: str) -> str:
    """A ticket, service, step, secret or user name that goes into a URL or a body as a name."""
    if not _ID.fullmatch(value) or ".." in value:
        raise InvalidInputError(f"invalid {field} {value!r}: letters, digits, '.', '_', '@' and '-', at most 64",
                                errors=[(field, "format")])
    return value


def _text(value: str, field: str) -> str:
    """Free text as the command layer would hold it (refused under the name the person typed)."""
    check_free_text(value, field)
    return value


def _line(value: str, field: str, max_length: int) -> str:
    """One line of free text (a date and time, a schedule's note), held to the command layer's rules."""
    check_free_text(value, field, max_length=max_length, multiline=False)
    return value


def _field_values(fields: dict[str, str]) -> dict[str, str]:
    """Request fields: the server checks them against the catalog; here only what no field may hold."""
    for name, value in fields.items():
        ident(name, "field")
        for position, char in enumerate(value, start=1):
            what = refused_character(char, multiline=True)
            if what is not None:
                raise InvalidInputError(f"invalid {name}: must not contain {what} (U+{ord(char):04X} at character "
                                        f"{position})", errors=[(name, what)])
    return fields


def _files(uploads: Sequence[AttachmentUpload]) -> tuple[list[str], list[tuple[str, tuple[str, bytes, str]]]]:
    return ([u.kind or "" for u in uploads], [("files", (u.name, u.content, u.media_type)) for u in uploads])


def _ticket(detail: dict[str, Any]) -> Ticket:
    """A `Ticket` from the API's ticket detail: what this person may see of it."""
    return Ticket(**detail["ticket"], fields=detail["fields"], attachments=tuple(detail["attachments"]))


def _outcome(answer: Any) -> Outcome:
    """The API's ``ScheduleOut`` as the command layer's `Outcome`, so one renderer prints both."""
    from toolkit.commands.installation_schedule import Outcome

    return Outcome.model_validate(answer)


class RemoteDesk:
    def __init__(self, client: RemoteClient) -> None:
        self.client = client
        self._me: dict[str, Any] | None = None

    @property
    def server(self) -> str:
        return self.client.server

    def close(self) -> None:
        self.client.close()

    def me(self) -> dict[str, Any]:
        if self._me is None:
            self._me = self.client.get("/me")
        return self._me

    def actor(self) -> str:
        return str(self.me()["user"])

    def _post(self, ticket_id: str, verb: str, body: dict[str, Any]) -> Any:
        return self.client.request("POST", f"/tickets/{quote(ident(ticket_id, 'ticket'), safe='')}/{verb}", json=body)

    def detail(self, ticket_id: str) -> dict[str, Any]:
        """``GET /tickets/{id}``: the ticket as the server shows this person (``spbe ticket show``)."""
        result: dict[str, Any] = self.client.get(f"/tickets/{quote(ident(ticket_id, 'ticket'), safe='')}")
        return result

    def open_ticket(self, service_id: str, title: str, fields: dict[str, str],
                    uploads: Sequence[AttachmentUpload]) -> Ticket:
        ident(service_id, "service")
        validate_title(title)
        kinds, files = _files(uploads)
        data = {"service": service_id, "title": title, "fields": json.dumps(_field_values(fields)), "kinds": kinds}
        opened = self.client.request("POST", "/tickets", data=data, files=files or None)
        return _ticket(self.detail(opened["id"]))

    def check(self, ticket_id: str) -> None:
        self._post(ticket_id, "check", {})

    def return_for_revision(self, ticket_id: str, missing: Sequence[str], note: str) -> None:
        self._post(ticket_id, "return", {"missing": [ident(m, "missing") for m in missing],
                                         "note": _text(note, "note")})

    def resubmit(self, ticket_id: str, note: str, uploads: Sequence[AttachmentUpload]) -> None:
        kinds, files = _files(uploads)
        self.client.request("POST", f"/tickets/{quote(ident(ticket_id, 'ticket'), safe='')}/resubmit",
                            data={"note": _text(note, "note"), "kinds": kinds}, files=files or None)

    def cancel(self, ticket_id: str, reason: str) -> None:
        self._post(ticket_id, "cancel", {"reason": _text(reason, "reason")})

    def approve(self, ticket_id: str, reason: str) -> None:
        self._post(ticket_id, "approve", {"reason": _text(reason, "reason")})

    def defer(self, ticket_id: str, reason: str) -> None:
        self._post(ticket_id, "defer", {"reason": _text(reason, "reason")})

    def advance(self, ticket_id: str, step_id: str, note: str) -> None:
        self._post(ticket_id, "advance", {"step": ident(step_id, "step"), "note": _text(note, "note")})

    def close_ticket(self, ticket_id: str, note: str | None) -> None:
        self._post(ticket_id, "close", {"note": _text(note, "note") if note is not None else None})

    def comment(self, ticket_id: str, text: str) -> None:
        self._post(ticket_id, "comments", {"text": _text(text, "comment")})

    def assign(self, ticket_id: str, assignee: str) -> None:
        self._post(ticket_id, "assign", {"assignee": ident(assignee, "assignee")})

    def decide(self, ticket_id: str, values: dict[str, str], reason: str) -> None:
        self._post(ticket_id, "decide", {"set": _field_values(values), "reason": _text(reason, "reason")})

    def reject_report(self, ticket_id: str, reason: str) -> None:
        self._post(ticket_id, "reject", {"reason": _text(reason, "reason")})

    def propose_schedule(self, ticket_id: str, start: str, end: str, note: str | None) -> Outcome:
        """The server reads ``start``/``end`` in the service's zone, exactly as a local proposal."""
        body = {"start": _line(start, "start", _WHEN), "end": _line(end, "end", _WHEN),
                "note": _line(note, "note", _NOTE) if note else None}
        return _outcome(self._post(ticket_id, "schedule/propose", body))

    def confirm_schedule(self, ticket_id: str) -> Outcome:
        return _outcome(self._post(ticket_id, "schedule/confirm", {}))

    def reject_schedule(self, ticket_id: str, reason: str) -> Outcome:
        return _outcome(self._post(ticket_id, "schedule/reject", {"reason": _text(reason, "reason")}))

    def list_tickets(self, status: TicketStatus | None, service_id: str | None) -> list[Ticket]:
        """Every page of what the server lets this person see, newest first."""
        if service_id is not None:
            ident(service_id, "service")
        items: list[dict[str, Any]] = []
        while True:
            page = self.client.get("/tickets", status=status.value if status else None, service=service_id,
                                   offset=len(items), limit=_PAGE)
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return [Ticket(**item, fields={}) for item in items]

    def jobs(self, state: JobState | None, ticket_id: str | None, limit: int) -> list[JobRow]:
        ticket = ident(ticket_id, "ticket") if ticket_id is not None else None
        rows = self.client.get("/jobs", state=state.value if state else None, ticket=ticket, limit=limit)
        return [JobRow.model_validate(row) for row in rows]

    def job(self, job_id: int) -> JobRow:
        return JobRow.model_validate(self.client.get(f"/jobs/{int(job_id)}"))

    def job_logs(self, job_id: int) -> list[tuple[int, str]]:
        return [(int(line["seq"]), str(line["line"])) for line in self.client.get(f"/jobs/{int(job_id)}/logs")]

    def cancel_job(self, job_id: int) -> JobRow:
        return JobRow.model_validate(self.client.request("POST", f"/jobs/{int(job_id)}/cancel"))

    def retry_job(self, job_id: int) -> JobRow:
        return JobRow.model_validate(self.client.request("POST", f"/jobs/{int(job_id)}/retry"))

    def reveal(self, ticket_id: str, name: str | None) -> Revealed:
        path = f"/tickets/{quote(ident(ticket_id, 'ticket'), safe='')}/secrets"
        if name is None:
            name = only_secret([str(r["name"]) for r in self.client.get(path)], ticket_id)
        shown = self.client.request("POST", f"{path}/{quote(ident(name, 'name'), safe='')}/reveal")
        return Revealed.model_validate(shown)
