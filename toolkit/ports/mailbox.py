"""The `Mailbox` port: a mailbox spbe reads complaints from (`toolkit.complaints.mail`).

The IMAP adapter (`integrations.mail.imap`) is the one shipped; adapters are chosen by name through the
``spbe.mailboxes`` registry and all take the same constructor: ``settings`` and the mailbox settings. A session
is opened for one fetch round and closed after it (``with mailbox.session() as box``), so a server restart
between rounds costs nothing. Messages come back as raw RFC 5322 bytes: parsing, and refusing what is
malformed, is the core's job, the same for every adapter.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class RawMessage(BaseModel):
    """One message as the server holds it. ``uid`` is the server's id for marking it; ``size`` what the
    server says it is (a message over the limit is not downloaded, only refused and marked)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    uid: str = Field(pattern=r"^[0-9]{1,20}$")
    size: int = Field(ge=0)
    raw: bytes = b""


@runtime_checkable
class MailboxSession(Protocol):
    def unread(self, limit: int) -> list[RawMessage]:
        """Up to ``limit`` messages not yet marked done, oldest first; one over ``max_bytes`` comes with empty
        ``raw`` and its ``size``."""
        ...

    def mark_done(self, uid: str) -> None:
        """Mark the message handled (IMAP: ``\\Seen``), whether it became a ticket or was refused."""
        ...


@runtime_checkable
class Mailbox(Protocol):
    def session(self) -> AbstractContextManager[MailboxSession]:
        """Log in (`toolkit.errors.UnavailableError` when the server cannot be reached or refuses the login;
        the message never carries the password)."""
        ...
