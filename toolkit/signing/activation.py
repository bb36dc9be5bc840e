"""Pending enrolments: the *Tanda Tangan Elektronik* service approves that a person may get a
certificate; the person then sets their own passphrase with ``spbe sign activate``.

Why not enrol inside the automated step: the key must be encrypted with a passphrase only the signer
knows, and a ticket is read by the whole desk (staff, the outbox, outside desks), so no passphrase
may travel through it. The step therefore records an *activation*: who (the ticket's applicant),
from which ticket, until when. Activating is done by that person themselves (the principal is the
proof: an OS login, a portal session), once, before it expires; it needs no code that could leak.
Stored in ``state_dir/signing/activations.db`` (0600): usernames, ticket ids, times, and the signer's
printed identity; never a secret.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.signing import SignerIdentity
from toolkit.private_files import private_dir, private_file

VALID_FOR = timedelta(days=7)
_SCHEMA = """CREATE TABLE IF NOT EXISTS activations (
    username TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, identity TEXT NOT NULL, issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL, used_at TEXT)"""


class Activation(BaseModel):
    model_config = ConfigDict(frozen=True)
    username: str
    ticket_id: str
    identity: SignerIdentity
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class Activations:
    def __init__(self, root: Path) -> None:
        private_dir(root)
        self._path = private_file(Path(root) / "activations.db")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=10, isolation_level=None)
        conn.execute(_SCHEMA)
        return conn

    def issue(self, identity: SignerIdentity, ticket_id: str, now: datetime) -> Activation:
        """Idempotent per ticket: the same ticket's retry returns the same pending activation."""
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT ticket_id, used_at FROM activations WHERE username = ?",
                               (identity.username,)).fetchone()
            if row is None or row[0] != ticket_id or row[1] is not None:
                conn.execute("INSERT OR REPLACE INTO activations VALUES (?, ?, ?, ?, ?, NULL)",
                             (identity.username, ticket_id, identity.model_dump_json(), now.isoformat(),
                              (now + VALID_FOR).isoformat()))
        return self.get(identity.username)

    def get(self, username: str) -> Activation:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT * FROM activations WHERE username = ?", (username,)).fetchone()
        if row is None:
            raise NotFoundError(f"no pending certificate activation for {username}", user=username)
        return Activation(username=row[0], ticket_id=row[1], identity=SignerIdentity(**json.loads(row[2])),
                          issued_at=datetime.fromisoformat(row[3]), expires_at=datetime.fromisoformat(row[4]),
                          used_at=datetime.fromisoformat(row[5]) if row[5] else None)

    def pending(self, username: str, now: datetime) -> Activation:
        found = self.get(username)
        if found.used_at is not None:
            raise ConflictError(f"the activation of {username} (ticket {found.ticket_id}) was already used",
                                user=username)
        if found.expires_at <= now:
            raise ConflictError(f"the activation of {username} expired on {found.expires_at:%Y-%m-%d %H:%M} UTC",
                                user=username)
        return found

    def use(self, username: str, now: datetime) -> None:
        with closing(self._connect()) as conn:
            conn.execute("UPDATE activations SET used_at = ? WHERE username = ? AND used_at IS NULL",
                         (now.isoformat(), username))
