"""Which e-mails became complaints: one row per message key (its Message-ID, else the digest of the message).

Each message becomes a ticket once, also across restarts and two `spbe serve` processes reading the same
mailbox: a message is claimed in one ``BEGIN IMMEDIATE`` transaction before its ticket is made, and the claim is
completed with the ticket id (or the reason it was refused). A claim whose process died before completing it
is taken again after a lease; the taker first looks for a ticket that carries the message key
(`toolkit.complaints.mail`), so a crash between making the ticket and completing the claim makes no second one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from toolkit.sqlite_tx import SqliteStore

CLAIM_LEASE = timedelta(minutes=5)


class MailRecord(BaseModel):
    model_config = ConfigDict(frozen=True)
    key: str
    ticket_id: str | None
    refused: str | None
    claimed_at: datetime


class MailLedger(SqliteStore):
    """Table ``complaint_mail``."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "complaint mail ledger")
        self._create("CREATE TABLE IF NOT EXISTS complaint_mail (key TEXT PRIMARY KEY, claimed_at TEXT NOT NULL, "
                     "ticket_id TEXT, refused TEXT, done_at TEXT)")

    def claim(self, key: str, now: datetime, lease: timedelta = CLAIM_LEASE) -> tuple[bool, MailRecord | None]:
        """(True, previous record or None): this process makes the ticket; (False, record): handled already,
        or claimed by another process less than ``lease`` ago."""
        with self._tx() as db:
            row = db.execute("SELECT key, claimed_at, ticket_id, refused, done_at FROM complaint_mail WHERE key = ?",
                             (key,)).fetchone()
            if row is None:
                db.execute("INSERT INTO complaint_mail (key, claimed_at) VALUES (?, ?)", (key, now.isoformat()))
                return True, None
            record = MailRecord(key=row[0], claimed_at=datetime.fromisoformat(row[1]), ticket_id=row[2],
                                refused=row[3])
            if row[4] is not None or record.claimed_at > now - lease:
                return False, record
            db.execute("UPDATE complaint_mail SET claimed_at = ? WHERE key = ?", (now.isoformat(), key))
            return True, record

    def done(self, key: str, now: datetime, *, ticket_id: str | None = None, refused: str | None = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE complaint_mail SET ticket_id = ?, refused = ?, done_at = ? WHERE key = ?",
                       (ticket_id, refused, now.isoformat(), key))

    def release(self, key: str) -> None:
        """Give up a claim whose ticket was not made (the ticket store was unavailable)."""
        with self._tx() as db:
            db.execute("DELETE FROM complaint_mail WHERE key = ? AND done_at IS NULL", (key,))

    def get(self, key: str) -> MailRecord | None:
        with self._tx() as db:
            row = db.execute("SELECT key, claimed_at, ticket_id, refused FROM complaint_mail WHERE key = ?",
                             (key,)).fetchone()
        return None if row is None else MailRecord(key=row[0], claimed_at=datetime.fromisoformat(row[1]),
                                                   ticket_id=row[2], refused=row[3])
