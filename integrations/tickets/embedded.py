"""The embedded service desk: the default `TicketSystem`, on one SQLite file in WAL mode.

Every write is one short ``BEGIN IMMEDIATE`` transaction: a ticket and its ``opened`` event, an
attachment and its event, a status change and its event are stored together or not at all, and
threads and processes on one machine can share the file. Taking the write lock up front (rather
than upgrading a read) means a busy file waits ``busy_timeout_ms`` and then fails cleanly with
`UnavailableError`, which the outbox retries. Event ``seq`` is allocated under that lock, so events
commit in ``seq`` order and the trigger's cursor over `events_since` never skips a late commit.

Ticket ids are ``SPBE-<year>-<5 digit sequence>``; the year is the UTC year of the creation time
and the sequence restarts each year. The file holds applicants' personal data (NIK, addresses), so
it is created readable by its owner only; SQLite gives its ``-wal`` and ``-shm`` files the same mode.
Attachment content is encrypted at rest (`toolkit.at_rest`, key ``settings.vault.key``): the file holds
only ciphertext of it, and `read_attachment` is the way to the plaintext; plaintext stored by an older
version is read as it is and sealed when the store opens with a key (`EmbeddedDb.seal_legacy_attachments`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field

from integrations.queue.writer_gate import WriterGate
from integrations.tickets.embedded_db import _EVENT_COLUMNS, _SCHEMA, _TICKET_COLUMNS, EmbeddedDb, attachment_context
from integrations.tickets.embedded_rows import RowModels, ref, to_json
from toolkit.adapter_options import AdapterOptions
from toolkit.domain.tickets.models import (
    AttachmentRef,
    AttachmentUpload,
    EventKind,
    NewEvent,
    Ticket,
    TicketDraft,
    TicketStatus,
    TimelineEvent,
)
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError
from toolkit.private_files import private_dir, private_file
from toolkit.settings import Settings

# These kinds describe changes to the ticket row itself; they are written only by the method that
# makes the change, so the timeline can never disagree with the ticket's status or assignee.
# How the applicant reads a status on the timeline.
_STATUS_ID = {"open": "baru", "in_progress": "diproses", "deferred": "ditunda", "closed": "ditutup"}
_RESERVED_KINDS = frozenset({EventKind.OPENED, EventKind.STATUS, EventKind.ASSIGNED, EventKind.ATTACHMENT})
# Primary result codes that mean "try again later": BUSY, LOCKED, IOERR, CANTOPEN, PROTOCOL.


def _postable(event: NewEvent) -> None:
    if event.kind in _RESERVED_KINDS:
        raise InvalidInputError(
            f"'{event.kind}' events are recorded by create/attach/transition/assign, not posted",
            errors=[("kind", "reserved")],
        )


class EmbeddedOptions(AdapterOptions):
    """``tickets.options`` of embedded (``clock``, for tests only, is passed through undeclared)."""

    db_name: str = Field(default="tickets.db", pattern=r"^[A-Za-z0-9._-]{1,128}$",
                         description="the SQLite file, under state_dir")
    busy_timeout_ms: int = Field(default=2000, ge=0, le=600_000)


class EmbeddedTicketStore(EmbeddedDb):
    Options = EmbeddedOptions

    def __init__(self, *, settings: Settings, db_name: str = "tickets.db", busy_timeout_ms: int = 2000,
                 clock: Callable[[], datetime] | None = None) -> None:
        """``clock`` exists for tests of the yearly sequence and of SLA timing; it must return an
        aware datetime."""
        self.path = Path(settings.state_dir) / db_name
        self._settings, self._at_rest = settings, None
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._rows = RowModels()  # each exact row validated once (embedded_rows)
        self._gate = WriterGate(self._busy_timeout_ms / 1000)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[sqlite3.Connection] = []
        # Connections inherited through fork() must never be closed by the child: closing could
        # checkpoint or delete the parent's WAL. They are kept referenced here instead.
        self._inherited: list[sqlite3.Connection] = []
        with self._guard():
            private_dir(self.path.parent)
            private_file(self.path)
        with self._tx() as db:
            for statement in _SCHEMA.split(";"):
                db.execute(statement)
        self.seal_legacy_attachments()

    # -- the TicketSystem port ------------------------------------------------------------------
    def create(self, draft: TicketDraft) -> Ticket:
        names = [a.name for a in draft.attachments]
        if len(set(names)) != len(names):
            raise InvalidInputError("two attachments share a name",
                                    errors=[("attachments", "duplicate name")])
        with self._tx() as db:
            now = self._now()
            (num,) = db.execute("SELECT COALESCE(MAX(num), 0) + 1 FROM tickets WHERE year = ?",
                                (now.year,)).fetchone()
            ticket_id = f"SPBE-{now.year}-{num:05d}"
            db.execute(
                f"INSERT INTO tickets (year, num, {_TICKET_COLUMNS})"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                (now.year, num, ticket_id, draft.service_id, draft.title, draft.requester,
                 to_json(draft.fields), TicketStatus.OPEN.value, draft.sla_variant, now.isoformat(),
                 now.isoformat()),
            )
            for upload in draft.attachments:
                self._insert_attachment(db, ticket_id, upload, draft.requester, now)
            opened = NewEvent(kind=EventKind.OPENED, actor=draft.requester, text=draft.title,
                              data={"service_id": draft.service_id, "sla_variant": draft.sla_variant,
                                    "attachments": names})
            self._insert_event(db, ticket_id, opened, now)
            return self._ticket(db, ticket_id)

    def get(self, ticket_id: str) -> Ticket:
        with self._tx("DEFERRED") as db:
            return self._ticket(db, ticket_id)

    def list_tickets(
        self, *, status: TicketStatus | None = None, service_id: str | None = None
    ) -> list[Ticket]:
        wanted = {"status = ?": None if status is None else TicketStatus(status).value,
                  "service_id = ?": service_id}
        active = {clause: value for clause, value in wanted.items() if value is not None}
        where = ("WHERE " + " AND ".join(active)) if active else ""
        with self._tx("DEFERRED") as db:
            return self._tickets(db, where, tuple(active.values()))

    def find_tickets(self, *, requester: str | None = None, status: TicketStatus | None = None,
                     service_id: str | None = None, offset: int = 0, limit: int = 50) -> tuple[list[Ticket], int]:
        """One page, newest first, and how many match: the indexes answer the count and the page's ids,
        and only the page's tickets are read (a list page with 20 000 tickets stays cheap)."""
        wanted = {"requester = ?": requester, "status = ?": None if status is None else TicketStatus(status).value,
                  "service_id = ?": service_id}
        active = {clause: value for clause, value in wanted.items() if value is not None}
        where = ("WHERE " + " AND ".join(active)) if active else ""
        args = tuple(active.values())
        with self._tx("DEFERRED") as db:
            (total,) = db.execute(f"SELECT COUNT(*) FROM tickets {where}", args).fetchone()  # noqa: S608
            ids = [str(row[0]) for row in db.execute(
                f"SELECT id FROM tickets {where} ORDER BY year DESC, num DESC LIMIT ? OFFSET ?",  # noqa: S608
                (*args, max(0, limit), max(0, offset)))]
            if not ids:
                return [], int(total)
            found = {t.id: t for t in self._tickets(db, f"WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))}
        return [found[i] for i in ids], int(total)

    def active_ticket_ids(self) -> list[str]:
        with self._tx("DEFERRED") as db:  # the status index (tickets_filter) answers it
            rows = db.execute("SELECT id FROM tickets WHERE status IN (?, ?) ORDER BY year, num",
                              (TicketStatus.OPEN.value, TicketStatus.IN_PROGRESS.value)).fetchall()
        return [str(row[0]) for row in rows]

    def ticket_counts(self) -> dict[tuple[str, str], int]:
        """Tickets per (service, status), for the metrics endpoint: the filter index answers it without
        reading a single ticket, closed ones included."""
        with self._tx("DEFERRED") as db:
            rows = db.execute("SELECT service_id, status, COUNT(*) AS n FROM tickets GROUP BY service_id, status")
            return {(r["service_id"], r["status"]): int(r["n"]) for r in rows}

    def timeline(self, ticket_id: str) -> list[TimelineEvent]:
        with self._tx("DEFERRED") as db:
            self._require(db, ticket_id)
            return self._events(db, ticket_id)

    def snapshot(self, ticket_id: str) -> tuple[Ticket, list[TimelineEvent]]:
        """`get` and `timeline` from one read transaction (so they agree with each other): what the engine
        reads before it runs a job and again before it enqueues the next one."""
        with self._tx("DEFERRED") as db:
            return self._ticket(db, ticket_id), self._events(db, ticket_id)

    def last_seq(self, ticket_id: str) -> int:
        """The seq of the ticket's newest event (0: none, or no such ticket), in one indexed statement. Every
        change this store makes to a ticket records an event, so an unchanged value means an unchanged
        ticket and timeline: the engine checks it before reusing a `snapshot` it read moments ago."""
        with self._guard():
            row = self._conn().execute("SELECT MAX(seq) FROM events WHERE ticket_id = ?", (ticket_id,)).fetchone()
        return int(row[0] or 0)

    def snapshots(self, ticket_ids: Sequence[str]) -> dict[str, tuple[Ticket, list[TimelineEvent]]]:
        """`snapshot` of several tickets from one read transaction (a worker's batch: three statements for
        all of them instead of a transaction each); a ticket that does not exist is left out."""
        ids = list(dict.fromkeys(ticket_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._tx("DEFERRED") as db:
            tickets = self._tickets(db, f"WHERE id IN ({marks})", tuple(ids))
            query = f"SELECT {_EVENT_COLUMNS} FROM events WHERE ticket_id IN ({marks}) ORDER BY seq"  # noqa: S608
            rows = db.execute(query, tuple(ids)).fetchall()
        events: dict[str, list[TimelineEvent]] = {t.id: [] for t in tickets}
        for row in rows:
            events[row["ticket_id"]].append(self._rows.event(row))
        return {t.id: (t, events[t.id]) for t in tickets}

    def last_seqs(self, ticket_ids: Sequence[str]) -> dict[str, int]:
        """`last_seq` of several tickets in one statement (0 for a ticket without events or unknown)."""
        ids = list(dict.fromkeys(ticket_ids))
        if not ids:
            return {}
        query = f"SELECT ticket_id, MAX(seq) FROM events WHERE ticket_id IN ({','.join('?' * len(ids))})" \
                " GROUP BY ticket_id"  # noqa: S608
        with self._guard():
            rows = self._conn().execute(query, tuple(ids)).fetchall()
        found = {str(r[0]): int(r[1] or 0) for r in rows}
        return {tid: found.get(tid, 0) for tid in ids}

    def post(self, ticket_id: str, event: NewEvent) -> TimelineEvent:
        """Idempotent by ``dedupe_key``: the first event stored under a key is returned to every
        later caller, even concurrent ones in other processes."""
        _postable(event)
        with self._tx() as db:
            self._require(db, ticket_id)
            row = self._insert_event(db, ticket_id, event, self._now())
        return self._rows.event(row)

    def post_many(self, posts: Sequence[tuple[str, NewEvent]]) -> int:
        """Several `post`s, in order, in one write transaction: the outbox delivers a round of job results
        with one commit instead of one each. All or nothing (a missing ticket or a reused dedupe key fails
        the whole call, and nothing is stored); each event is idempotent by its ``dedupe_key`` as in `post`.
        Returns how many events were new."""
        for _, event in posts:
            _postable(event)
        if not posts:
            return 0
        with self._tx() as db:
            now = self._now()
            touched: dict[str, bool] = {}
            stored = 0
            for ticket_id, event in posts:
                if ticket_id not in touched:
                    self._require(db, ticket_id)
                    touched[ticket_id] = False
                if isinstance(self._add_event(db, ticket_id, event, now), int):
                    touched[ticket_id], stored = True, stored + 1
            db.executemany("UPDATE tickets SET updated_at = ? WHERE id = ?",
                           [(now.isoformat(), ticket_id) for ticket_id, new in touched.items() if new])
        return stored

    def attach(
        self, ticket_id: str, upload: AttachmentUpload, actor: str, dedupe_key: str | None = None
    ) -> AttachmentRef:
        """Stores the content and an ``attachment`` event together. Names are unique per ticket and
        never overwritten: the same content again is a no-op (a retried delivery), different
        content under an existing name is a `ConflictError` (evidence must not change silently)."""
        digest = hashlib.sha256(upload.content).hexdigest()
        sealed = self._sealer().seal(upload.content, attachment_context(ticket_id, upload.name))  # outside the lock
        with self._tx() as db:
            self._require(db, ticket_id)
            earlier = self._by_key(db, dedupe_key, ticket_id, EventKind.ATTACHMENT)
            if earlier is not None and json.loads(earlier["data"]).get("name") != upload.name:
                raise ConflictError(f"dedupe key '{dedupe_key}' was used for another attachment",
                                    dedupe_key=dedupe_key, ticket=ticket_id)
            existing = self._attachment(db, ticket_id, upload.name)
            if existing is not None:
                if existing["sha256"] != digest:
                    raise ConflictError(
                        f"ticket {ticket_id} already has an attachment named '{upload.name}'"
                        " with other content",
                        ticket=ticket_id, name=upload.name,
                    )
                return ref(existing)
            now = self._now()
            self._insert_attachment(db, ticket_id, upload, actor, now, sealed)
            self._insert_event(db, ticket_id, NewEvent(
                kind=EventKind.ATTACHMENT, actor=actor, text=upload.name, dedupe_key=dedupe_key,
                data={"name": upload.name, "sha256": digest, "size": len(upload.content),
                      "media_type": upload.media_type, "kind": upload.kind},
            ), now)
            row = self._attachment(db, ticket_id, upload.name)
        assert row is not None
        return ref(row)

    def read_attachment(self, ticket_id: str, name: str) -> bytes:
        with self._tx("DEFERRED") as db:
            self._require(db, ticket_id)
            row = db.execute(
                "SELECT content, sha256 FROM attachments WHERE ticket_id = ? AND name = ?", (ticket_id, name)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"ticket {ticket_id} has no attachment named '{name}'",
                                ticket=ticket_id, name=name)
        return self._plaintext(ticket_id, name, bytes(row["content"]), row["sha256"])

    def transition(
        self, ticket_id: str, status: TicketStatus, actor: str, dedupe_key: str | None = None
    ) -> Ticket:
        """Records a ``status`` event with ``from``/``to`` and moves the ticket in one transaction.
        Moving to the status the ticket already has records nothing. Whether a move is allowed is
        the workflow's decision, not the store's."""
        status = TicketStatus(status)
        with self._tx() as db:
            current = self._require(db, ticket_id)
            replayed = self._by_key(db, dedupe_key, ticket_id, EventKind.STATUS) is not None
            if not replayed and current["status"] != status:
                now = self._now()
                self._insert_event(db, ticket_id, NewEvent(
                    kind=EventKind.STATUS, actor=actor, dedupe_key=dedupe_key,
                    text=f"Status tiket: {_STATUS_ID[current['status']]} → {_STATUS_ID[status.value]}",
                    data={"from": current["status"], "to": status.value},
                ), now)
                db.execute("UPDATE tickets SET status = ? WHERE id = ?", (status.value, ticket_id))
            return self._ticket(db, ticket_id)

    def assign(self, ticket_id: str, assignee: str, actor: str) -> Ticket:
        with self._tx() as db:
            current = self._require(db, ticket_id)
            if current["assignee"] != assignee:
                self._insert_event(db, ticket_id, NewEvent(
                    kind=EventKind.ASSIGNED, actor=actor, text=assignee,
                    data={"from": current["assignee"], "to": assignee},
                ), self._now())
                db.execute("UPDATE tickets SET assignee = ? WHERE id = ?", (assignee, ticket_id))
            return self._ticket(db, ticket_id)

    def events_since(self, cursor: int, limit: int = 500) -> list[TimelineEvent]:
        if limit < 1:
            raise InvalidInputError("limit must be at least 1", errors=[("limit", "must be >= 1")])
        with self._tx("DEFERRED") as db:
            query = f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?"  # noqa: S608
            rows = db.execute(query, (int(cursor), limit)).fetchall()
        return [self._rows.event(row) for row in rows]
