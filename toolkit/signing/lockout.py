"""Counting wrong signing passphrases, and locking a signer after too many.

The lock is in the command layer, not in an adapter, so it holds for every signing service: a
local key file could otherwise be attacked by guessing through spbe at machine speed, and BSrE
itself locks a certificate after repeated failures (spbe stops before that happens). After
`MAX_FAILURES` wrong passphrases in a row within `WINDOW`, the signer is locked for `LOCK_FOR`; a
correct passphrase resets the count. The store keeps usernames, counts and times only, in
``state_dir/signing/lockout.db`` (0600). Nothing about the passphrase is stored, not even a hash.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

from toolkit.ports.signing import SignerLockedError
from toolkit.private_files import private_dir, private_file

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
_SCHEMA = """CREATE TABLE IF NOT EXISTS failures (
    username TEXT PRIMARY KEY, count INTEGER NOT NULL, first_at TEXT NOT NULL, locked_until TEXT)"""


class PassphraseLockout:
    def __init__(self, root: Path, *, max_failures: int = MAX_FAILURES, window: timedelta = WINDOW,
                 lock_for: timedelta = LOCK_FOR) -> None:
        private_dir(root)
        self._path = private_file(Path(root) / "lockout.db")
        self.max_failures, self.window, self.lock_for = max_failures, window, lock_for

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=10, isolation_level=None)
        conn.execute(_SCHEMA)
        return conn

    def check(self, username: str, now: datetime) -> None:
        """SignerLockedError while ``username`` is locked."""
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT locked_until FROM failures WHERE username = ?", (username,)).fetchone()
        if row and row[0] and datetime.fromisoformat(row[0]) > now:
            raise SignerLockedError(
                f"signing as {username} is locked until {row[0]} after {self.max_failures} wrong passphrases",
                user=username, locked_until=row[0])

    def failed(self, username: str, now: datetime) -> int:
        """Count one failure; returns how many tries are left before the lock (0: locked now)."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT count, first_at FROM failures WHERE username = ?", (username,)).fetchone()
            count = 1
            first = now
            if row and now - datetime.fromisoformat(row[1]) <= self.window:
                count, first = row[0] + 1, datetime.fromisoformat(row[1])
            locked = (now + self.lock_for).isoformat() if count >= self.max_failures else None
            conn.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)",
                         (username, 0 if locked else count, first.isoformat(), locked))
            conn.execute("COMMIT")
        finally:
            conn.close()
        return max(self.max_failures - count, 0)

    def succeeded(self, username: str) -> None:
        with closing(self._connect()) as conn:
            conn.execute("DELETE FROM failures WHERE username = ?", (username,))

    def unlock(self, username: str) -> None:
        self.succeeded(username)
