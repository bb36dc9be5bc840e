"""The `TicketSystem` port: what the core needs from any service desk.

The embedded SQLite store implements it, and so will REST adapters for Redmine, GLPI or Jira.
Implementations raise `toolkit.errors.NotFoundError` for an unknown ticket and
`toolkit.errors.UnavailableError` when the system cannot be reached (the outbox retries those).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from toolkit.domain.tickets.models import (
    AttachmentRef,
    AttachmentUpload,
    NewEvent,
    Ticket,
    TicketDraft,
    TicketStatus,
    TimelineEvent,
)


@runtime_checkable
class TicketSystem(Protocol):
    def create(self, draft: TicketDraft) -> Ticket: ...

    def get(self, ticket_id: str) -> Ticket: ...

    def list_tickets(
        self, *, status: TicketStatus | None = None, service_id: str | None = None
    ) -> list[Ticket]: ...

    def active_ticket_ids(self) -> list[str]:
        """Tickets open or in progress, oldest first: the only ones the engine's periodic sweep looks at.
        Deferred tickets wait for the applicant and closed ones for nothing the sweep could start (their
        last notifications follow the closing event), so the sweep's cost follows the work in hand,
        not the ticket history. Implementations answer from an index on the status."""
        ...

    def timeline(self, ticket_id: str) -> list[TimelineEvent]: ...

    def post(self, ticket_id: str, event: NewEvent) -> TimelineEvent:
        """Append a timeline event (comment, step result, approval...). Idempotent by dedupe_key."""
        ...

    def attach(
        self, ticket_id: str, upload: AttachmentUpload, actor: str, dedupe_key: str | None = None
    ) -> AttachmentRef: ...

    def read_attachment(self, ticket_id: str, name: str) -> bytes: ...

    def transition(
        self, ticket_id: str, status: TicketStatus, actor: str, dedupe_key: str | None = None
    ) -> Ticket: ...

    def assign(self, ticket_id: str, assignee: str, actor: str) -> Ticket: ...

    def events_since(self, cursor: int, limit: int = 500) -> list[TimelineEvent]:
        """Events across all tickets with ``seq > cursor``, oldest first (the trigger's feed)."""
        ...


@runtime_checkable
class TicketSearch(Protocol):
    """What a ticket system may offer besides the port: one page of tickets, newest first, with the
    number that match. The portal's lists use it when the configured system has it (the embedded store
    does), and page over `TicketSystem.list_tickets` otherwise."""

    def find_tickets(self, *, requester: str | None = None, status: TicketStatus | None = None,
                     service_id: str | None = None, offset: int = 0, limit: int = 50) -> tuple[list[Ticket], int]: ...
