"""The PostgreSQL compliance stores: schedules and their firings, the run history, waivers.

Same contracts as `integrations.state.schedules`, `.compliance_history` and `.waivers`:

- a schedule's claim reads the schedule row ``FOR UPDATE`` (two processes racing one due time queue on
  that row), refuses a paused schedule or a due time not after ``last_due``, inserts the firing (its
  primary key (schedule, due time) refuses a second) and advances ``last_due``, in one transaction;
- a run is recorded once (``ON CONFLICT DO NOTHING``), read back as the validated JSON it was written as;
- a waiver request takes the next number under the table lock (two processes get distinct ids), a
  decision re-reads its waiver ``FOR UPDATE`` and allows only requested -> approved/rejected and
  approved -> revoked, so two approvers at once decide it once.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from integrations.state.postgres_tx import Cursor, PgStore, utc, utc_or_none
from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.compliance_records import ComplianceRun, Waiver, WaiverRequest, WaiverStatus
from toolkit.ports.schedule_records import RunOutcome, Schedule, ScheduleRun


class PgScheduleStore(PgStore):
    """`toolkit.ports.state.Schedules`: tables ``schedules`` and ``schedule_runs``."""

    @staticmethod
    def _read(cur: Cursor, schedule_id: str, *, lock: bool = False) -> Schedule:
        row = cur.execute("SELECT record FROM schedules WHERE id = %s" + (" FOR UPDATE" if lock else ""),  # noqa: S608
                          (schedule_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no compliance schedule {schedule_id!r}", schedule=schedule_id)
        return Schedule.model_validate_json(row["record"])

    @staticmethod
    def _write(cur: Cursor, schedule: Schedule) -> None:
        cur.execute("UPDATE schedules SET record = %s WHERE id = %s", (schedule.model_dump_json(), schedule.id))

    def add(self, schedule: Schedule) -> Schedule:
        try:
            with self._tx() as cur:
                cur.execute("INSERT INTO schedules (id, record) VALUES (%s, %s)",
                            (schedule.id, schedule.model_dump_json()))
        except psycopg.errors.UniqueViolation:
            raise ConflictError(f"a compliance schedule {schedule.id!r} exists already", schedule=schedule.id) from None
        return schedule

    def get(self, schedule_id: str) -> Schedule:
        with self._tx() as cur:
            return self._read(cur, schedule_id)

    def set_paused(self, schedule_id: str, paused: bool, now: datetime) -> tuple[Schedule, bool]:
        with self._tx() as cur:
            current = self._read(cur, schedule_id, lock=True)
            if current.paused == paused:
                return current, False
            update: dict[str, object] = {"paused": paused}
            if not paused:
                update["not_before"] = now.astimezone(UTC)
            changed = current.model_copy(update=update)
            self._write(cur, changed)
            return changed, True

    def claim(self, schedule_id: str, due_at: datetime, me: str, now: datetime) -> bool:
        with self._tx() as cur:
            try:
                current = self._read(cur, schedule_id, lock=True)
            except NotFoundError:
                return False
            if current.paused or (current.last_due is not None and due_at <= current.last_due):
                return False
            cur.execute("INSERT INTO schedule_runs (schedule_id, due_at, claimed_by, claimed_at, outcome, detail) "
                        "VALUES (%s, %s, %s, %s, 'claimed', '') ON CONFLICT DO NOTHING", (schedule_id, due_at, me, now))
            if cur.rowcount != 1:
                return False
            self._write(cur, current.model_copy(update={"last_due": due_at.astimezone(UTC)}))
            return True

    def finish(self, schedule_id: str, due_at: datetime, outcome: RunOutcome, detail: str, now: datetime) -> None:
        with self._tx() as cur:
            cur.execute("UPDATE schedule_runs SET outcome = %s, detail = %s, finished_at = %s "
                        "WHERE schedule_id = %s AND due_at = %s", (outcome, detail, now, schedule_id, due_at))

    def runs(self, schedule_id: str | None = None) -> list[ScheduleRun]:
        with self._tx() as cur:
            rows = cur.execute("SELECT * FROM schedule_runs WHERE (%(s)s::text IS NULL OR schedule_id = %(s)s) "
                               "ORDER BY due_at, schedule_id COLLATE \"C\"", {"s": schedule_id}).fetchall()
        return [ScheduleRun(schedule_id=r["schedule_id"], due_at=utc(r["due_at"]), claimed_by=r["claimed_by"],
                            claimed_at=utc(r["claimed_at"]), outcome=r["outcome"], detail=r["detail"],
                            finished_at=utc_or_none(r["finished_at"])) for r in rows]

    def list(self) -> list[Schedule]:
        with self._tx() as cur:
            rows = cur.execute("SELECT record FROM schedules ORDER BY id COLLATE \"C\"").fetchall()
        return [Schedule.model_validate_json(r["record"]) for r in rows]


def _counts(run: ComplianceRun) -> tuple[int, int, int, int, int]:
    results = [r for t in run.targets for r in t.rules]
    passed = sum(1 for r in results if r.verdict == "pass")
    waived = sum(1 for r in results if r.verdict == "fail" and r.waiver is not None)
    failed = sum(1 for r in results if r.verdict == "fail" and r.waiver is None)
    errors = sum(1 for r in results if r.verdict == "error")
    return len(results), passed, failed, waived, errors


class PgComplianceHistory(PgStore):
    """`toolkit.ports.state.ComplianceHistory`: table ``compliance_runs``, append-only."""

    def record(self, run: ComplianceRun) -> None:
        with self._tx() as cur:
            cur.execute("INSERT INTO compliance_runs (id, profile, started_at, finished_at, trigger, results, passed, "
                        "failed, waived, errors, record) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT (id) DO NOTHING",
                        (run.id, run.profile, run.started_at, run.finished_at, run.trigger, *_counts(run),
                         run.model_dump_json()))

    def get(self, run_id: str) -> ComplianceRun:
        with self._tx() as cur:
            row = cur.execute("SELECT record FROM compliance_runs WHERE id = %s", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no compliance run {run_id!r}", run=run_id)
        return ComplianceRun.model_validate_json(row["record"])

    def runs(self, profile: str | None = None, since: datetime | None = None,
             limit: int | None = None) -> list[ComplianceRun]:
        query = ("SELECT record FROM compliance_runs WHERE (%(p)s::text IS NULL OR profile = %(p)s) "
                 "AND (%(s)s::timestamptz IS NULL OR started_at >= %(s)s) "
                 "ORDER BY started_at DESC, id COLLATE \"C\" DESC")
        args: dict[str, object] = {"p": profile, "s": since}
        if limit is not None:
            query += " LIMIT %(n)s"
            args["n"] = max(int(limit), 0)
        with self._tx() as cur:
            rows = cur.execute(query, args).fetchall()
        return [ComplianceRun.model_validate_json(r["record"]) for r in reversed(rows)]


# What each decision may follow: anything else (a second approval, reviving a rejected waiver) conflicts.
_ALLOWED: dict[WaiverStatus, WaiverStatus] = {"approved": "requested", "rejected": "requested",
                                              "revoked": "approved"}


class PgWaiverStore(PgStore):
    """`toolkit.ports.state.Waivers`: table ``compliance_waivers``; ids ``W-0001``... in request order."""

    @staticmethod
    def _read(cur: Cursor, waiver_id: str, *, lock: bool = False) -> Waiver:
        row = cur.execute("SELECT record FROM compliance_waivers WHERE id = %s" + (" FOR UPDATE" if lock else ""),  # noqa: S608
                          (waiver_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no compliance waiver {waiver_id!r}", waiver=waiver_id)
        return Waiver.model_validate_json(row["record"])

    def request(self, req: WaiverRequest, by: str, now: datetime) -> Waiver:
        with self._tx(exclusive="compliance_waivers") as cur:
            row = cur.execute("SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM compliance_waivers").fetchone()
            seq = int(row["next"]) if row else 1
            waiver = Waiver(id=f"W-{seq:04d}", **req.model_dump(), requested_by=by, requested_at=now.astimezone(UTC))
            cur.execute("INSERT INTO compliance_waivers (seq, id, profile, target, rule_id, status, record) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        (seq, waiver.id, waiver.profile, waiver.target, waiver.rule_id, waiver.status,
                         waiver.model_dump_json()))
        return waiver

    def decide(self, waiver_id: str, status: WaiverStatus, by: str, now: datetime,
               note: str | None = None) -> Waiver:
        with self._tx() as cur:
            current = self._read(cur, waiver_id, lock=True)
            if _ALLOWED.get(status) != current.status:
                raise ConflictError(f"waiver {waiver_id} is {current.status}; it cannot become {status}",
                                    waiver=waiver_id, status=current.status, wanted=status)
            decided = Waiver.model_validate({**current.model_dump(), "status": status, "decided_by": by,
                                             "decided_at": now.astimezone(UTC), "decision_note": note})
            cur.execute("UPDATE compliance_waivers SET status = %s, record = %s WHERE id = %s",
                        (decided.status, decided.model_dump_json(), waiver_id))
        return decided

    def get(self, waiver_id: str) -> Waiver:
        with self._tx() as cur:
            return self._read(cur, waiver_id)

    def list(self, profile: str | None = None, target: str | None = None) -> list[Waiver]:
        with self._tx() as cur:
            rows = cur.execute("SELECT record FROM compliance_waivers WHERE (%(p)s::text IS NULL OR profile = %(p)s) "
                               "AND (%(t)s::text IS NULL OR target = %(t)s) ORDER BY seq",
                               {"p": profile, "t": target}).fetchall()
        return [Waiver.model_validate_json(r["record"]) for r in rows]
