"""The register of API credentials spbe issued (`toolkit.ports.state.IssuedCredentials` in the SQLite
state database): one row per SPLP ticket, never a secret.

Why a register of our own: the gateway knows consumers and keys but not which ticket, API, quota or
expiry date they belong to (Express Gateway keys have no expiry at all), and the vault knows a ticket's
secret but not the gateway state. `spbe api list`, the revocation, rotation and expiry sweep all start
here. ``gateway.issue_endpoint`` writes the row once the credential is live; a re-issue for the same
ticket replaces it (same row), and a re-issue for the same consumer under another ticket supersedes
the older row (the gateway revoked its key when it rotated).

**Once.** The expiry sweep claims rows atomically (``active`` -> ``expiring`` in one ``UPDATE``), so
two sweeps running at once (two ``spbe serve`` processes) never revoke or comment twice; a sweep that
fails gives the row back (``expiring`` -> ``active``) for the next round.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Literal

from toolkit.errors import NotFoundError
from toolkit.ports.state_records import IssuedCredential, utc_iso
from toolkit.sqlite_tx import SqliteStore

_SCHEMA = """CREATE TABLE IF NOT EXISTS issued (
    ticket_id TEXT PRIMARY KEY, api TEXT NOT NULL, consumer TEXT NOT NULL, consumer_id TEXT NOT NULL,
    gateway TEXT NOT NULL, kind TEXT NOT NULL, key_id TEXT NOT NULL, masked TEXT NOT NULL,
    per_minute INTEGER NOT NULL, endpoint TEXT NOT NULL, applicant TEXT NOT NULL, oauth2_client TEXT,
    issued_at TEXT NOT NULL, expires_at TEXT NOT NULL, status TEXT NOT NULL, ended_at TEXT, ended_by TEXT,
    reason TEXT)"""


class IssuedStore(SqliteStore):
    """Table ``issued``; one connection per thread (`toolkit.sqlite_tx.SqliteStore`)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "issued-credentials register")
        with self._tx() as db:
            db.execute(_SCHEMA)

    @staticmethod
    def _model(row: sqlite3.Row) -> IssuedCredential:
        return IssuedCredential.model_validate({k: row[k] for k in row.keys()})

    # -- writes ----------------------------------------------------------------------------------
    def record(self, cred: IssuedCredential) -> list[str]:
        """Store the ticket's live credential (replacing its earlier row); returns the tickets whose
        active rows for the same consumer it supersedes."""
        data = cred.model_dump()
        columns = list(data)
        values = [utc_iso(v) if isinstance(v, datetime) else v for v in data.values()]
        with self._tx() as db:
            superseded = [r["ticket_id"] for r in db.execute(
                "SELECT ticket_id FROM issued WHERE consumer = ? AND gateway = ? AND ticket_id != ? "
                "AND status = 'active'", (cred.consumer, cred.gateway, cred.ticket_id))]
            db.execute("UPDATE issued SET status = 'revoked', ended_at = ?, ended_by = 'system', reason = ? "
                       "WHERE consumer = ? AND gateway = ? AND ticket_id != ? AND status = 'active'",
                       (utc_iso(cred.issued_at), f"digantikan oleh tiket {cred.ticket_id}", cred.consumer,
                        cred.gateway, cred.ticket_id))
            db.execute(f"INSERT OR REPLACE INTO issued ({', '.join(columns)}) "  # noqa: S608 - fixed columns
                       f"VALUES ({', '.join('?' for _ in columns)})", values)
        return superseded

    def rotated(self, ticket_id: str, *, key_id: str, masked: str, issued_at: datetime,
                expires_at: datetime) -> IssuedCredential:
        with self._tx() as db:
            db.execute("UPDATE issued SET key_id = ?, masked = ?, issued_at = ?, expires_at = ? WHERE ticket_id = ?",
                       (key_id, masked, utc_iso(issued_at), utc_iso(expires_at), ticket_id))
        return self.get(ticket_id)

    def end(self, ticket_id: str, status: Literal["revoked", "expired"], *, actor: str, reason: str,
            at: datetime) -> IssuedCredential:
        with self._tx() as db:
            db.execute("UPDATE issued SET status = ?, ended_at = ?, ended_by = ?, reason = ? WHERE ticket_id = ?",
                       (status, utc_iso(at), actor, reason[:500], ticket_id))
        return self.get(ticket_id)

    def claim_due(self, now: datetime) -> list[IssuedCredential]:
        """Atomically take every active row past its expiry date (``expiring``) for one sweep."""
        with self._tx() as db:
            rows = db.execute("SELECT * FROM issued WHERE status = 'active' AND expires_at <= ?",
                              (utc_iso(now),)).fetchall()
            db.execute("UPDATE issued SET status = 'expiring' WHERE status = 'active' AND expires_at <= ?",
                       (utc_iso(now),))
        return [self._model(r).model_copy(update={"status": "expiring"}) for r in rows]

    def release(self, ticket_id: str) -> None:
        """Give a claimed row back to the next sweep (its revocation failed)."""
        with self._tx() as db:
            db.execute("UPDATE issued SET status = 'active' WHERE ticket_id = ? AND status = 'expiring'",
                       (ticket_id,))

    # -- reads -----------------------------------------------------------------------------------
    def find(self, ticket_id: str) -> IssuedCredential | None:
        with self._tx() as db:
            row = db.execute("SELECT * FROM issued WHERE ticket_id = ?", (ticket_id,)).fetchone()
        return None if row is None else self._model(row)

    def get(self, ticket_id: str) -> IssuedCredential:
        found = self.find(ticket_id)
        if found is None:
            raise NotFoundError(f"ticket {ticket_id} has no API credential issued by spbe", ticket=ticket_id)
        return found

    def by_consumer(self, consumer: str) -> list[IssuedCredential]:
        with self._tx() as db:
            rows = db.execute("SELECT * FROM issued WHERE consumer = ? ORDER BY issued_at", (consumer,)).fetchall()
        return [self._model(r) for r in rows]

    def all(self) -> list[IssuedCredential]:
        with self._tx() as db:
            rows = db.execute("SELECT * FROM issued ORDER BY issued_at, ticket_id").fetchall()
        return [self._model(r) for r in rows]
