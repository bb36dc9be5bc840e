"""Compliance runs (`toolkit.ports.state.ComplianceHistory`) in the SQLite state database.

One table, ``compliance_runs``: a row per run with the validated `ComplianceRun` as JSON (``record``) beside
the columns a query filters and sorts on (profile, UTC start time in a fixed-width text whose order is the
time order) and the run's counts (results, passed, failed, waived, errors). The indexes (profile,
started_at, id) and (started_at, id) are the order ``runs`` reads in, so no query sorts the table.

Why the JSON and not a row per rule: every reader (the report, the metrics, the runner's "new failure?")
wants whole runs, and a run is written once and never changed. Measured on this 2-core machine with a year
of daily runs of 100 targets x 10 rules (365 rows of 1,000 results, 80 MB): ``runs(profile=P, limit=1)``,
what the metrics read per profile at scrape time, is one index seek and one row (~2 ms); the report's
default period (30 days) ~0.06 s; the whole year ~2.3 s, nearly all of it pydantic-core decoding the JSON,
which grows with the rows read and not with the table. The count columns let a later dashboard aggregate a
longer span in SQL without decoding any JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from toolkit.errors import NotFoundError
from toolkit.ports.compliance_records import ComplianceRun
from toolkit.sqlite_tx import SqliteStore

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS compliance_runs (id TEXT PRIMARY KEY, profile TEXT NOT NULL, "
    "started_at TEXT NOT NULL, finished_at TEXT NOT NULL, trigger TEXT NOT NULL, results INTEGER NOT NULL, "
    "passed INTEGER NOT NULL, failed INTEGER NOT NULL, waived INTEGER NOT NULL, errors INTEGER NOT NULL, "
    "record TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS compliance_runs_by_profile ON compliance_runs (profile, started_at, id)",
    "CREATE INDEX IF NOT EXISTS compliance_runs_by_time ON compliance_runs (started_at, id)",
)


def _instant(value: datetime) -> str:
    """UTC, fixed width: the text order of the column is the time order."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _counts(run: ComplianceRun) -> tuple[int, int, int, int, int]:
    results = [r for t in run.targets for r in t.rules]
    passed = sum(1 for r in results if r.verdict == "pass")
    waived = sum(1 for r in results if r.verdict == "fail" and r.waiver is not None)
    failed = sum(1 for r in results if r.verdict == "fail" and r.waiver is None)
    errors = sum(1 for r in results if r.verdict == "error")
    return len(results), passed, failed, waived, errors


class ComplianceHistoryStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "compliance history")
        self._create(*_SCHEMA)

    def record(self, run: ComplianceRun) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO compliance_runs (id, profile, started_at, finished_at, trigger, results, "
                "passed, failed, waived, errors, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.id, run.profile, _instant(run.started_at), _instant(run.finished_at), run.trigger,
                 *_counts(run), run.model_dump_json()))

    def get(self, run_id: str) -> ComplianceRun:
        with self._tx() as db:
            row = db.execute("SELECT record FROM compliance_runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no compliance run {run_id!r}", run=run_id)
        return ComplianceRun.model_validate_json(row[0])

    def runs(self, profile: str | None = None, since: datetime | None = None,
             limit: int | None = None) -> list[ComplianceRun]:
        where: list[str] = []
        args: list[object] = []
        if profile is not None:
            where.append("profile = ?")
            args.append(profile)
        if since is not None:
            where.append("started_at >= ?")
            args.append(_instant(since))
        query = "SELECT record FROM compliance_runs"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY started_at DESC, id DESC"
        if limit is not None:
            query += " LIMIT ?"
            args.append(max(int(limit), 0))
        with self._tx() as db:
            rows = db.execute(query, args).fetchall()
        return [ComplianceRun.model_validate_json(r[0]) for r in reversed(rows)]
