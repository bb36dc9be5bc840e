"""Durable containment records: `toolkit.ports.state.ContainmentRecords` in the SQLite state database.

A record is written *before* the target is touched (status ``applying``) and updated with the
before-state and the outcome afterwards, so a crash mid-way still leaves a trace of what may have
changed. At most one record per (kind, target) is open (applying, active, releasing) at a time: a second
ticket cannot contain an already contained target over the first one's before-state.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.state_records import OPEN_STATES, ContainmentKind, ContainmentRecord, ContainmentStatus
from toolkit.sqlite_tx import SqliteStore

_SCHEMA = """CREATE TABLE IF NOT EXISTS containment (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,
    status TEXT NOT NULL, record TEXT NOT NULL)"""


class ContainmentStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "containment store")
        with self._tx() as conn:
            conn.execute(_SCHEMA)

    @staticmethod
    def _load(text: str) -> ContainmentRecord:
        return ContainmentRecord.model_validate_json(text)

    def open_for(self, kind: ContainmentKind, target: str) -> ContainmentRecord | None:
        """The open (applying/active/releasing) record of a target, if any."""
        with self._tx() as conn:
            return self._open_for(conn, kind, target)

    def _open_for(self, conn: sqlite3.Connection, kind: ContainmentKind, target: str) -> ContainmentRecord | None:
        marks = ",".join("?" * len(OPEN_STATES))
        row = conn.execute(
            f"SELECT record FROM containment WHERE kind = ? AND target = ? AND status IN ({marks}) "  # noqa: S608
            "ORDER BY seq DESC LIMIT 1", (kind.value, target, *[s.value for s in OPEN_STATES])).fetchone()
        return self._load(row[0]) if row else None

    def begin(self, ticket_id: str, kind: ContainmentKind, target: str, actor: str,
              params: dict[str, Any]) -> tuple[ContainmentRecord, bool]:
        """A new ``applying`` record, or the open one of the same ticket (``False``: not new).

        An open record of *another* ticket is a `ConflictError`: that containment must be released first.
        """
        now = datetime.now(UTC)
        with self._tx() as conn:
            existing = self._open_for(conn, kind, target)
            if existing is not None:
                if existing.ticket_id != ticket_id:
                    raise ConflictError(
                        f"{kind.value} {target} is already contained by ticket {existing.ticket_id} "
                        f"(record {existing.id}, {existing.status.value}); release that first",
                        record=existing.id, ticket=existing.ticket_id)
                return existing, False
            cur = conn.execute("INSERT INTO containment (ticket_id, kind, target, status, record) VALUES (?,?,?,?,?)",
                               (ticket_id, kind.value, target, ContainmentStatus.APPLYING.value, "{}"))
            record = ContainmentRecord(
                id=f"C{cur.lastrowid}", ticket_id=ticket_id, kind=kind, target=target,
                status=ContainmentStatus.APPLYING, actor=actor, created_at=now, updated_at=now, params=params)
            conn.execute("UPDATE containment SET record = ? WHERE seq = ?", (record.model_dump_json(), cur.lastrowid))
            return record, True

    def save(self, record: ContainmentRecord) -> ContainmentRecord:
        record = record.model_copy(update={"updated_at": datetime.now(UTC)})
        with self._tx() as conn:
            cur = conn.execute("UPDATE containment SET status = ?, record = ? WHERE seq = ?",
                               (record.status.value, record.model_dump_json(), _seq(record.id)))
            if cur.rowcount != 1:
                raise NotFoundError(f"containment record {record.id} does not exist", record=record.id)
        return record

    def get(self, record_id: str) -> ContainmentRecord:
        with self._tx() as conn:
            row = conn.execute("SELECT record FROM containment WHERE seq = ?", (_seq(record_id),)).fetchone()
        if row is None:
            raise NotFoundError(f"containment record {record_id} does not exist", record=record_id)
        return self._load(row[0])

    def list(self, ticket_id: str | None = None, status: ContainmentStatus | None = None) -> list[ContainmentRecord]:
        query, args = "SELECT record FROM containment WHERE 1=1", list[str]()
        if ticket_id is not None:
            query, args = query + " AND ticket_id = ?", [*args, ticket_id]
        if status is not None:
            query, args = query + " AND status = ?", [*args, status.value]
        with self._tx() as conn:
            rows = conn.execute(query + " ORDER BY seq", args).fetchall()
        return [self._load(r[0]) for r in rows]


def _seq(record_id: str) -> int:
    try:
        return int(record_id.removeprefix("C"))
    except ValueError:
        raise NotFoundError(f"containment record {record_id!r} does not exist", record=record_id) from None

