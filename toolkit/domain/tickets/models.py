"""Ticket data as it crosses the `TicketSystem` port.

Every value is validated before it is stored, and the models are frozen: a ticket read from the
store is a snapshot, and changes go through the port as new timeline events so the history the
applicant sees is complete and append-only.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,119}$")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


def check_attachment_name(name: str) -> str:
    """Names end up as file names in the store and in documents: refuse anything that could walk
    out of a directory, hide a control character, or is not valid UTF-8 (Python hands non-UTF-8
    file names over as lone surrogates)."""
    if _SURROGATES.search(name):
        raise ValueError("attachment name is not valid UTF-8")
    if "/" in name or "\\" in name or ".." in name:
        raise ValueError("attachment name must not contain '/', '\\' or '..'")
    if not _SAFE_NAME.fullmatch(name):
        raise ValueError(
            "attachment name may use letters, digits, '.', '_', '-' and spaces, 1-120 characters"
        )
    return name


AttachmentName = Annotated[str, AfterValidator(check_attachment_name)]
Username = Annotated[str, Field(pattern=r"^[a-z][a-z0-9._-]{0,63}$")]


class TicketStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DEFERRED = "deferred"
    CLOSED = "closed"


class EventKind(StrEnum):
    OPENED = "opened"
    COMMENT = "comment"
    CHECKED = "checked"
    APPROVED = "approved"
    DEFERRED = "deferred"
    STEP_STARTED = "step_started"
    STEP_COMPLETED = "step_completed"
    STEP_FAILED = "step_failed"
    STEP_SKIPPED = "step_skipped"
    ATTACHMENT = "attachment"
    ASSIGNED = "assigned"
    STATUS = "status"
    NOTIFICATION = "notification"
    ESCALATED = "escalated"


_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AttachmentUpload(BaseModel):
    model_config = _FROZEN
    name: AttachmentName
    media_type: str = Field(default="application/octet-stream", pattern=r"^[a-z]+/[a-z0-9.+-]+$")
    content: bytes = Field(max_length=MAX_ATTACHMENT_BYTES)
    kind: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")


class AttachmentRef(BaseModel):
    model_config = _FROZEN
    name: AttachmentName
    media_type: str
    size: int
    sha256: str
    kind: str | None = None
    added_by: str
    added_at: datetime


class TicketDraft(BaseModel):
    """What an applicant submits; already validated against the service's requirements."""

    model_config = _FROZEN
    service_id: str
    title: str = Field(min_length=1, max_length=200)
    requester: Username
    fields: dict[str, Any]
    attachments: tuple[AttachmentUpload, ...] = ()
    sla_variant: str


class Ticket(BaseModel):
    model_config = _FROZEN
    id: str
    service_id: str
    title: str
    requester: str
    fields: dict[str, Any]
    attachments: tuple[AttachmentRef, ...] = ()
    status: TicketStatus
    assignee: str | None = None
    sla_variant: str
    created_at: datetime
    updated_at: datetime

    def attachment(self, name: str) -> AttachmentRef | None:
        return next((a for a in self.attachments if a.name == name), None)


class NewEvent(BaseModel):
    """An entry to append. ``dedupe_key`` makes the append idempotent: a second append with the
    same key returns the first event instead of adding another (the outbox relies on this)."""

    model_config = _FROZEN
    kind: EventKind
    actor: str
    text: str = Field(default="", max_length=20000)
    step_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    dedupe_key: str | None = Field(default=None, max_length=200)


class TimelineEvent(BaseModel):
    model_config = _FROZEN
    seq: int
    ticket_id: str
    at: datetime
    kind: EventKind
    actor: str
    text: str
    step_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
