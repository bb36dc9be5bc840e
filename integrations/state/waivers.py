"""Compliance waivers (`toolkit.ports.state.Waivers`) in the SQLite state database.

One table, ``compliance_waivers``: a row per waiver, its number (``seq``, the id's digits) and the columns
a list filters on beside the validated `Waiver` as JSON. A request takes the next number inside one
``BEGIN IMMEDIATE`` transaction (two processes requesting at once get distinct ids: the second waits for the
first's write lock, then sees its row); a decision re-reads the waiver in its own IMMEDIATE transaction and
refuses any transition but requested → approved/rejected and approved → revoked, so a second decision of
the same waiver (two approvers at once included) is a `ConflictError`, never a silent overwrite.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.compliance_records import Waiver, WaiverRequest, WaiverStatus
from toolkit.sqlite_tx import SqliteStore

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS compliance_waivers (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
    "profile TEXT NOT NULL, target TEXT NOT NULL, rule_id TEXT NOT NULL, status TEXT NOT NULL, "
    "record TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS compliance_waivers_by_target ON compliance_waivers (profile, target)",
)

# What each decision may follow: anything else (a second approval, reviving a rejected waiver) conflicts.
_ALLOWED: dict[WaiverStatus, WaiverStatus] = {"approved": "requested", "rejected": "requested",
                                              "revoked": "approved"}


class WaiverStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "waiver store")
        self._create(*_SCHEMA)

    @staticmethod
    def _read(db: sqlite3.Connection, waiver_id: str) -> Waiver:
        row = db.execute("SELECT record FROM compliance_waivers WHERE id = ?", (waiver_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no compliance waiver {waiver_id!r}", waiver=waiver_id)
        return Waiver.model_validate_json(row[0])

    def request(self, req: WaiverRequest, by: str, now: datetime) -> Waiver:
        with self._tx() as db:
            seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM compliance_waivers").fetchone()[0])
            waiver = Waiver(id=f"W-{seq:04d}", **req.model_dump(), requested_by=by,
                            requested_at=now.astimezone(UTC))
            db.execute("INSERT INTO compliance_waivers (seq, id, profile, target, rule_id, status, record) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (seq, waiver.id, waiver.profile, waiver.target, waiver.rule_id, waiver.status,
                        waiver.model_dump_json()))
        return waiver

    def decide(self, waiver_id: str, status: WaiverStatus, by: str, now: datetime,
               note: str | None = None) -> Waiver:
        with self._tx() as db:
            current = self._read(db, waiver_id)
            if _ALLOWED.get(status) != current.status:
                raise ConflictError(f"waiver {waiver_id} is {current.status}; it cannot become {status}",
                                    waiver=waiver_id, status=current.status, wanted=status)
            decided = Waiver.model_validate({**current.model_dump(), "status": status, "decided_by": by,
                                             "decided_at": now.astimezone(UTC), "decision_note": note})
            db.execute("UPDATE compliance_waivers SET status = ?, record = ? WHERE id = ?",
                       (decided.status, decided.model_dump_json(), waiver_id))
        return decided

    def get(self, waiver_id: str) -> Waiver:
        with self._tx() as db:
            return self._read(db, waiver_id)

    def list(self, profile: str | None = None, target: str | None = None) -> list[Waiver]:
        where: list[str] = []
        args: list[str] = []
        if profile is not None:
            where.append("profile = ?")
            args.append(profile)
        if target is not None:
            where.append("target = ?")
            args.append(target)
        query = "SELECT record FROM compliance_waivers"
        if where:
            query += " WHERE " + " AND ".join(where)
        with self._tx() as db:
            rows = db.execute(query + " ORDER BY seq", args).fetchall()
        return [Waiver.model_validate_json(r[0]) for r in rows]
