"""The embedded service desk on PostgreSQL (``tickets.kind = "postgres"``): the ticket store a province or a
national desk shares between every `spbe serve` process on every host (issue 19).

The same contract as `integrations.tickets.embedded.EmbeddedTicketStore`, tested by the same suite
(tests/contracts/test_ticket_system.py): ids ``SPBE-<year>-<5 digit sequence>`` (the UTC year of creation,
the sequence restarting each year) never shared under concurrent creates from several processes; a ticket
and its ``opened`` event, an attachment and its event, a status change and its event stored together or not
at all; events idempotent by ``dedupe_key`` even across processes; attachment content sealed at rest
(`toolkit.at_rest`, key ``settings.vault.key``) with the plaintext's SHA-256 recorded; events committed in
``seq`` order (`events_since`). How writes are serialised and reads made consistent: `postgres_rows`.

The tables are revision 0003_tickets's, made by ``spbe store migrate-schema`` (`migrate_schema`), never at
run time; a database without them is a `ConfigurationError` naming that command at the first use. The DSN
is the secret named by ``tickets.options.dsn_secret``; the pool is the process's one for it
(`integrations.postgres.pool`), shared with the queue and the state stores on the same database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from psycopg.rows import dict_row
from pydantic import Field

from integrations.postgres.pool import PostgresOptions, database_from_settings
from integrations.tickets.embedded import _STATUS_ID, _postable
from integrations.tickets.embedded_db import attachment_context
from integrations.tickets.embedded_rows import to_json
from integrations.tickets.postgres_rows import EVENT_COLUMNS, Cursor, PgRowModels, PgTicketDb, Row, ref
from toolkit.at_rest import Sealer, is_sealed
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
from toolkit.errors import ConfigurationError, ConflictError, IntegrityError, InvalidInputError, NotFoundError
from toolkit.settings import Settings

# The next seq is chosen in the statement, under the writer lock (postgres_rows): commits in seq order.
_INSERT_EVENT = ("INSERT INTO ticket_events (seq, ticket_id, at, kind, actor, text, step_id, data, dedupe_key) "  # noqa: S608
                 "SELECT COALESCE(MAX(seq), 0) + 1, %s, %s, %s, %s, %s, %s, %s, %s FROM ticket_events "
                 f"ON CONFLICT (dedupe_key) DO NOTHING RETURNING {EVENT_COLUMNS}")
# post_many's events, seqs after the highest in the posts' order (``WITH ORDINALITY``), and the touched
# tickets' ``updated_at``, in one statement under the writer lock. No ``ON CONFLICT``: the dedupe keys were
# checked under the lock, so a unique violation can only come from a writer that skipped it, and then the
# whole batch fails (and is retried by the outbox) rather than leave a gap in the seqs.
_INSERT_EVENTS = """
WITH added AS (
    INSERT INTO ticket_events (seq, ticket_id, at, kind, actor, text, step_id, data, dedupe_key)
    SELECT top.seq + e.n, e.ticket_id, %(at)s, e.kind, e.actor, e.text, e.step_id, e.data, e.dedupe_key
    FROM unnest(%(ticket)b::text[], %(kind)b::text[], %(actor)b::text[], %(text)b::text[], %(step)b::text[],
                %(data)b::text[], %(key)b::text[]) WITH ORDINALITY AS e(ticket_id, kind, actor, text, step_id, data,
                                                                         dedupe_key, n),
         (SELECT COALESCE(MAX(seq), 0) AS seq FROM ticket_events) AS top
    RETURNING ticket_id
)
UPDATE tickets SET updated_at = %(at)s WHERE id IN (SELECT ticket_id FROM added)
"""


class PostgresTicketOptions(PostgresOptions):
    """``tickets.options`` of postgres (``clock``, for tests only, is passed through undeclared)."""

    busy_timeout_ms: int = Field(default=2000, ge=0, le=600_000,
                                 description="how long a write waits for another writer before it is retried later")


class PostgresTicketStore(PgTicketDb):
    Options = PostgresTicketOptions

    def __init__(self, *, settings: Settings, dsn_secret: str = "postgres_dsn", pool_min: int = 1,  # noqa: S107 - a name
                 pool_max: int = 10, connect_timeout_s: float = 10.0, busy_timeout_ms: int = 2000,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._settings = settings
        self._at_rest: Sealer | None = None
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._rows = PgRowModels()
        self.db = database_from_settings(settings, "ticket store", dsn_secret=dsn_secret, pool_min=pool_min,
                                         pool_max=pool_max, connect_timeout_s=connect_timeout_s)

    def migrate_schema(self) -> str:
        """Bring the database to the schema's head (``spbe store migrate-schema``); returns the revision.
        Alembic is imported here only: a worker that never migrates does not load it."""
        from integrations.postgres.migrate import migrate

        return migrate(self.db.dsn)

    def __enter__(self) -> PostgresTicketStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the TicketSystem port ------------------------------------------------------------------
    def create(self, draft: TicketDraft) -> Ticket:
        names = [a.name for a in draft.attachments]
        if len(set(names)) != len(names):
            raise InvalidInputError("two attachments share a name", errors=[("attachments", "duplicate name")])
        with self._write() as cur:
            now = self._now()
            cur.execute("SELECT COALESCE(MAX(num), 0) + 1 AS n FROM tickets WHERE year = %s", (now.year,))
            num = int(cur.fetchone()["n"])  # type: ignore[index]
            ticket_id = f"SPBE-{now.year}-{num:05d}"
            cur.execute(
                "INSERT INTO tickets (year, num, id, service_id, title, requester, fields, status, assignee,"
                " sla_variant, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL, %s, %s, %s)",
                (now.year, num, ticket_id, draft.service_id, draft.title, draft.requester, to_json(draft.fields),
                 TicketStatus.OPEN.value, draft.sla_variant, now.isoformat(), now.isoformat()))
            for upload in draft.attachments:
                self._insert_attachment(cur, ticket_id, upload, draft.requester, now)
            self._insert_event(cur, ticket_id, NewEvent(
                kind=EventKind.OPENED, actor=draft.requester, text=draft.title,
                data={"service_id": draft.service_id, "sla_variant": draft.sla_variant, "attachments": names}), now)
            return self._ticket(cur, ticket_id)

    def get(self, ticket_id: str) -> Ticket:
        with self._read() as cur:
            return self._ticket(cur, ticket_id)

    def list_tickets(self, *, status: TicketStatus | None = None, service_id: str | None = None) -> list[Ticket]:
        where, args = _filters(status=status, service_id=service_id)
        with self._read() as cur:
            return self._tickets(cur, where, args)

    def find_tickets(self, *, requester: str | None = None, status: TicketStatus | None = None,
                     service_id: str | None = None, offset: int = 0, limit: int = 50) -> tuple[list[Ticket], int]:
        """One page, newest first, and how many match (only the page's tickets are read)."""
        where, args = _filters(requester=requester, status=status, service_id=service_id)
        with self._read() as cur:
            cur.execute(f"SELECT COUNT(*) AS n FROM tickets {where}", args)  # noqa: S608
            total = int(cur.fetchone()["n"])  # type: ignore[index]
            cur.execute(f"SELECT id FROM tickets {where} ORDER BY year DESC, num DESC LIMIT %s OFFSET %s",  # noqa: S608
                        (*args, max(0, limit), max(0, offset)))
            ids = [str(row["id"]) for row in cur.fetchall()]
            if not ids:
                return [], total
            found = {t.id: t for t in self._tickets(cur, "WHERE id = ANY(%s)", (ids,))}
        return [found[i] for i in ids], total

    def active_ticket_ids(self) -> list[str]:
        with self._plain() as conn:
            rows = conn.execute("SELECT id FROM tickets WHERE status IN (%s, %s) ORDER BY year, num",
                                (TicketStatus.OPEN.value, TicketStatus.IN_PROGRESS.value)).fetchall()
        return [str(row[0]) for row in rows]

    def ticket_counts(self) -> dict[tuple[str, str], int]:
        """Tickets per (service, status), for the metrics endpoint."""
        with self._plain() as conn:
            rows = conn.execute("SELECT service_id, status, COUNT(*) FROM tickets GROUP BY service_id, status")
            return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    def timeline(self, ticket_id: str) -> list[TimelineEvent]:
        with self._read() as cur:
            self._require(cur, ticket_id)
            return self._events(cur, ticket_id)

    def snapshot(self, ticket_id: str) -> tuple[Ticket, list[TimelineEvent]]:
        """`get` and `timeline` from one snapshot (they agree with each other)."""
        with self._read() as cur:
            return self._ticket(cur, ticket_id), self._events(cur, ticket_id)

    def last_seq(self, ticket_id: str) -> int:
        """The seq of the ticket's newest event (0: none, or no such ticket); every change records an event."""
        with self._plain() as conn:
            row = conn.execute("SELECT MAX(seq) FROM ticket_events WHERE ticket_id = %s", (ticket_id,)).fetchone()
        return int(row[0] or 0) if row else 0

    def snapshots(self, ticket_ids: Sequence[str]) -> dict[str, tuple[Ticket, list[TimelineEvent]]]:
        """`snapshot` of several tickets from one snapshot; a ticket that does not exist is left out."""
        ids = list(dict.fromkeys(ticket_ids))
        if not ids:
            return {}
        with self._read() as cur:
            tickets = self._tickets(cur, "WHERE id = ANY(%b)", (ids,))
            cur.execute(f"SELECT {EVENT_COLUMNS} FROM ticket_events WHERE ticket_id = ANY(%b) ORDER BY seq",  # noqa: S608
                        (ids,))
            rows = cur.fetchall()
        events: dict[str, list[TimelineEvent]] = {t.id: [] for t in tickets}
        for row in rows:
            events[row["ticket_id"]].append(self._rows.event(row))
        return {t.id: (t, events[t.id]) for t in tickets}

    def last_seqs(self, ticket_ids: Sequence[str]) -> dict[str, int]:
        """`last_seq` of several tickets in one statement (0 for a ticket without events or unknown)."""
        ids = list(dict.fromkeys(ticket_ids))
        if not ids:
            return {}
        with self._plain() as conn:
            rows = conn.execute("SELECT ticket_id, MAX(seq) FROM ticket_events WHERE ticket_id = ANY(%b) "
                                "GROUP BY ticket_id", (ids,)).fetchall()
        found = {str(r[0]): int(r[1] or 0) for r in rows}
        return {tid: found.get(tid, 0) for tid in ids}

    def post(self, ticket_id: str, event: NewEvent) -> TimelineEvent:
        """Idempotent by ``dedupe_key``: the first event stored under a key is returned to every later caller."""
        _postable(event)
        with self._write() as cur:
            self._require(cur, ticket_id)
            row = self._insert_event(cur, ticket_id, event, self._now())
        return self._rows.event(row)

    def post_many(self, posts: Sequence[tuple[str, NewEvent]]) -> int:
        """Several `post`s in one transaction, all or nothing; returns how many events were new. Under the
        writer lock it runs four statements whatever the number of posts (the outbox posts a round's ~100
        results at once, and every desk writer of every process waits for this lock): the tickets, the
        events already stored under the posts' dedupe keys, then every new event (consecutive seqs after
        the highest, in the posts' order) and the touched tickets' ``updated_at`` in one statement. The
        checks run in the posts' order, so the first missing ticket or reused key raises as `post` would."""
        for _, event in posts:
            _postable(event)
        if not posts:
            return 0
        with self._write() as cur:
            now = self._now()
            ids = list(dict.fromkeys(ticket_id for ticket_id, _ in posts))
            cur.execute("SELECT id FROM tickets WHERE id = ANY(%b)", (ids,))
            present = {row["id"] for row in cur.fetchall()}
            keys = list({event.dedupe_key for _, event in posts if event.dedupe_key is not None})
            stored_keys: dict[str, tuple[str, str]] = {}
            if keys:
                cur.execute("SELECT dedupe_key, ticket_id, kind FROM ticket_events WHERE dedupe_key = ANY(%b)",
                            (keys,))
                stored_keys = {row["dedupe_key"]: (row["ticket_id"], row["kind"]) for row in cur.fetchall()}
            new: list[tuple[str, NewEvent]] = []
            for ticket_id, event in posts:
                if ticket_id not in present:
                    raise NotFoundError(f"ticket {ticket_id} not found", ticket=ticket_id)
                key = event.dedupe_key
                if key is not None and key in stored_keys:
                    _same_key(key, stored_keys[key], ticket_id, event.kind.value)
                    continue
                if key is not None:
                    stored_keys[key] = (ticket_id, event.kind.value)
                new.append((ticket_id, event))
            if new:
                cur.execute(_INSERT_EVENTS, {
                    "at": now.isoformat(), "ticket": [t for t, _ in new], "kind": [e.kind.value for _, e in new],
                    "actor": [e.actor for _, e in new], "text": [e.text for _, e in new],
                    "step": [e.step_id for _, e in new], "data": [to_json(e.data) for _, e in new],
                    "key": [e.dedupe_key for _, e in new]})
        return len(new)

    def attach(self, ticket_id: str, upload: AttachmentUpload, actor: str,
               dedupe_key: str | None = None) -> AttachmentRef:
        """Content and an ``attachment`` event together; a name is never overwritten (same content: a no-op,
        other content: `ConflictError`)."""
        digest = hashlib.sha256(upload.content).hexdigest()
        sealed = self._sealer().seal(upload.content, attachment_context(ticket_id, upload.name))  # outside the lock
        with self._write() as cur:
            self._require(cur, ticket_id)
            earlier = self._by_key(cur, dedupe_key, ticket_id, EventKind.ATTACHMENT)
            if earlier is not None and json.loads(earlier["data"]).get("name") != upload.name:
                raise ConflictError(f"dedupe key '{dedupe_key}' was used for another attachment",
                                    dedupe_key=dedupe_key, ticket=ticket_id)
            existing = self._attachment(cur, ticket_id, upload.name)
            if existing is not None:
                if existing["sha256"] != digest:
                    raise ConflictError(f"ticket {ticket_id} already has an attachment named '{upload.name}'"
                                        " with other content", ticket=ticket_id, name=upload.name)
                return ref(existing)
            now = self._now()
            self._insert_attachment(cur, ticket_id, upload, actor, now, sealed)
            self._insert_event(cur, ticket_id, NewEvent(
                kind=EventKind.ATTACHMENT, actor=actor, text=upload.name, dedupe_key=dedupe_key,
                data={"name": upload.name, "sha256": digest, "size": len(upload.content),
                      "media_type": upload.media_type, "kind": upload.kind}), now)
            row = self._attachment(cur, ticket_id, upload.name)
        assert row is not None
        return ref(row)

    def read_attachment(self, ticket_id: str, name: str) -> bytes:
        with self._read() as cur:
            self._require(cur, ticket_id)
            cur.execute("SELECT content, sha256 FROM ticket_attachments WHERE ticket_id = %s AND name = %s",
                        (ticket_id, name))
            row = cur.fetchone()
        if row is None:
            raise NotFoundError(f"ticket {ticket_id} has no attachment named '{name}'", ticket=ticket_id, name=name)
        return self._plaintext(ticket_id, name, bytes(row["content"]), row["sha256"])

    def transition(self, ticket_id: str, status: TicketStatus, actor: str, dedupe_key: str | None = None) -> Ticket:
        """A ``status`` event with ``from``/``to`` and the move, in one transaction; the same status: nothing."""
        status = TicketStatus(status)
        with self._write() as cur:
            current = self._require(cur, ticket_id)
            replayed = self._by_key(cur, dedupe_key, ticket_id, EventKind.STATUS) is not None
            if not replayed and current["status"] != status:
                self._insert_event(cur, ticket_id, NewEvent(
                    kind=EventKind.STATUS, actor=actor, dedupe_key=dedupe_key,
                    text=f"Status tiket: {_STATUS_ID[current['status']]} → {_STATUS_ID[status.value]}",
                    data={"from": current["status"], "to": status.value}), self._now())
                cur.execute("UPDATE tickets SET status = %s WHERE id = %s", (status.value, ticket_id))
            return self._ticket(cur, ticket_id)

    def assign(self, ticket_id: str, assignee: str, actor: str) -> Ticket:
        with self._write() as cur:
            current = self._require(cur, ticket_id)
            if current["assignee"] != assignee:
                self._insert_event(cur, ticket_id, NewEvent(
                    kind=EventKind.ASSIGNED, actor=actor, text=assignee,
                    data={"from": current["assignee"], "to": assignee}), self._now())
                cur.execute("UPDATE tickets SET assignee = %s WHERE id = %s", (assignee, ticket_id))
            return self._ticket(cur, ticket_id)

    def events_since(self, cursor: int, limit: int = 500) -> list[TimelineEvent]:
        if limit < 1:
            raise InvalidInputError("limit must be at least 1", errors=[("limit", "must be >= 1")])
        with self._plain() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(f"SELECT {EVENT_COLUMNS} FROM ticket_events WHERE seq > %s ORDER BY seq LIMIT %s",  # noqa: S608
                        (int(cursor), limit))
            rows = cur.fetchall()
        return [self._rows.event(row) for row in rows]

    # -- writes under the lock ------------------------------------------------------------------
    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise InvalidInputError("the store's clock returned a naive datetime")
        return now.astimezone(UTC)

    def _add_event(self, cur: Cursor, ticket_id: str, event: NewEvent, at: datetime) -> tuple[Row, bool]:
        """Insert (the next seq, under the writer lock): the stored row and True; or the row already stored
        under the same dedupe key and False."""
        earlier = self._by_key(cur, event.dedupe_key, ticket_id, event.kind)
        if earlier is not None:
            return earlier, False
        cur.execute(
            _INSERT_EVENT, (ticket_id, at.isoformat(), event.kind.value, event.actor, event.text, event.step_id,
             to_json(event.data), event.dedupe_key))
        added = cur.fetchone()
        if added is not None:
            return added, True
        row = self._by_key(cur, event.dedupe_key, ticket_id, event.kind)
        assert row is not None
        return row, False

    def _insert_event(self, cur: Cursor, ticket_id: str, event: NewEvent, at: datetime) -> Row:
        row, new = self._add_event(cur, ticket_id, event, at)
        if new:
            cur.execute("UPDATE tickets SET updated_at = %s WHERE id = %s", (at.isoformat(), ticket_id))
        return row

    def _insert_attachment(self, cur: Cursor, ticket_id: str, upload: AttachmentUpload, actor: str, at: datetime,
                           sealed: bytes | None = None) -> None:
        """``size`` and ``sha256`` describe the plaintext; ``content`` is the sealed blob."""
        if sealed is None:
            sealed = self._sealer().seal(upload.content, attachment_context(ticket_id, upload.name))
        cur.execute(
            "INSERT INTO ticket_attachments (ticket_id, name, media_type, size, sha256, kind, content, added_by,"
            " added_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (ticket_id, upload.name, upload.media_type, len(upload.content),
             hashlib.sha256(upload.content).hexdigest(), upload.kind, sealed, actor, at.isoformat()))

    # -- attachment content, encrypted at rest ----------------------------------------------------
    def _sealer(self) -> Sealer:
        """The key of ``settings.vault.key``, resolved at the first attachment written or read."""
        if self._at_rest is None:
            self._at_rest = Sealer.from_settings(self._settings)
        return self._at_rest

    def _plaintext(self, ticket_id: str, name: str, raw: bytes, sha256: str) -> bytes:
        """The content in clear, checked against its recorded SHA-256. A blob without the marker is a plaintext
        an older embedded desk stored without a key and `spbe store migrate` copied as it was."""
        what = f"attachment '{name}' of {ticket_id}"
        content = raw
        if is_sealed(raw):
            try:
                content = self._sealer().open(raw, attachment_context(ticket_id, name), what=what)
            except (IntegrityError, ConfigurationError):
                if hashlib.sha256(raw).hexdigest() != sha256:
                    raise
        if hashlib.sha256(content).hexdigest() != sha256:
            raise IntegrityError(f"{what} does not match its recorded sha256", ticket=ticket_id, name=name)
        return content


def _same_key(key: str, stored: tuple[str, str], ticket_id: str, kind: str) -> None:
    """`PgTicketDb._by_key`'s check for a key found among a batch's: reused for another ticket or kind."""
    if stored != (ticket_id, kind):
        raise ConflictError(f"dedupe key '{key}' already names a {stored[1]} event on {stored[0]}",
                            dedupe_key=key, ticket=stored[0])


def _filters(*, requester: str | None = None, status: TicketStatus | None = None,
             service_id: str | None = None) -> tuple[str, tuple[str, ...]]:
    wanted = {"requester = %s": requester, "status = %s": None if status is None else TicketStatus(status).value,
              "service_id = %s": service_id}
    active = {clause: value for clause, value in wanted.items() if value is not None}
    return ("WHERE " + " AND ".join(active)) if active else "", tuple(active.values())
