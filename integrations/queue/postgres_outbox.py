"""The outbox and cursors of the PostgreSQL queue, and its wake-ups (`PostgresJobQueue`'s base).

As in the SQLite queue, the outbox lives beside the jobs so a job's final state and the messages telling its
ticket commit together. Wake-ups cross hosts: the schema's trigger notifies channel ``spbe_jobs`` when a row
becomes queued, and a listener thread (one per queue object, started by the first `wait_for_work`, on a
connection of its own outside the pool) turns each notice into one wake-up, for a change made by this process
as by any other (a duplicate enqueue changes nothing and wakes nobody).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import psycopg
from psycopg.rows import dict_row

from integrations.postgres.pool import Database
from toolkit.clock import Clock
from toolkit.ports.jobs import OutboxItem, PendingOutbox

CHANNEL = "spbe_jobs"  # the schema's trigger notifies it (0001_jobs)
_RECONNECT_S = 1.0  # the listener's pause before reconnecting after the database went away
_OUTBOX_LEASE = timedelta(seconds=30)  # how long a process that died mid-delivery holds its items
_OUTBOX_LOCK = 0x535042454F555442  # "SPBEOUTB": outbox claimers take turns
# Due items not leased by another process, and none of a ticket whose earlier item another process holds.
_OUTBOX_CLAIM = """
WITH picked AS (
    SELECT o.id FROM outbox o
    WHERE o.delivered_at IS NULL AND o.next_attempt <= %(now)s
      AND (o.leased_until IS NULL OR o.leased_until <= %(now)s OR o.leased_by = %(me)s)
      AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.ticket_id = o.ticket_id AND e.delivered_at IS NULL
                      AND e.id < o.id AND e.leased_until > %(now)s AND e.leased_by <> %(me)s)
    ORDER BY o.id LIMIT %(limit)s
)
UPDATE outbox SET leased_by = %(me)s, leased_until = %(until)s FROM picked WHERE outbox.id = picked.id
RETURNING outbox.*
"""


class PostgresOutbox:
    _db: Database
    _clock: Clock

    def _init_wakeups(self) -> None:
        self._work = threading.Condition()
        self._work_seq = 0
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self._listening = threading.Event()

    def _now(self) -> datetime:
        return self._clock.now()

    def _outbox_owner(self) -> str:
        """Who holds this object's outbox leases: the process and this object (a forked child is another)."""
        token: str | None = getattr(self, "_outbox_token", None)
        if token is None:
            token = self._outbox_token = secrets.token_hex(8)
        return f"{os.getpid()}:{token}"

    # -- wake-ups --------------------------------------------------------------------------
    def _notify_work(self) -> None:
        with self._work:
            self._work_seq += 1
            self._work.notify_all()

    def wait_for_work(self, timeout: float, seen: int | None = None) -> int:
        """Block until a job may have become claimable on any host (or ``timeout`` passes); returns the wake-up
        count to pass back as ``seen``, so a notice given between two waits is not missed."""
        self._ensure_listener()
        if not self._listening.is_set():  # the first waits: until LISTEN holds (a notice is then never missed)
            self._listening.wait(min(self._db.timeout_s, max(timeout, 1.0)))
        with self._work:
            if seen is None or seen == self._work_seq:
                self._work.wait(timeout)
            return self._work_seq

    def _ensure_listener(self) -> None:
        with self._work:
            if self._listener is not None or self._stop.is_set():
                return
            self._listener = threading.Thread(target=self._listen, name="spbe-pg-listen", daemon=True)
            self._listener.start()

    def _listen(self) -> None:
        """LISTEN on a connection of its own; while the database is away, waiters simply time out (a poll)."""
        reconnected = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._db.dsn.get_secret_value(), autocommit=True,
                                     application_name="spbe-listen", connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    if reconnected:
                        self._notify_work()  # what was queued while not listening is looked at now
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._notify_work()
            except psycopg.Error:
                self._stop.wait(_RECONNECT_S)
            reconnected = True

    def _stop_listener(self) -> None:
        self._stop.set()
        listener = self._listener
        if listener is not None and listener is not threading.current_thread():
            listener.join(timeout=5)

    # -- outbox ----------------------------------------------------------------------------
    def _insert_outbox(self, conn: psycopg.Connection[Any], items: Sequence[OutboxItem]) -> None:
        if not items:
            return
        now = self._now()
        conn.execute(
            "INSERT INTO outbox (ticket_id, kind, payload, dedupe_key, next_attempt, created_at)"
            " SELECT t, k, p::jsonb, d, %(now)s, %(now)s FROM unnest(%(t)b::text[], %(k)b::text[], %(p)b::text[],"
            " %(d)b::text[]) WITH ORDINALITY AS i(t, k, p, d, n) ORDER BY n ON CONFLICT (dedupe_key) DO NOTHING",
            {"now": now, "t": [i.ticket_id for i in items], "k": [i.kind.value for i in items],
             "p": [json.dumps(i.payload) for i in items], "d": [i.dedupe_key for i in items]})

    def add_outbox(self, items: list[OutboxItem]) -> None:
        with self._db.transaction() as conn:
            self._insert_outbox(conn, items)

    def outbox_due(self, now: datetime, limit: int = 100) -> list[PendingOutbox]:
        """The due items, leased to this queue object for `_OUTBOX_LEASE` (revision 0005_outbox_lease): another
        process skips them, and its ticket's later items, until they are delivered, retried later or the lease
        runs out; this object gets them again until then. Claimers take turns (one advisory lock, one
        statement), so two never lease one item or split one ticket's items."""
        try:
            until = now + _OUTBOX_LEASE
        except OverflowError:  # a caller asking for everything due at the end of time
            until = now
        with self._db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_OUTBOX_LOCK,))
            rows = conn.cursor(row_factory=dict_row).execute(_OUTBOX_CLAIM, {
                "now": now, "until": until, "limit": limit, "me": self._outbox_owner()}).fetchall()
        rows.sort(key=lambda r: r["id"])
        return [
            PendingOutbox(
                id=r["id"], attempts=r["attempts"], last_error=r["last_error"], created_at=r["created_at"],
                item=OutboxItem(ticket_id=r["ticket_id"], kind=r["kind"], payload=r["payload"],
                                dedupe_key=r["dedupe_key"]),
            )
            for r in rows
        ]

    def outbox_delivered(self, item_id: int) -> None:
        self.outbox_delivered_many([item_id])

    def outbox_delivered_many(self, item_ids: list[int]) -> None:
        if not item_ids:
            return
        with self._db.connection() as conn:  # one statement: atomic on its own
            conn.execute("UPDATE outbox SET delivered_at=%s, attempts=attempts+1 WHERE id = ANY(%b)",
                         (self._now(), list(item_ids)))

    def outbox_retry_later(self, item_id: int, error: str, next_attempt: datetime) -> None:
        with self._db.connection() as conn:
            conn.execute("UPDATE outbox SET attempts=attempts+1, last_error=%s, next_attempt=%s, leased_by=NULL,"
                         " leased_until=NULL WHERE id=%s",
                         (error[:500], next_attempt, item_id))

    def outbox_pending_count(self, ticket_id: str | None = None) -> int:
        query, args = "SELECT count(*) FROM outbox WHERE delivered_at IS NULL", cast(tuple[Any, ...], ())
        if ticket_id is not None:
            query, args = query + " AND ticket_id=%s", (ticket_id,)
        with self._db.connection() as conn:
            row = conn.execute(query, args).fetchone()
        return int(row[0]) if row else 0

    def get_cursor(self, name: str) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT value FROM queue_cursors WHERE name=%s", (name,)).fetchone()
        return int(row[0]) if row else 0

    def set_cursor(self, name: str, value: int) -> None:
        with self._db.connection() as conn:
            conn.execute("INSERT INTO queue_cursors (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE"
                         " SET value = excluded.value", (name, value))
