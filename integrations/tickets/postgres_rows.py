"""The PostgreSQL ticket store's transactions and rows (`PgTicketDb`), the server twin of `embedded_db`.

`integrations.tickets.postgres_store.PostgresTicketStore` adds the `TicketSystem` methods on top.

**Writes are serialised**, across processes and hosts, by ``pg_advisory_xact_lock`` on one fixed key taken
first in every write transaction (the embedded desk's ``BEGIN IMMEDIATE``): a ticket's number
(``MAX(num) + 1`` of its year) and an event's ``seq`` (``MAX(seq) + 1``) are chosen under it, so numbers are
never shared and events commit in ``seq`` order, which is what lets the trigger's cursor over `events_since`
never skip a late commit (a plain sequence would hand out 7 to a transaction that commits after 8 is read).
``UNIQUE (year, num)`` and the ``seq`` key stay underneath as the last word. A writer that waits longer than
``busy_timeout_ms`` for the lock fails with `UnavailableError` (``lock_timeout``), which the outbox retries.

**Reads** that answer with more than one statement (a ticket and its attachments, a snapshot and its
timeline) run in one ``REPEATABLE READ READ ONLY`` transaction, so they agree with each other; they never
wait for the writer lock. Rows come back as dicts and are turned into models once per exact row (`PgRowModels`).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row

from integrations.postgres.pool import Database
from toolkit.domain.tickets.models import AttachmentRef, Ticket, TimelineEvent
from toolkit.errors import ConfigurationError, ConflictError, NotFoundError

Cursor = psycopg.Cursor[DictRow]
Row = Mapping[str, Any]

WRITER_LOCK = 0x5350424554494B54  # "SPBETIKT": the one advisory lock key of the ticket store's writers
TICKET_COLUMNS = ("id, service_id, title, requester, fields, status, assignee, sla_variant, "
                  "created_at, updated_at")
REF_COLUMNS = "ticket_id, name, media_type, size, sha256, kind, added_by, added_at"
EVENT_COLUMNS = "seq, ticket_id, at, kind, actor, text, step_id, data"
_LIMIT = 20_000  # models kept per kind, as in embedded_rows


def ref(row: Row) -> AttachmentRef:
    return AttachmentRef.model_validate({k: v for k, v in row.items() if k != "ticket_id"})


class PgRowModels:
    """Memo of exact row -> model (`embedded_rows.RowModels` for dict rows): a changed row is a new key."""

    def __init__(self, limit: int = _LIMIT) -> None:
        self._limit = limit
        self._events: dict[Hashable, TimelineEvent] = {}
        self._tickets: dict[Hashable, Ticket] = {}

    def event(self, row: Row) -> TimelineEvent:
        key = tuple(row.values())
        found = self._events.get(key)
        if found is None:
            found = TimelineEvent.model_validate({**row, "data": json.loads(row["data"])})
            self._keep(self._events, key, found)
        return found

    def ticket(self, row: Row, refs: Sequence[Row]) -> Ticket:
        key = (tuple(row.values()), tuple(tuple(r.values()) for r in refs))
        found = self._tickets.get(key)
        if found is None:
            found = Ticket.model_validate({**row, "fields": json.loads(row["fields"]),
                                           "attachments": tuple(ref(r) for r in refs)})
            self._keep(self._tickets, key, found)
        return found

    def _keep(self, memo: dict[Hashable, Any], key: Hashable, model: Any) -> None:
        if len(memo) >= self._limit:
            memo.clear()
        memo[key] = model


def not_migrated() -> ConfigurationError:
    return ConfigurationError("the PostgreSQL database has no ticket tables (schema revision 0003_tickets); "
                              "run 'spbe store migrate-schema' first", setting="tickets")


class PgTicketDb:
    """Transactions and row helpers on the shared `Database`."""

    db: Database
    _busy_timeout_ms: int
    _rows: PgRowModels

    @contextmanager
    def _write(self) -> Iterator[Cursor]:
        """One write transaction holding the writer lock from its first statement to its commit."""
        try:
            with self.db.transaction() as conn, conn.cursor(row_factory=dict_row) as cur:
                # one round trip: the timeout is set (for this transaction) before the lock is asked for
                cur.execute("SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(%s)",
                            (f"{int(self._busy_timeout_ms)}ms", WRITER_LOCK))
                yield cur
        except psycopg.errors.UndefinedTable:
            raise not_migrated() from None

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        """One read-only transaction on one snapshot."""
        try:
            with self.db.transaction() as conn, conn.cursor(row_factory=dict_row) as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield cur
        except psycopg.errors.UndefinedTable:
            raise not_migrated() from None

    @contextmanager
    def _plain(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection in autocommit, for a read answered by one statement."""
        try:
            with self.db.connection() as conn:
                yield conn
        except psycopg.errors.UndefinedTable:
            raise not_migrated() from None

    def close(self) -> None:
        self.db.close()

    # -- rows --------------------------------------------------------------------------------------
    def _tickets(self, cur: Cursor, where: str, args: Sequence[Any]) -> list[Ticket]:
        cur.execute(f"SELECT {TICKET_COLUMNS} FROM tickets {where} ORDER BY year, num", args)  # noqa: S608
        rows = cur.fetchall()
        refs: dict[str, list[Row]] = {}
        if rows:
            cur.execute(f"SELECT {REF_COLUMNS} FROM ticket_attachments WHERE ticket_id = ANY(%b) "  # noqa: S608
                        "ORDER BY added_at, position", ([r["id"] for r in rows],))
            for ref_row in cur.fetchall():
                refs.setdefault(ref_row["ticket_id"], []).append(ref_row)
        return [self._rows.ticket(row, refs.get(row["id"], ())) for row in rows]

    def _ticket(self, cur: Cursor, ticket_id: str) -> Ticket:
        found = self._tickets(cur, "WHERE id = %s", (ticket_id,))
        if not found:
            raise NotFoundError(f"ticket {ticket_id} not found", ticket=ticket_id)
        return found[0]

    @staticmethod
    def _require(cur: Cursor, ticket_id: str) -> Row:
        cur.execute("SELECT status, assignee FROM tickets WHERE id = %s", (ticket_id,))
        row = cur.fetchone()
        if row is None:
            raise NotFoundError(f"ticket {ticket_id} not found", ticket=ticket_id)
        return row

    @staticmethod
    def _by_key(cur: Cursor, key: str | None, ticket_id: str, kind: str) -> Row | None:
        """The event already recorded under ``key``; a key reused for another ticket or kind is a conflict."""
        if key is None:
            return None
        cur.execute(f"SELECT {EVENT_COLUMNS} FROM ticket_events WHERE dedupe_key = %s", (key,))  # noqa: S608
        row = cur.fetchone()
        if row is not None and (row["ticket_id"] != ticket_id or row["kind"] != kind):
            raise ConflictError(f"dedupe key '{key}' already names a {row['kind']} event on {row['ticket_id']}",
                                dedupe_key=key, ticket=row["ticket_id"])
        return row

    def _events(self, cur: Cursor, ticket_id: str) -> list[TimelineEvent]:
        cur.execute(f"SELECT {EVENT_COLUMNS} FROM ticket_events WHERE ticket_id = %s ORDER BY seq",  # noqa: S608
                    (ticket_id,))
        return [self._rows.event(row) for row in cur.fetchall()]

    @staticmethod
    def _attachment(cur: Cursor, ticket_id: str, name: str) -> Row | None:
        cur.execute(f"SELECT {REF_COLUMNS} FROM ticket_attachments WHERE ticket_id = %s AND name = %s",  # noqa: S608
                    (ticket_id, name))
        return cur.fetchone()
