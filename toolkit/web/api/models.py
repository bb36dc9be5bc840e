"""Request and response bodies of the API. Requests are strict (unknown keys refused, lengths bounded);
the command layer then applies the same validation the CLI gets (free-text rules, the catalog's field
types). Responses carry no secret but the one a reveal returns, and no redacted value in clear."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from toolkit.domain.catalog.models import AttachmentSpec, FieldSpec
from toolkit.domain.tickets.models import AttachmentRef, Ticket, TicketStatus, TimelineEvent

Text = Annotated[str, StringConstraints(max_length=4000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Me(_Strict):
    user: str
    auth: str
    name: str
    roles: list[str]


class ServiceSummary(_Strict):
    id: str
    name: str
    provider: str
    sla: list[str] = Field(description="the SLA variants' labels")


class StepOut(_Strict):
    id: str
    title: str
    actor: str
    kind: str
    purpose: str | None = None


class ServiceDetail(ServiceSummary):
    fields: list[FieldSpec]
    attachments: list[AttachmentSpec]
    steps: list[StepOut]
    cost: str


class TicketSummary(_Strict):
    id: str
    service_id: str
    title: str
    requester: str
    status: TicketStatus
    assignee: str | None
    sla_variant: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, ticket: Ticket) -> TicketSummary:
        return cls(**ticket.model_dump(include=set(cls.model_fields)))


class TicketPage(_Strict):
    total: int
    offset: int
    limit: int
    items: list[TicketSummary]


class FileOut(_Strict):
    name: str
    media_type: str
    size: int
    sha256: str
    kind: str | None
    added_by: str
    added_at: datetime

    @classmethod
    def of(cls, ref: AttachmentRef) -> FileOut:
        return cls(**ref.model_dump())


class StepStateOut(_Strict):
    id: str
    title: str
    actor: str
    kind: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    late: bool


class SlaOut(_Strict):
    variant_id: str
    label: str
    deadline: datetime
    remaining_s: float
    paused_s: float
    breached: bool


class EventOut(_Strict):
    seq: int
    at: datetime
    kind: str
    actor: str
    text: str
    step_id: str | None

    @classmethod
    def of(cls, event: TimelineEvent) -> EventOut:
        return cls(seq=event.seq, at=event.at, kind=event.kind.value, actor=event.actor, text=event.text,
                   step_id=event.step_id)


class TicketDetail(_Strict):
    ticket: TicketSummary
    fields: dict[str, Any]
    current_step: str | None
    steps: list[StepStateOut]
    sla: SlaOut
    timeline: list[EventOut]
    attachments: list[FileOut]
    documents: list[FileOut]
    outbox_pending: int


class ReasonIn(_Strict):
    reason: Text


class NoteIn(_Strict):
    note: Text | None = None


class AdvanceIn(_Strict):
    step: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    note: Text


class DecideIn(_Strict):
    set: dict[Annotated[str, StringConstraints(max_length=64)], Annotated[str, StringConstraints(max_length=500)]] = \
        Field(min_length=1, max_length=20, description="branch fields and their values, as `spbe ticket decide --set`")
    reason: Text


class ReturnIn(_Strict):
    missing: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(min_length=1, max_length=50)
    note: Text


class CommentIn(_Strict):
    text: Text


class AssignIn(_Strict):
    assignee: Annotated[str, StringConstraints(min_length=1, max_length=64)]


When = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class ScheduleProposeIn(_Strict):
    """The jadwal pelaksanaan the team proposes, as ``spbe ticket schedule propose`` takes it."""

    start: When = Field(description="ISO date and time, e.g. 2026-12-10T09:00 (read in the service's time zone, "
                                    "WITA for Gorontalo) or with an offset, 2026-12-10T09:00+08:00")
    end: When = Field(description="the end of the installation window, same form as start")
    note: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, description="what the team brings or needs on site (one line)")


class ScheduleRecordOut(_Strict):
    """The schedule in force: the latest proposal and its answer (the command layer's `Recorded`)."""

    seq: int
    start: datetime
    end: datetime
    zone: str
    note: str
    by: str
    at: datetime
    status: str = Field(description="proposed, confirmed or rejected")
    answered_by: str | None
    answered_at: datetime | None
    reason: str | None


class ScheduleOut(_Strict):
    """What a schedule operation did: ``acted`` False when an identical answer was already recorded."""

    ticket_id: str
    acted: bool
    zone: str = Field(description="IANA zone the schedule is typed and shown in")
    schedule: ScheduleRecordOut

    @classmethod
    def of(cls, outcome: Any) -> ScheduleOut:
        return cls.model_validate(outcome.model_dump())


class JobOut(_Strict):
    id: int
    ticket_id: str
    step_id: str
    action: str
    state: str
    attempt: int
    error: str | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested: bool = False


class LogLine(_Strict):
    seq: int
    line: str


class SecretRecordOut(_Strict):
    name: str
    masked: str
    recipient: str | None
    status: str
    created_at: datetime | None
    expires_at: datetime | None
    revealed_at: datetime | None


class SecretRevealOut(_Strict):
    ticket_id: str
    name: str
    secret: str
    attributes: dict[str, Any]
    expires_at: datetime | None
