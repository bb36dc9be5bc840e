"""The `DeskClient` port: what spbe needs from an outside service desk (Redmine, GLPI, a home-grown REST desk).

Why a port of its own beside `TicketSystem`: the outside desk is where people read and act, but it is not
where spbe keeps its decisions. spbe's structured journal (approvals, step results, the audit trail the engine
re-checks) stays in spbe's own store; the desk is a front door (what people did there is *read* and turned
into commands, which ask the same policy as the CLI) and a mirror (comments, documents, status written back
through an outbox). So a desk client only has to read issues and their changes, and write notes, files and
statuses idempotently. Nothing it reads is trusted: a change is a claim by a desk account that the intake maps
to a directory person and puts through the policy.

Idempotency: every write carries a ``marker`` (an outbox item's key), and each write looks for it first
(`find_marker`) and returns the earlier change's id when it is there; a desk that answered late therefore
never gets a duplicate, and callers need not check themselves. Clients put the marker
where the desk keeps it and people do not stumble on it (a trailing line of the note, a document comment).

Errors: `toolkit.errors.UnavailableError` when the desk cannot be reached, times out or answers 5xx (the
outbox and the poller retry those); `toolkit.errors.NotFoundError` for an unknown issue;
`toolkit.errors.ConfigurationError` for 401/403 and mapping problems (retrying will not help); every message
names the desk and the request, never a credential.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True, extra="forbid")
# A desk's own issue id (Redmine issue id, GLPI ticket id): the one rule for the port, webhooks and the CLI.
ISSUE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def valid_issue_key(key: str) -> bool:
    return ISSUE_KEY.fullmatch(key) is not None


class DeskIssue(BaseModel):
    """A desk ticket as the desk shows it now. Values are the desk's raw strings: the intake maps and validates
    them with the catalog's pydantic models, exactly as it validates the CLI's input."""

    model_config = _FROZEN
    key: str = Field(pattern=ISSUE_KEY.pattern)
    project: str  # Redmine project identifier, GLPI entity or category, the REST desk's queue
    tracker: str | None = None  # Redmine tracker, GLPI ITIL category, ...
    subject: str
    description: str = ""
    author: str  # the desk account (login) that opened it
    status: str  # the desk's status name
    fields: dict[str, str] = Field(default_factory=dict)  # desk custom field name -> raw value
    attachments: tuple[str, ...] = ()  # file names
    updated_at: datetime
    url: str | None = None  # where a person opens it in the desk


class DeskChange(BaseModel):
    """One thing that happened to a desk issue (a Redmine journal, a GLPI followup or validation, a REST desk
    event), in the desk's order. ``id`` is unique per desk and stable, so the same change seen by a webhook and
    by a poll is acted on once."""

    model_config = _FROZEN
    id: str = Field(pattern=r"^[A-Za-z0-9:._-]{1,128}$")
    issue_key: str
    at: datetime
    account: str  # the desk account that made the change
    note: str = ""
    status_from: str | None = None
    status_to: str | None = None
    field_changes: dict[str, tuple[str | None, str | None]] = Field(default_factory=dict)
    validation: str | None = None  # GLPI TicketValidation: "accepted" | "refused" | "waiting"
    marker: str | None = None  # set when spbe itself wrote this change (its outbox marker)


class DeskAccount(BaseModel):
    model_config = _FROZEN
    login: str
    name: str = ""
    active: bool = True


class DeskCapabilities(BaseModel):
    """What `spbe desk check` compares with the mapping: the desk's statuses, custom fields, projects and
    accounts as the spbe account can see them."""

    model_config = _FROZEN
    account: str  # who the client is logged in as
    projects: tuple[str, ...]
    trackers: tuple[str, ...] = ()
    statuses: tuple[str, ...]
    fields: tuple[str, ...]
    accounts: tuple[DeskAccount, ...]
    # What the client needs and the bot account lacks, as the desk names it ("spbe-uji: add_issue_notes");
    # empty when nothing is missing or the desk does not say.
    missing_rights: tuple[str, ...] = ()


@runtime_checkable
class DeskClient(Protocol):
    """One outside desk. Implementations live in `integrations/desks/` and are chosen by the desk mapping's
    ``kind`` through the registry group ``spbe.desks``."""

    name: str  # the desk's name in spbe's configuration (``redmine``, ``helpdesk-pemda``...)

    def capabilities(self) -> DeskCapabilities: ...

    def issue(self, key: str) -> DeskIssue: ...

    def changes(self, key: str) -> list[DeskChange]:
        """Every change of one issue, oldest first (the issue's creation is not a change)."""
        ...

    def updated_since(self, since: datetime, projects: tuple[str, ...], limit: int = 100) -> list[DeskIssue]:
        """Issues of these projects updated at or after ``since``, oldest update first, at most ``limit``.
        At or after: desks keep seconds, and a record written in the same second as the last poll must be
        seen again rather than lost (the poller dedupes by change id)."""
        ...

    def read_attachment(self, key: str, name: str) -> bytes: ...

    def add_note(self, key: str, text: str, marker: str) -> str:
        """Append a note; returns the desk's id of the change."""
        ...

    def attach(self, key: str, name: str, media_type: str, content: bytes, marker: str) -> str: ...

    def set_status(self, key: str, status: str, marker: str, note: str = "") -> str: ...

    def find_marker(self, key: str, marker: str) -> str | None:
        """The desk's id of what spbe already wrote with this marker, if anything: checked before a re-post."""
        ...


@runtime_checkable
class DeskSnapshot(Protocol):
    """What a desk client may offer besides the port: an issue and its changes from one read. The intake uses it
    when the client has it (a Redmine request costs ~0.1 s; a webhook's approval waits on it)."""

    def issue_and_changes(self, key: str) -> tuple[DeskIssue, list[DeskChange]]: ...
