"""The per-target cap's slot table, in the store every worker shares (SQLite on one host, PostgreSQL across hosts).

A slot is a row (target, slot number) with a holder and a lease: a worker killed while it holds one frees it
when the lease runs out, as a job's lease does. Taking a slot is one transaction serialised per target
(SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock on the target's hash), so two
workers can never both take the last slot: the cap holds across every worker process and host, whatever the
broker delivers. The PostgreSQL table is created on first use (``CREATE TABLE IF NOT EXISTS``; small, no data
to migrate).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from toolkit.errors import UnavailableError
from toolkit.private_files import private_dir, private_file

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS target_slots (
    target TEXT NOT NULL, slot INTEGER NOT NULL, holder TEXT NOT NULL, lease_until REAL NOT NULL,
    PRIMARY KEY (target, slot));
CREATE UNIQUE INDEX IF NOT EXISTS target_slots_holder ON target_slots (holder);
"""
_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS target_slots (
    target text NOT NULL, slot integer NOT NULL, holder text NOT NULL UNIQUE, lease_until timestamptz NOT NULL,
    PRIMARY KEY (target, slot))
"""


def _free_slot(taken: set[int], cap: int) -> int | None:
    return next((n for n in range(cap) if n not in taken), None)


class SqliteTargetSlots:
    def __init__(self, state_dir: Path, db_name: str = "target_slots.db") -> None:
        self.path = Path(state_dir) / db_name
        private_dir(self.path.parent)
        private_file(self.path)
        self._local = threading.local()
        self._conn().executescript(_SQLITE_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def acquire(self, target: str, cap: int, holder: str, lease_seconds: float) -> bool:
        db = self._conn()
        now = time.time()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM target_slots WHERE target=? AND lease_until < ?", (target, now))
            taken = {r[0] for r in db.execute("SELECT slot FROM target_slots WHERE target=?", (target,))}
            slot = _free_slot(taken, cap)
            if slot is not None:
                db.execute("INSERT INTO target_slots VALUES (?, ?, ?, ?)", (target, slot, holder, now + lease_seconds))
            db.execute("COMMIT")
            return slot is not None
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise UnavailableError(f"target slots: {exc}") from None

    def renew(self, target: str, holder: str, lease_seconds: float) -> bool:
        db = self._conn()
        cur = db.execute("UPDATE target_slots SET lease_until=? WHERE target=? AND holder=?",
                         (time.time() + lease_seconds, target, holder))
        return cur.rowcount == 1

    def release(self, target: str, holder: str) -> None:
        self._conn().execute("DELETE FROM target_slots WHERE target=? AND holder=?", (target, holder))

    def held(self, target: str) -> int:
        """Slots of ``target`` held now (tests, metrics)."""
        row = self._conn().execute("SELECT count(*) FROM target_slots WHERE target=? AND lease_until >= ?",
                                   (target, time.time())).fetchone()
        return int(row[0])


class PostgresTargetSlots:
    """On the job queue's own pool (`integrations.postgres.pool.Database`)."""

    def __init__(self, database: Any) -> None:
        self._db = database
        with self._db.connection() as conn:
            conn.execute(_PG_SCHEMA)

    def acquire(self, target: str, cap: int, holder: str, lease_seconds: float) -> bool:
        with self._db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('spbe.target:' || %s))", (target,))
            conn.execute("DELETE FROM target_slots WHERE target=%s AND lease_until < now()", (target,))
            taken = {r[0] for r in conn.execute("SELECT slot FROM target_slots WHERE target=%s", (target,))}
            slot = _free_slot(taken, cap)
            if slot is not None:
                conn.execute("INSERT INTO target_slots VALUES (%s, %s, %s, now() + make_interval(secs => %s))",
                             (target, slot, holder, lease_seconds))
            return slot is not None

    def renew(self, target: str, holder: str, lease_seconds: float) -> bool:
        with self._db.connection() as conn:
            cur = conn.execute("UPDATE target_slots SET lease_until = now() + make_interval(secs => %s)"
                               " WHERE target=%s AND holder=%s", (lease_seconds, target, holder))
            return bool(cur.rowcount == 1)

    def release(self, target: str, holder: str) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM target_slots WHERE target=%s AND holder=%s", (target, holder))

    def held(self, target: str) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT count(*) FROM target_slots WHERE target=%s AND lease_until >= now()",
                               (target,)).fetchone()
            return int(row[0]) if row else 0


def slots_for(queue: Any, state_dir: Path) -> SqliteTargetSlots | PostgresTargetSlots:
    """The slot table beside the job queue: in its PostgreSQL database, else a SQLite file in state_dir."""
    inner = getattr(queue, "inner", queue)
    database = getattr(inner, "_db", None)
    if database is not None and hasattr(database, "transaction"):
        return PostgresTargetSlots(database)
    return SqliteTargetSlots(state_dir)
