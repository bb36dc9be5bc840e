"""The durable job queue on SQLite in WAL mode (the embedded default).

Every state change is one short ``BEGIN IMMEDIATE`` transaction, so several worker threads and
processes on one machine agree on who holds a job without any other coordinator. The fencing token
(128 random bits per claimed job) is checked on heartbeat and finish: a worker that was presumed dead and
comes back cannot overwrite the result of the worker that reclaimed its job.

What a job costs the file: a share of one transaction to claim a small batch (each job still with its
own lease and token), a share of one to finish the batch's quick idempotent jobs (`finish_many`: each
job's log lines, final state and outbox rows, each fenced by its own token), and a share of one per
outbox round delivered. ``synchronous=NORMAL`` (the `toolkit.sqlite_tx` default): in WAL mode
a committed transaction survives the process being killed (the WAL is written before COMMIT returns);
a power cut can roll back the last commits, which for a finish is the case of a worker lost mid-job
(the lease expires, the job is re-run when idempotent, failed for an operator otherwise) and for an
outbox mark a repeated delivery the ticket system's dedupe keys absorb. FULL would add an fsync to
every commit, the dominant cost of a short job, to close a gap those guarantees already cover.

Enqueues, releases, retries and reclaims wake workers of this process waiting in `wait_for_work`;
workers of other processes notice on their next poll.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from integrations.queue.sqlite_outbox import SqliteOutbox
from integrations.queue.sqlite_outbox import iso as _iso
from integrations.queue.sqlite_queue_schema import ADDED_COLUMNS as _ADDED_COLUMNS
from integrations.queue.sqlite_queue_schema import FINISH as _FINISH
from integrations.queue.sqlite_queue_schema import SCHEMA as _SCHEMA
from integrations.queue.writer_gate import WriterGate
from toolkit.adapter_options import AdapterOptions
from toolkit.clock import Clock, SystemClock
from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.jobs import (
    TERMINAL_STATES,
    Job,
    JobFinish,
    JobPlan,
    JobSpec,
    JobState,
    OutboxItem,
)
from toolkit.private_files import private_dir, private_file
from toolkit.settings import Settings


class SqliteQueueOptions(AdapterOptions):
    """``queue.options`` of sqlite."""

    db_name: str = Field(default="queue.db", pattern=r"^[A-Za-z0-9._-]{1,128}$",
                         description="the SQLite file, under state_dir")
    busy_timeout_ms: int = Field(default=5000, ge=0, le=600_000)


class SqliteJobQueue(SqliteOutbox):
    Options = SqliteQueueOptions

    def __init__(self, *, settings: Settings, clock: Clock | None = None, db_name: str = "queue.db",
                 busy_timeout_ms: int = 5000) -> None:
        """``clock`` is the composition root's (`App.clock`): leases, ``not_before`` and outbox retries are
        instants compared with its ``now()``, so a test can move past a lease instead of sleeping."""
        self._clock: Clock = clock or SystemClock()
        self.path = Path(settings.state_dir) / db_name
        private_dir(self.path.parent)
        private_file(self.path)  # jobs carry plans and results: owner-only, like the other stores
        self._busy_timeout_ms = busy_timeout_ms
        self._gate = WriterGate(busy_timeout_ms / 1000)  # this process's writers, one at a time
        self._local = threading.local()
        self._work = threading.Condition()  # notified when a job becomes claimable in this process
        self._work_seq = 0
        self._succeeded: dict[tuple[Any, ...], Job] = {}  # step_results' memo: row -> Job
        self._claimed: dict[str, Job] = {}  # token -> the job as claimed here, for finish's answer
        self._conn().executescript(_SCHEMA)  # executescript manages its own transaction
        columns = {row[1] for row in self._conn().execute("PRAGMA table_info(jobs)")}
        for column, kind in _ADDED_COLUMNS:  # a queue created by an earlier version
            if column not in columns:
                self._conn().execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")

    # -- wake-ups --------------------------------------------------------------------------
    def _notify_work(self) -> None:
        with self._work:
            self._work_seq += 1
            self._work.notify_all()

    def wait_for_work(self, timeout: float, seen: int | None = None) -> int:
        """Block until a job may have become claimable in this process (or ``timeout`` passes); returns
        the wake-up count to pass back as ``seen``, so a notice given between two waits is not missed."""
        with self._work:
            if seen is None or seen == self._work_seq:
                self._work.wait(timeout)
            return self._work_seq

    # -- jobs ------------------------------------------------------------------------------
    @staticmethod
    def _job(row: sqlite3.Row) -> Job:
        data = dict(row)
        data["plan"] = json.loads(data["plan"])
        data["result"] = json.loads(data["result"]) if data["result"] else None
        data["history"] = json.loads(data["history"])
        data["idempotent"] = bool(data["idempotent"])
        data["cancel_requested"] = bool(data["cancel_requested"])
        data.pop("not_before", None)
        lease = data.pop("lease_until")
        data["lease_until"] = datetime.fromtimestamp(lease, UTC) if lease else None
        return Job.model_validate(data)

    def enqueue(self, spec: JobSpec) -> tuple[Job, bool]:
        with self._tx() as db:
            row = db.execute("SELECT * FROM jobs WHERE idempotency_key=?", (spec.idempotency_key,)).fetchone()
            if row is not None:  # checked first so a duplicate does not burn an id
                return self._job(row), False
            planned = spec.planned
            cur = db.execute(
                "INSERT INTO jobs (ticket_id, step_id, action, idempotency_key, idempotent, plan, plan_digest,"
                " input_digest, plan_error, state, max_attempts, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(idempotency_key) DO NOTHING",
                (spec.ticket_id, spec.step_id, spec.action, spec.idempotency_key, int(spec.idempotent),
                 json.dumps(planned.plan), planned.plan_digest, planned.input_digest, planned.error,
                 JobState.QUEUED.value, spec.max_attempts, _iso(self._now())),
            )
            created = cur.rowcount == 1
            row = db.execute("SELECT * FROM jobs WHERE idempotency_key=?", (spec.idempotency_key,)).fetchone()
        if created:
            self._notify_work()
        return self._job(row), created

    def find(self, idempotency_key: str) -> Job | None:
        rows = self._read("SELECT * FROM jobs WHERE idempotency_key=?", (idempotency_key,))
        return self._job(rows[0]) if rows else None

    def reclaim_expired(self, on_failed: Callable[[Job], list[OutboxItem]] | None = None) -> list[Job]:
        """Jobs whose worker stopped renewing the lease: re-queued when the action is idempotent
        and attempts remain, failed otherwise. ``on_failed`` gives the outbox items that tell the
        ticket about a job failed here; they are written in the same transaction, so the notice
        cannot be lost between the two. Returns the jobs changed, as they now stand."""
        changed: list[int] = []
        probe = self._read("SELECT 1 FROM jobs WHERE state='running' AND lease_until < ? LIMIT 1",
                           (self._now().timestamp(),))
        if not probe:  # the common case costs a read, not a write lock
            return []
        with self._tx() as db:
            expired = db.execute(
                "SELECT id, idempotent, attempt, max_attempts, worker, history FROM jobs"
                " WHERE state='running' AND lease_until < ?", (self._now().timestamp(),)
            ).fetchall()
            for row in expired:
                history = json.loads(row["history"])
                history.append({"at": _iso(self._now()), "event": "lease_expired", "worker": row["worker"],
                                "attempt": row["attempt"]})
                if row["idempotent"] and row["attempt"] < row["max_attempts"]:
                    db.execute(
                        "UPDATE jobs SET state='queued', worker=NULL, lease_until=NULL, lease_token=NULL, history=?"
                        " WHERE id=?", (json.dumps(history), row["id"]))
                else:
                    reason = ("worker lost mid-run and the action is not idempotent: not re-run automatically;"
                              " inspect the target, then 'spbe jobs retry'") if not row["idempotent"] else (
                              "worker lost mid-run and the attempts are used up")
                    db.execute(
                        "UPDATE jobs SET state='failed', finished_at=?, error=?, lease_until=NULL, lease_token=NULL,"
                        " history=? WHERE id=?", (_iso(self._now()), reason, json.dumps(history), row["id"]))
                    if on_failed is not None:
                        failed = self._job(db.execute("SELECT * FROM jobs WHERE id=?", (row["id"],)).fetchone())
                        self._insert_outbox(db, on_failed(failed))
                changed.append(row["id"])
        self._notify_work()
        return [self.get(job_id) for job_id in changed]

    def claim(self, worker: str, lease_seconds: float, ticket_id: str | None = None) -> Job | None:
        jobs = self.claim_batch(worker, lease_seconds, 1, ticket_id=ticket_id)
        return jobs[0] if jobs else None

    def claim_job(self, job_id: int, worker: str, lease_seconds: float) -> Job | None:
        """Claim this one job if it is queued and due (a distributed worker's message names it); None when it
        is not (a duplicate message: another worker holds it, or it is done)."""
        now = self._now()
        with self._tx() as db:
            rows = db.execute(
                "UPDATE jobs SET state='running', attempt=attempt+1, worker=?, lease_until=?, lease_token=?,"
                " started_at=?, finished_at=NULL, error=NULL, not_before=NULL WHERE id=? AND state='queued'"
                " AND (not_before IS NULL OR not_before <= ?) RETURNING *",
                (worker, now.timestamp() + lease_seconds, os.urandom(16).hex(), _iso(now), job_id, now.timestamp()),
            ).fetchall()
        job = self._job(rows[0]) if rows else None
        if job is not None and job.lease_token:
            self._claimed[job.lease_token] = job
        return job

    def claim_batch(self, worker: str, lease_seconds: float, limit: int, ticket_id: str | None = None) -> list[Job]:
        """Up to ``limit`` queued jobs in one transaction, oldest first, each with its own lease and token.
        Only the first may be an action that is not idempotent, and the batch stops before the next
        such job: a held job whose worker dies is reclaimed like any other, and a non-idempotent one
        is then failed for an operator, so it must be claimed only right before it runs."""
        now = self._now()
        query = "SELECT id, idempotent FROM jobs WHERE state='queued' AND (not_before IS NULL OR not_before <= ?)"
        args: tuple[Any, ...] = (now.timestamp(),)
        if ticket_id is not None:
            query += " AND ticket_id=?"
            args = (*args, ticket_id)
        jobs: list[Job] = []
        with self._tx() as db:
            ids: list[int] = []
            for row in db.execute(query + " ORDER BY id LIMIT ?", (*args, max(1, int(limit)))).fetchall():
                if ids and not row["idempotent"]:
                    break
                ids.append(row["id"])
            tokens = os.urandom(16 * len(ids)).hex()  # a fresh 128-bit token each, from one system call
            for index, job_id in enumerate(ids):
                claimed = db.execute(
                    "UPDATE jobs SET state='running', attempt=attempt+1, worker=?, lease_until=?, lease_token=?,"
                    " started_at=?, finished_at=NULL, error=NULL, not_before=NULL WHERE id=? RETURNING *",
                    (worker, now.timestamp() + lease_seconds, tokens[index * 32:index * 32 + 32], _iso(now), job_id),
                ).fetchall()
                jobs.extend(self._job(r) for r in claimed)
        if len(self._claimed) > 10_000:  # jobs claimed here and finished elsewhere (a lost lease): forget them
            self._claimed.clear()
        self._claimed.update((job.lease_token, job) for job in jobs if job.lease_token)
        return jobs

    def heartbeat(self, job_id: int, token: str, lease_seconds: float) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET lease_until=? WHERE id=? AND lease_token=? AND state='running'",
                (self._now().timestamp() + lease_seconds, job_id, token),
            )
            return cur.rowcount == 1

    def finish(self, job_id: int, token: str, state: JobState, result: dict[str, Any] | None,
               error: str | None, outbox: list[OutboxItem], logs: list[str] | None = None) -> Job | None:
        return self.finish_many([JobFinish(job_id, token, state, result, error, outbox, logs or [])])[0]

    def finish_many(self, finishes: list[JobFinish]) -> list[Job | None]:
        """The batch's finishes in one transaction (`spbe serve` records a batch of quick jobs together):
        each UPDATE is fenced by its own token, so a job reclaimed meanwhile is left alone (None in its
        place) while the others are recorded. Until this commits, every job of it is still running under
        its lease: a crash re-runs them (they are idempotent: the worker defers only those), never loses one."""
        for item in finishes:
            if item.state not in TERMINAL_STATES:
                raise ValueError(f"finish needs a terminal state, got {item.state}")
        finished_at = self._now()
        at = _iso(finished_at)
        claimed = [self._claimed.pop(item.token, None) for item in finishes]
        results = [json.dumps(item.result) if item.result is not None else None for item in finishes]
        rows: list[sqlite3.Row | None] = []
        with self._tx() as db:
            outbox: list[OutboxItem] = []
            logs: dict[int, list[str]] = {}
            for item, result in zip(finishes, results, strict=True):
                found = db.execute(_FINISH + " RETURNING *",
                                   (item.state.value, result, item.error, at, item.job_id, item.token)).fetchall()
                rows.append(found[0] if found else None)
                if not found:
                    continue
                if item.logs:
                    logs.setdefault(item.job_id, []).extend(item.logs)
                outbox.extend(item.outbox)
            self._insert_logs_many(db, logs)
            self._insert_outbox(db, outbox)
        done: list[Job | None] = []
        for item, known, result, row in zip(finishes, claimed, results, rows, strict=True):
            if row is None:
                done.append(None)
            elif known is None or known.id != item.job_id:
                done.append(self._job(row))
            else:
                # The row as claimed here, with what this statement changed (and a cancel asked for meanwhile):
                # the same values a re-read would give, without parsing the row again.
                job = known.model_copy(update={
                    "state": item.state, "result": json.loads(result) if result is not None else None,
                    "error": item.error, "finished_at": finished_at, "lease_until": None, "lease_token": None,
                    "cancel_requested": bool(row["cancel_requested"])})
                if item.state == JobState.SUCCEEDED:  # the advance after it reads this very row: parsed already
                    self._remember(tuple(row), job)
                done.append(job)
        return done

    def release(self, job_id: int, token: str, delay_seconds: float, note: str) -> bool:
        """Give a claimed job back untouched (nothing ran: e.g. the ticket could not be read), to be
        claimed again after ``delay_seconds``; the attempt does not count."""
        self._claimed.pop(token, None)
        with self._tx() as db:
            row = db.execute("SELECT history FROM jobs WHERE id=? AND lease_token=? AND state='running'",
                             (job_id, token)).fetchone()
            if row is None:
                return False
            history = json.loads(row["history"]) + [{"at": _iso(self._now()), "event": "released", "note": note[:300]}]
            db.execute(
                "UPDATE jobs SET state='queued', attempt=attempt-1, worker=NULL, lease_until=NULL, lease_token=NULL,"
                " started_at=NULL, not_before=?, history=? WHERE id=?",
                (self._now().timestamp() + delay_seconds, json.dumps(history), job_id))
        self._notify_work()
        return True

    def get(self, job_id: int) -> Job:
        rows = self._read("SELECT * FROM jobs WHERE id=?", (job_id,))
        if not rows:
            raise NotFoundError(f"job {job_id} not found", job_id=job_id)
        return self._job(rows[0])

    def list_jobs(self, *, state: JobState | None = None, ticket_id: str | None = None,
                  limit: int = 200) -> list[Job]:
        query, args = "SELECT * FROM jobs WHERE 1=1", []
        if state is not None:
            query += " AND state=?"
            args.append(state.value)
        if ticket_id is not None:
            query += " AND ticket_id=?"
            args.append(ticket_id)
        rows = self._read(query + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [self._job(r) for r in rows]

    def job_counts(self) -> dict[str, int]:
        """Jobs per state, for the metrics endpoint: one indexed GROUP BY, whatever the queue holds."""
        return {r["state"]: int(r["n"]) for r in self._read("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")}

    def cancel(self, job_id: int) -> Job:
        with self._tx() as db:
            row = db.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"job {job_id} not found", job_id=job_id)
            if row["state"] == JobState.QUEUED:
                db.execute("UPDATE jobs SET state='canceled', finished_at=? WHERE id=?", (_iso(self._now()), job_id))
            elif row["state"] == JobState.RUNNING:
                db.execute("UPDATE jobs SET cancel_requested=1 WHERE id=?", (job_id,))
            else:
                raise ConflictError(f"job {job_id} is already {row['state']}", job_id=job_id)
        return self.get(job_id)

    def retry(self, job_id: int, replanned: JobPlan | None = None) -> Job:
        with self._tx() as db:
            row = db.execute("SELECT state, history, plan_digest FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"job {job_id} not found", job_id=job_id)
            if row["state"] not in (JobState.FAILED, JobState.CANCELED):
                raise ConflictError(f"job {job_id} is {row['state']}; only failed or canceled jobs are retried",
                                    job_id=job_id)
            event: dict[str, Any] = {"at": _iso(self._now()), "event": "retry_requested"}
            if replanned is not None:
                event |= {"replanned": True, "previous_plan_digest": row["plan_digest"],
                          "plan_digest": replanned.plan_digest}
                db.execute("UPDATE jobs SET plan=?, plan_digest=?, input_digest=?, plan_error=? WHERE id=?",
                           (json.dumps(replanned.plan), replanned.plan_digest, replanned.input_digest,
                            replanned.error, job_id))
            history = json.loads(row["history"]) + [event]
            db.execute(
                "UPDATE jobs SET state='queued', cancel_requested=0, max_attempts=max_attempts+1, history=?"
                " WHERE id=?", (json.dumps(history), job_id))
        self._notify_work()
        return self.get(job_id)

    def append_log(self, job_id: int, lines: list[str]) -> None:
        if not lines:
            return
        with self._tx() as db:
            self._insert_logs_many(db, {job_id: lines})

    @staticmethod
    def _insert_logs_many(db: sqlite3.Connection, lines: dict[int, list[str]]) -> None:
        """Each job's lines after the ones it already has (a chatty job flushed some while it ran): one
        statement for the jobs' last seqs and one insert for all the lines (a batch's finish)."""
        if not lines:
            return
        ids = list(lines)
        marks = ",".join("?" * len(ids))
        last = dict(db.execute(f"SELECT job_id, MAX(seq) FROM job_logs WHERE job_id IN ({marks})"  # noqa: S608
                               " GROUP BY job_id", ids).fetchall())
        db.executemany("INSERT INTO job_logs (job_id, seq, line) VALUES (?,?,?)",
                       [(job_id, (last.get(job_id) or 0) + i + 1, line)
                        for job_id, job_lines in lines.items() for i, line in enumerate(job_lines)])

    def logs(self, job_id: int, after: int = 0) -> list[tuple[int, str]]:
        rows = self._read("SELECT seq, line FROM job_logs WHERE job_id=? AND seq>? ORDER BY seq", (job_id, after))
        return [(r["seq"], r["line"]) for r in rows]

    def step_results(self, ticket_id: str) -> dict[str, Job]:
        """Read twice per job (its context, the advance after it); a succeeded job's row no longer changes,
        so each exact row is validated once (memoised by the whole row: a row changed in any way is parsed
        again)."""
        return self.step_results_many([ticket_id]).get(ticket_id, {})

    def step_results_many(self, ticket_ids: list[str]) -> dict[str, dict[str, Job]]:
        """`step_results` of several tickets in one statement (a worker's batch); every ticket asked for
        has an entry, empty when none of its jobs succeeded."""
        ids = list(dict.fromkeys(ticket_ids))
        found: dict[str, dict[str, Job]] = {tid: {} for tid in ids}
        if not ids:
            return found
        # The ticket index, named: for an IN list SQLite would rather walk jobs_claim's every succeeded job.
        marks = ",".join("?" * len(ids))
        query = f"SELECT * FROM jobs INDEXED BY jobs_ticket WHERE ticket_id IN ({marks}) AND state='succeeded'"  # noqa: S608
        rows = self._read(query + " ORDER BY id", tuple(ids))
        memo = self._succeeded
        for r in rows:
            key = tuple(r)
            job = memo.get(key)
            if job is None:
                job = self._remember(key, self._job(r))
            found[r["ticket_id"]][r["step_id"]] = job
        return found

    def _remember(self, row: tuple[Any, ...], job: Job) -> Job:
        """`step_results`' memo: the whole stored row -> its model (a changed row is another key)."""
        if len(self._succeeded) >= 20_000:
            self._succeeded.clear()
        self._succeeded[row] = job
        return job
