"""The embedded stores' one SQLite discipline: how a connection is opened, one per thread and process,
IMMEDIATE transactions.

`connect` is the connection policy every SQLite file of the embedded default goes through (the ticket
store, the queue, the audit log, the allocators, the vault...): WAL, a busy timeout, and the switch to
WAL retried while another process makes the same switch. That switch needs the exclusive lock; two
processes opening a new database at once (two `spbe serve` on a fresh state dir) would each hold a
shared lock waiting for the other's, and SQLite answers such a deadlock with an immediate
"database is locked" instead of waiting, so the wait is done here.

The vault, the SPLP register and the containment records each keep a few rows that several workers
(threads, or `spbe serve` processes) read and claim concurrently. ``BEGIN IMMEDIATE`` takes the write
lock at the start, so a read-then-claim (a secret's single reveal, a credential's expiry) is one
atomic step; a connection is never shared across threads or carried over a ``fork``; and a locked or
missing database is an `UnavailableError` naming the store, which the engine treats as "retry later".
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from toolkit.errors import UnavailableError
from toolkit.private_files import private_dir, private_file

# The one file of the embedded default's small stores (`integrations.state.sqlite`: allocations, containment
# records, issued credentials, escalation claims) and of the vault; see docs/architecture.md, "State".
STATE_DB = "state.db"
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# The primary result codes that mean "the store cannot be reached now" (retry later), not a defect.
UNAVAILABLE_CODES = frozenset({*_BUSY_CODES, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL})


def is_busy(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _BUSY_CODES


def connect(path: Path, *, busy_timeout_ms: int = 10_000, synchronous: str = "NORMAL",
            foreign_keys: bool = False) -> sqlite3.Connection:
    """A connection under the one policy. ``synchronous=FULL`` where a committed row must survive a
    power cut (the audit log); NORMAL elsewhere (WAL keeps the database consistent either way)."""
    if synchronous not in {"NORMAL", "FULL"}:
        raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        deadline = time.monotonic() + busy_timeout_ms / 1000
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.001, 0.02))  # noqa: S311 - jitter, not a secret
        conn.execute(f"PRAGMA synchronous={synchronous}")
        if foreign_keys:
            conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()
        raise
    conn.row_factory = sqlite3.Row
    return conn


class SqliteStore:
    """Base of a store in one SQLite file; ``what`` names it in errors ("secrets vault", ...)."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = Path(path)
        self.what = what
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        private_dir(self.path.parent)
        private_file(self.path)  # before SQLite creates it (and its journal) with the umask's mode

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = connect(self.path)
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this store opened, in any thread (a store made for one job
        must not leave a file descriptor per worker thread behind)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create(self, *statements: str) -> None:
        """The store's tables and indexes (``CREATE ... IF NOT EXISTS``), in one transaction."""
        with self._tx() as db:
            for statement in statements:
                db.execute(statement)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed when the block ends, rolled back on any exception."""
        try:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise UnavailableError(f"{self.what} unavailable: {exc}", path=str(self.path)) from None
