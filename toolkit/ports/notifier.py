"""The `Notifier` port: tell people something happened on a ticket (an escalation, a notice).

The default adapter writes the notification on the ticket's own timeline (the service desk is where
everyone already looks); the SMTP adapter mails it. Adapters are chosen by ``settings.notifier``
through the ``spbe.notifiers`` registry and all take the same constructor: ``settings``, ``tickets``
and their own options. A notification's text is already rendered, in Bahasa Indonesia, and already
stripped of anything the recipients may not see (a reporter's identity).
"""

from __future__ import annotations

import re
from typing import Annotated, Protocol, runtime_checkable

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_SINGLE_LINE = re.compile(r"^[^\x00-\x1f\x7f]*$")


def _single_line(value: str) -> str:
    if not _SINGLE_LINE.fullmatch(value):
        raise ValueError("must be one line without control characters (mail header injection)")
    return value


class Recipient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    username: str
    name: Annotated[str, AfterValidator(_single_line)]
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    role: str | None = None


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    ticket_id: str
    key: str = Field(max_length=180, description="stable id: a re-sent notification can be recognised")
    subject: Annotated[str, AfterValidator(_single_line), Field(min_length=1, max_length=200)]
    body: str = Field(min_length=1, max_length=20000)
    recipients: tuple[Recipient, ...] = Field(min_length=1)
    step_id: str | None = None


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True)
    channel: str
    delivered: tuple[str, ...] = ()
    skipped: tuple[str, ...] = Field(default=(), description="recipients this channel cannot reach (no e-mail)")


@runtime_checkable
class Notifier(Protocol):
    channel: str

    def send(self, notification: Notification) -> Delivery:
        """Deliver, or raise `toolkit.errors.UnavailableError` when the channel is down (retried later)."""
        ...
