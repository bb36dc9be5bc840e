"""The queue database's connection handling, and the outbox and cursors kept in it (`SqliteJobQueue`'s base).

The outbox lives in the queue's file so that a job's final state and the messages telling its ticket are
one transaction. A delivery round marks its items in one transaction (`outbox_delivered_many`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from integrations.queue.writer_gate import WriterGate
from toolkit.clock import Clock
from toolkit.errors import UnavailableError
from toolkit.ports.jobs import OutboxItem, PendingOutbox
from toolkit.sqlite_tx import connect


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None



class SqliteOutbox:
    path: Path
    _clock: Clock
    _busy_timeout_ms: int
    _local: threading.local
    _gate: WriterGate  # this process's writers, one at a time (writer_gate)

    def _now(self) -> datetime:
        return self._clock.now()

    # -- connection handling -------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, busy_timeout_ms=int(self._busy_timeout_ms))
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        gate: WriterGate | None = getattr(self, "_gate", None)
        if gate is None:
            gate = self._gate = WriterGate(self._busy_timeout_ms / 1000)
        with gate.held(), self._tx_unguarded() as db:
            yield db

    @contextmanager
    def _tx_unguarded(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise UnavailableError(f"job queue unavailable: {exc}") from None

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Reads outside a transaction fail the same way writes do: as UnavailableError."""
        try:
            return self._conn().execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            raise UnavailableError(f"job queue unavailable: {exc}") from None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- outbox ----------------------------------------------------------------------------
    def _insert_outbox(self, db: sqlite3.Connection, items: list[OutboxItem]) -> None:
        now = self._now()
        db.executemany(
            "INSERT INTO outbox (ticket_id, kind, payload, dedupe_key, next_attempt, created_at)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(dedupe_key) DO NOTHING",
            [(i.ticket_id, i.kind.value, json.dumps(i.payload), i.dedupe_key, now.timestamp(), iso(now))
             for i in items],
        )

    def add_outbox(self, items: list[OutboxItem]) -> None:
        with self._tx() as db:
            self._insert_outbox(db, items)

    def outbox_due(self, now: datetime, limit: int = 100) -> list[PendingOutbox]:
        rows = self._read("SELECT * FROM outbox WHERE delivered_at IS NULL AND next_attempt<=? ORDER BY id LIMIT ?",
                          (now.timestamp(), limit))
        return [
            PendingOutbox(
                id=r["id"], attempts=r["attempts"], last_error=r["last_error"], created_at=r["created_at"],
                item=OutboxItem(ticket_id=r["ticket_id"], kind=r["kind"], payload=json.loads(r["payload"]),
                                dedupe_key=r["dedupe_key"]),
            )
            for r in rows
        ]

    def outbox_delivered(self, item_id: int) -> None:
        self.outbox_delivered_many([item_id])

    def outbox_delivered_many(self, item_ids: list[int]) -> None:
        if not item_ids:
            return
        with self._tx() as db:
            at = iso(self._now())
            db.executemany("UPDATE outbox SET delivered_at=?, attempts=attempts+1 WHERE id=?",
                           [(at, item_id) for item_id in item_ids])

    def outbox_retry_later(self, item_id: int, error: str, next_attempt: datetime) -> None:
        with self._tx() as db:
            db.execute("UPDATE outbox SET attempts=attempts+1, last_error=?, next_attempt=? WHERE id=?",
                       (error[:500], next_attempt.timestamp(), item_id))

    def outbox_pending_count(self, ticket_id: str | None = None) -> int:
        query, args = "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL", cast(tuple[Any, ...], ())
        if ticket_id is not None:
            query, args = query + " AND ticket_id=?", (ticket_id,)
        return int(self._read(query, args)[0][0])

    def get_cursor(self, name: str) -> int:
        rows = self._read("SELECT value FROM cursors WHERE name=?", (name,))
        return int(rows[0][0]) if rows else 0

    def set_cursor(self, name: str, value: int) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value="
                       "excluded.value", (name, value))

