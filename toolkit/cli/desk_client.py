"""The desk the CLI's ticket, job and secret commands talk to: this machine's stores, or a server's API.

The click commands parse and render; what they ask goes through `Desk`, which `CliContext.desk` picks
once per command: `LocalDesk` calls the command layer with the principal of this shell (the OS
account's person, or ``--as`` in a lab), `toolkit.cli.remote_desk.RemoteDesk` calls ``/api/v1`` with
the stored personal access token. Both answer with the same models (`Ticket`, `JobRow`, `Revealed`), so
one renderer serves both and a remote command prints what the local one prints. The policy is asked
where the stores are: here for `LocalDesk`, on the server for `RemoteDesk`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from toolkit.bootstrap import App
from toolkit.commands import desk, incident, revision
from toolkit.commands import jobs as job_control
from toolkit.domain.confidentiality import redact_ticket
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.models import AttachmentUpload, Ticket, TicketStatus
from toolkit.errors import InvalidInputError, NotFoundError
from toolkit.ports.jobs import Job, JobState

if TYPE_CHECKING:
    from toolkit.commands.installation_schedule import Outcome


class JobRow(BaseModel):
    """A job as the CLI shows it: what the API's ``JobOut`` carries, so a remote job renders with the local
    tables. Locally it keeps every field of the queue's `Job` (extra fields allowed), so ``--json`` prints
    what it printed before there was a remote desk."""

    model_config = ConfigDict(frozen=True, extra="allow")
    id: int
    ticket_id: str
    step_id: str
    action: str
    state: JobState
    attempt: int
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested: bool = False
    plan: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def of(cls, job: Job) -> JobRow:
        return cls.model_validate(job.model_dump())

    def summary(self) -> dict[str, Any]:
        """What ``jobs list --json`` prints: no plan, no result (``jobs show`` has them)."""
        return self.model_dump(mode="json", exclude={"plan", "result"})


class Revealed(BaseModel):
    """An issued secret collected once (``spbe secret reveal``)."""

    model_config = ConfigDict(frozen=True)
    ticket_id: str
    name: str
    secret: SecretStr
    label: str = ""
    attributes: dict[str, Any] = Field(default_factory=dict)
    revealed_at: datetime | None = None
    expires_at: datetime | None = None


class Desk(Protocol):
    """What the ticket, job and secret commands may ask, wherever the stores are."""

    def actor(self) -> str:
        """Who acts: the principal's user here, the token's person on a server."""
        ...

    def open_ticket(self, service_id: str, title: str, fields: dict[str, str],
                    uploads: Sequence[AttachmentUpload]) -> Ticket: ...
    def check(self, ticket_id: str) -> None: ...
    def return_for_revision(self, ticket_id: str, missing: Sequence[str], note: str) -> None: ...
    def resubmit(self, ticket_id: str, note: str, uploads: Sequence[AttachmentUpload]) -> None: ...
    def cancel(self, ticket_id: str, reason: str) -> None: ...
    def approve(self, ticket_id: str, reason: str) -> None: ...
    def defer(self, ticket_id: str, reason: str) -> None: ...
    def advance(self, ticket_id: str, step_id: str, note: str) -> None: ...
    def close_ticket(self, ticket_id: str, note: str | None) -> None: ...
    def comment(self, ticket_id: str, text: str) -> None: ...
    def assign(self, ticket_id: str, assignee: str) -> None: ...
    def decide(self, ticket_id: str, values: dict[str, str], reason: str) -> None: ...
    def reject_report(self, ticket_id: str, reason: str) -> None: ...
    def propose_schedule(self, ticket_id: str, start: str, end: str, note: str | None) -> Outcome: ...
    def confirm_schedule(self, ticket_id: str) -> Outcome: ...
    def reject_schedule(self, ticket_id: str, reason: str) -> Outcome: ...
    def list_tickets(self, status: TicketStatus | None, service_id: str | None) -> list[Ticket]: ...
    def jobs(self, state: JobState | None, ticket_id: str | None, limit: int) -> list[JobRow]: ...
    def job(self, job_id: int) -> JobRow: ...
    def job_logs(self, job_id: int) -> list[tuple[int, str]]: ...
    def cancel_job(self, job_id: int) -> JobRow: ...
    def retry_job(self, job_id: int) -> JobRow: ...
    def reveal(self, ticket_id: str, name: str | None) -> Revealed: ...


def only_secret(names: Sequence[str], ticket_id: str) -> str:
    """Without ``--name``: the ticket's one secret, or an error naming the choices."""
    if not names:
        raise NotFoundError(f"ticket {ticket_id} holds no secrets", ticket=ticket_id)
    if len(names) > 1:
        raise InvalidInputError(f"ticket {ticket_id} holds several secrets ({', '.join(names)}); choose one with "
                                "--name", errors=[("name", "required")])
    return names[0]


class LocalDesk:
    """The command layer on this machine's stores. The principal is resolved when a command needs one,
    so reading the list of tickets or jobs does not require a person mapped to this OS account."""

    def __init__(self, app: App, principal: Callable[[], Principal]) -> None:
        self._app = app
        self._principal = principal

    def actor(self) -> str:
        return self._principal().user

    def open_ticket(self, service_id: str, title: str, fields: dict[str, str],
                    uploads: Sequence[AttachmentUpload]) -> Ticket:
        return desk.open_ticket(self._app, service_id, self._principal(), title, fields, list(uploads))

    def check(self, ticket_id: str) -> None:
        desk.check(self._app, ticket_id, self._principal())

    def return_for_revision(self, ticket_id: str, missing: Sequence[str], note: str) -> None:
        revision.return_for_revision(self._app, ticket_id, self._principal(), list(missing), note)

    def resubmit(self, ticket_id: str, note: str, uploads: Sequence[AttachmentUpload]) -> None:
        revision.resubmit(self._app, ticket_id, self._principal(), note, list(uploads))

    def cancel(self, ticket_id: str, reason: str) -> None:
        revision.cancel(self._app, ticket_id, self._principal(), reason)

    def approve(self, ticket_id: str, reason: str) -> None:
        desk.approve(self._app, ticket_id, self._principal(), reason)

    def defer(self, ticket_id: str, reason: str) -> None:
        desk.defer(self._app, ticket_id, self._principal(), reason)

    def advance(self, ticket_id: str, step_id: str, note: str) -> None:
        desk.record_step(self._app, ticket_id, self._principal(), step_id, note)

    def close_ticket(self, ticket_id: str, note: str | None) -> None:
        desk.close(self._app, ticket_id, self._principal(), note)

    def comment(self, ticket_id: str, text: str) -> None:
        desk.comment(self._app, ticket_id, self._principal(), text)

    def assign(self, ticket_id: str, assignee: str) -> None:
        desk.assign(self._app, ticket_id, self._principal(), assignee)

    def decide(self, ticket_id: str, values: dict[str, str], reason: str) -> None:
        incident.decide(self._app, ticket_id, self._principal(), values, reason)

    def reject_report(self, ticket_id: str, reason: str) -> None:
        """An incident report the verification found is not one: closed with the reason."""
        incident.reject(self._app, ticket_id, self._principal(), reason)

    def propose_schedule(self, ticket_id: str, start: str, end: str, note: str | None) -> Outcome:
        from toolkit.commands import installation_schedule

        return installation_schedule.propose(self._app, ticket_id, self._principal(), start, end, note)

    def confirm_schedule(self, ticket_id: str) -> Outcome:
        from toolkit.commands import installation_schedule

        return installation_schedule.confirm(self._app, ticket_id, self._principal())

    def reject_schedule(self, ticket_id: str, reason: str) -> Outcome:
        from toolkit.commands import installation_schedule

        return installation_schedule.reject(self._app, ticket_id, self._principal(), reason)

    def list_tickets(self, status: TicketStatus | None, service_id: str | None) -> list[Ticket]:
        """Every ticket (the control node's operator holds the state directory), a confidential reporter
        hidden as from anyone without the role."""
        catalog = self._app.catalog
        return [redact_ticket(catalog.roles, catalog.get(t.service_id), t, frozenset())
                for t in self._app.tickets.list_tickets(status=status, service_id=service_id)]

    def jobs(self, state: JobState | None, ticket_id: str | None, limit: int) -> list[JobRow]:
        return [JobRow.of(j) for j in self._app.queue.list_jobs(state=state, ticket_id=ticket_id, limit=limit)]

    def job(self, job_id: int) -> JobRow:
        return JobRow.of(self._app.queue.get(job_id))

    def job_logs(self, job_id: int) -> list[tuple[int, str]]:
        self._app.queue.get(job_id)  # an unknown job is "not found", not an empty log
        return list(self._app.queue.logs(job_id))

    def cancel_job(self, job_id: int) -> JobRow:
        return JobRow.of(job_control.cancel(self._app, job_id, self._principal()))

    def retry_job(self, job_id: int) -> JobRow:
        return JobRow.of(job_control.retry(self._app, job_id, self._principal()))

    def reveal(self, ticket_id: str, name: str | None) -> Revealed:
        vault = self._app.vault
        name = name or only_secret([r.name for r in vault.records(ticket_id)], ticket_id)
        secret = vault.reveal(ticket_id, name, self._principal())
        record = vault.masked(ticket_id, name)
        return Revealed(ticket_id=ticket_id, name=name, secret=secret, label=record.label,
                        attributes=dict(record.attributes), revealed_at=record.revealed_at,
                        expires_at=record.expires_at)
