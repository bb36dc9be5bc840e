"""The small SQLite stores' shared discipline: one connection per thread and process, IMMEDIATE transactions.

The vault, the SPLP register and the containment records each keep a few rows that several workers
(threads, or `spbe serve` processes) read and claim concurrently. ``BEGIN IMMEDIATE`` takes the write
lock at the start, so a read-then-claim (a secret's single reveal, a credential's expiry) is one
atomic step; a connection is never shared across threads or carried over a ``fork``; and a locked or
missing database is an `UnavailableError` naming the store, which the engine treats as "retry later".
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from toolkit.errors import UnavailableError
from toolkit.private_files import private_dir, private_file


class SqliteStore:
    """Base of a store in one SQLite file; ``what`` names it in errors ("secrets vault", ...)."""

    def __init__(self, path: Path, what: str, *, wal: bool = False) -> None:
        self.path = Path(path)
        self.what = what
        self._wal = wal
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        private_dir(self.path.parent)
        private_file(self.path)  # before SQLite creates it (and its journal) with the umask's mode

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
            if self._wal:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.row_factory = sqlite3.Row
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
