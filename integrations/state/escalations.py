"""Escalation claims (`toolkit.ports.state.EscalationClaims`) in the SQLite state database.

"Once" must survive restarts and several ``spbe serve`` processes: a claim is taken in one ``BEGIN
IMMEDIATE`` transaction before anything is sent and marked done when the notification went out; a claim
never completed (the process died, the mail server was down) may be taken again after the caller's lease.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from toolkit.ports.state_records import EscalationClaim
from toolkit.sqlite_tx import SqliteStore


class EscalationStore(SqliteStore):
    """Table ``escalations``: one row per (ticket, key)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "escalation store")
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS escalations (ticket_id TEXT NOT NULL, key TEXT NOT NULL, "
                       "claimed_at TEXT NOT NULL, claimed_by TEXT NOT NULL, notified_at TEXT, channel TEXT, "
                       "PRIMARY KEY (ticket_id, key))")

    def claim(self, ticket_id: str, key: str, me: str, now: datetime, lease: timedelta) -> bool:
        with self._tx() as db:
            row = db.execute("SELECT claimed_at, notified_at FROM escalations WHERE ticket_id = ? AND key = ?",
                             (ticket_id, key)).fetchone()
            if row is None:
                db.execute("INSERT INTO escalations (ticket_id, key, claimed_at, claimed_by) VALUES (?, ?, ?, ?)",
                           (ticket_id, key, now.isoformat(), me))
                return True
            if row[1] is not None or datetime.fromisoformat(row[0]) > now - lease:
                return False
            db.execute("UPDATE escalations SET claimed_at = ?, claimed_by = ? WHERE ticket_id = ? AND key = ?",
                       (now.isoformat(), me, ticket_id, key))
            return True

    def done(self, ticket_id: str, key: str, channel: str, now: datetime) -> None:
        with self._tx() as db:
            db.execute("UPDATE escalations SET notified_at = ?, channel = ? WHERE ticket_id = ? AND key = ?",
                       (now.isoformat(), channel, ticket_id, key))

    def claims(self) -> list[EscalationClaim]:
        with self._tx() as db:
            rows = db.execute("SELECT ticket_id, key, notified_at FROM escalations ORDER BY ticket_id, key").fetchall()
        return [EscalationClaim(ticket_id=r[0], key=r[1], notified_at=datetime.fromisoformat(r[2]) if r[2] else None)
                for r in rows]
