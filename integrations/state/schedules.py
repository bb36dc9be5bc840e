"""Compliance schedules (`toolkit.ports.state.Schedules`) in the SQLite state database.

Two tables: ``schedules`` (one row per schedule, the validated model as JSON beside the columns the
claim compares) and ``schedule_runs`` (one row per firing, primary key (schedule id, due time)). A claim
is one ``BEGIN IMMEDIATE`` transaction, like the allocators': it re-reads the schedule, refuses a paused
one or a due time not after ``last_due``, inserts the run row (the primary key refuses a second one) and
advances ``last_due``, so two ``spbe serve`` processes racing the same due time fire it once.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.schedule_records import RunOutcome, Schedule, ScheduleRun
from toolkit.sqlite_tx import SqliteStore

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schedules (id TEXT PRIMARY KEY, record TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS schedule_runs (schedule_id TEXT NOT NULL, due_at TEXT NOT NULL, "
    "claimed_by TEXT NOT NULL, claimed_at TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, "
    "finished_at TEXT, PRIMARY KEY (schedule_id, due_at))",
)


def _instant(value: datetime) -> str:
    """UTC, fixed width: the text order of the column is the time order (the claim's key compares it)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class ScheduleStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "schedule store")
        self._create(*_SCHEMA)

    @staticmethod
    def _read(db: sqlite3.Connection, schedule_id: str) -> Schedule:
        row = db.execute("SELECT record FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no compliance schedule {schedule_id!r}", schedule=schedule_id)
        return Schedule.model_validate_json(row[0])

    @staticmethod
    def _write(db: sqlite3.Connection, schedule: Schedule) -> None:
        db.execute("UPDATE schedules SET record = ? WHERE id = ?", (schedule.model_dump_json(), schedule.id))

    def add(self, schedule: Schedule) -> Schedule:
        with self._tx() as db:
            try:
                db.execute("INSERT INTO schedules (id, record) VALUES (?, ?)",
                           (schedule.id, schedule.model_dump_json()))
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"a compliance schedule {schedule.id!r} exists already",
                                    schedule=schedule.id) from exc
        return schedule

    def get(self, schedule_id: str) -> Schedule:
        with self._tx() as db:
            return self._read(db, schedule_id)

    def set_paused(self, schedule_id: str, paused: bool, now: datetime) -> tuple[Schedule, bool]:
        with self._tx() as db:
            current = self._read(db, schedule_id)
            if current.paused == paused:
                return current, False
            update: dict[str, object] = {"paused": paused}
            if not paused:
                update["not_before"] = now.astimezone(UTC)
            changed = current.model_copy(update=update)
            self._write(db, changed)
            return changed, True

    def claim(self, schedule_id: str, due_at: datetime, me: str, now: datetime) -> bool:
        with self._tx() as db:
            try:
                current = self._read(db, schedule_id)
            except NotFoundError:
                return False
            if current.paused or (current.last_due is not None and due_at <= current.last_due):
                return False
            inserted = db.execute(
                "INSERT OR IGNORE INTO schedule_runs (schedule_id, due_at, claimed_by, claimed_at, outcome, detail) "
                "VALUES (?, ?, ?, ?, 'claimed', '')", (schedule_id, _instant(due_at), me, _instant(now))).rowcount
            if not inserted:
                return False
            self._write(db, current.model_copy(update={"last_due": due_at.astimezone(UTC)}))
            return True

    def finish(self, schedule_id: str, due_at: datetime, outcome: RunOutcome, detail: str, now: datetime) -> None:
        with self._tx() as db:
            db.execute("UPDATE schedule_runs SET outcome = ?, detail = ?, finished_at = ? "
                       "WHERE schedule_id = ? AND due_at = ?",
                       (outcome, detail, _instant(now), schedule_id, _instant(due_at)))

    def runs(self, schedule_id: str | None = None) -> list[ScheduleRun]:
        query = ("SELECT schedule_id, due_at, claimed_by, claimed_at, outcome, detail, finished_at "
                 "FROM schedule_runs")
        args: tuple[str, ...] = ()
        if schedule_id is not None:
            query, args = query + " WHERE schedule_id = ?", (schedule_id,)
        with self._tx() as db:
            rows = db.execute(query + " ORDER BY due_at, schedule_id", args).fetchall()
        return [ScheduleRun(schedule_id=r[0], due_at=datetime.fromisoformat(r[1]), claimed_by=r[2],
                            claimed_at=datetime.fromisoformat(r[3]), outcome=r[4], detail=r[5],
                            finished_at=datetime.fromisoformat(r[6]) if r[6] else None) for r in rows]

    def list(self) -> list[Schedule]:
        with self._tx() as db:
            rows = db.execute("SELECT record FROM schedules ORDER BY id").fetchall()
        return [Schedule.model_validate_json(r[0]) for r in rows]
