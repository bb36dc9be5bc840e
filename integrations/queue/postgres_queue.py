"""The durable job queue on PostgreSQL, shared by the API, trigger and worker processes of several hosts.

The same guarantees as the SQLite queue, from PostgreSQL's row locks instead of one file lock:

* one job per idempotency key: ``INSERT ... ON CONFLICT DO NOTHING`` on a unique key; a concurrent enqueue of
  the same key waits for the first to commit and then finds its row;
* a job is claimed by one worker: one statement locks the oldest queued rows ``FOR UPDATE SKIP LOCKED``
  (claimers on other hosts skip them instead of queueing behind them) and gives each its lease and a fresh
  128-bit fencing token (``gen_random_uuid``); a job that is not idempotent only ever comes first in a batch;
* the token fences heartbeat, finish and release; an expired lease is reclaimed (re-queued when idempotent and
  attempts remain, failed for an operator otherwise) by whichever host looks first, the rows locked
  ``SKIP LOCKED`` so two reclaimers never handle one job;
* a finish (or a batch of them) writes the final state, the last log lines and the outbox items in one
  transaction. Instants are the application clock's, passed in: never the server's ``now()``.

The schema is managed by Alembic (`integrations.postgres.migrate`, ``spbe store migrate-schema``).
"""

# ruff: noqa: S608 - the statements are composed of this module's constant column lists, never of values

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from integrations.postgres.pool import PostgresOptions, database_from_settings
from integrations.queue.postgres_outbox import PostgresOutbox
from toolkit.clock import Clock, SystemClock
from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.jobs import TERMINAL_STATES, Job, JobFinish, JobPlan, JobSpec, JobState, OutboxItem
from toolkit.settings import Settings

_COLUMNS = ("xmin::text AS row_version, id, ticket_id, step_id, action, idempotency_key, idempotent, plan, plan_digest,"
            " input_digest, plan_error, state, attempt, max_attempts, created_at, started_at, finished_at, worker,"
            " lease_until, lease_token, cancel_requested, result, error, history")
_J_COLUMNS = "j.xmin::text AS row_version, " + ", ".join(
    "j." + c.strip() for c in _COLUMNS.split(",", 1)[1].split(","))
# The same with the jsonb columns as text, parsed only when a row is turned into a `Job`: a finish's answer
# and step_results' rows are mostly known already (the job as claimed, the memo by row version), and psycopg
# would otherwise parse every plan, result and history it fetches.
_JSON_COLUMNS = ("plan", "result", "history")
_LAZY_COLUMNS = _COLUMNS.replace(" plan,", " plan::text AS plan,").replace(" result,", " result::text AS result,") \
    .replace(" history", " history::text AS history")
_J_LAZY_COLUMNS = _J_COLUMNS.replace(" j.plan,", " j.plan::text AS plan,") \
    .replace(" j.result,", " j.result::text AS result,").replace(" j.history", " j.history::text AS history")

# The oldest claimable rows, locked without waiting; of them the first, and after it every one up to the next
# job that is not idempotent (rn = 1, or no such job after the first so far), each with its lease and a fresh
# token. The rows locked but not taken are unlocked at the statement's end (it is its own transaction).
_CLAIM = f"""
WITH locked AS (
    SELECT id, idempotent FROM jobs
    WHERE state = 'queued' AND (not_before IS NULL OR not_before <= %(now)s) {{ticket}}
    ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), ranked AS (
    SELECT id, row_number() OVER w AS rn,
        count(*) FILTER (WHERE NOT idempotent) OVER w - CASE WHEN first_value(idempotent) OVER w THEN 0 ELSE 1 END
        AS strict
    FROM locked WINDOW w AS (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
UPDATE jobs AS j SET state = 'running', attempt = j.attempt + 1, worker = %(worker)s, lease_until = %(until)s,
    lease_token = replace(gen_random_uuid()::text, '-', ''), started_at = %(now)s, finished_at = NULL, error = NULL,
    not_before = NULL
FROM ranked WHERE j.id = ranked.id AND (ranked.rn = 1 OR ranked.strict = 0)
RETURNING {_J_COLUMNS}
"""

_FINISH = f"""
UPDATE jobs AS j SET state = f.state, result = f.result::jsonb, error = f.error, finished_at = %(at)s,
    lease_until = NULL, lease_token = NULL
FROM unnest(%(ids)b::bigint[], %(tokens)b::text[], %(states)b::text[], %(results)b::text[], %(errors)b::text[])
    AS f(id, token, state, result, error)
WHERE j.id = f.id AND j.lease_token = f.token AND j.state = 'running'
RETURNING {_J_LAZY_COLUMNS}
"""

# Each job's lines after the ones it already has; the job's row is locked by the caller (its finish, or
# append_log's FOR NO KEY UPDATE), so two writers never number lines of one job at once.
_LOGS = """
INSERT INTO job_logs (job_id, seq, line)
SELECT l.job_id, coalesce((SELECT max(seq) FROM job_logs g WHERE g.job_id = l.job_id), 0) + l.n, l.line
FROM unnest(%b::bigint[], %b::int[], %b::text[]) AS l(job_id, n, line)
"""


class PostgresQueueOptions(PostgresOptions):
    """``queue.options`` of postgres: the DSN's secret name and the pool's size."""


class PostgresJobQueue(PostgresOutbox):
    Options = PostgresQueueOptions

    def __init__(self, *, settings: Settings, clock: Clock | None = None,
                 dsn_secret: str = "postgres_dsn",  # noqa: S107 - the name of a settings.secrets entry
                 pool_min: int = 1, pool_max: int = 10, connect_timeout_s: float = 10.0) -> None:
        """``clock`` is the composition root's (`App.clock`): leases, ``not_before`` and outbox retries are
        instants compared with its ``now()``, so a test can move past a lease instead of sleeping."""
        self._clock = clock or SystemClock()
        self._db = database_from_settings(settings, "job queue", dsn_secret=dsn_secret, pool_min=pool_min,
                                          pool_max=pool_max, connect_timeout_s=connect_timeout_s)
        self._init_wakeups()
        self._succeeded: dict[tuple[int, str], Job] = {}  # step_results' memo: (id, row version) -> Job
        self._claimed: dict[str, Job] = {}  # token -> the job as claimed here, for finish's answer

    def migrate_schema(self) -> str:
        """Bring the database to the schema's head (``spbe store migrate-schema``); returns the revision.
        Alembic (and SQLAlchemy) are imported here only: a worker does not pay ~0.3 s of imports for them."""
        from integrations.postgres.migrate import migrate

        return migrate(self._db.dsn)

    def close(self) -> None:
        self._stop_listener()
        self._db.close()

    # -- rows ------------------------------------------------------------------------------
    @staticmethod
    def _job(row: dict[str, Any], lazy: bool = False) -> Job:
        """``lazy``: a row of `_LAZY_COLUMNS`, its jsonb columns as text."""
        data = dict(row)
        data.pop("row_version", None)
        for name in _JSON_COLUMNS if lazy else ():
            if data[name] is not None:
                data[name] = json.loads(data[name])
        return Job.model_validate(data)

    def _rows(self, sql: str, args: Any = ()) -> list[dict[str, Any]]:
        with self._db.connection() as conn:
            return conn.cursor(row_factory=dict_row).execute(sql, args).fetchall()

    # -- jobs ------------------------------------------------------------------------------
    def enqueue(self, spec: JobSpec) -> tuple[Job, bool]:
        planned = spec.planned
        with self._db.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            rows = cur.execute(
                "INSERT INTO jobs (ticket_id, step_id, action, idempotency_key, idempotent, plan, plan_digest,"
                " input_digest, plan_error, state, max_attempts, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,"
                f"'queued',%s,%s) ON CONFLICT (idempotency_key) DO NOTHING RETURNING {_COLUMNS}",
                (spec.ticket_id, spec.step_id, spec.action, spec.idempotency_key, spec.idempotent,
                 Jsonb(planned.plan), planned.plan_digest, planned.input_digest, planned.error, spec.max_attempts,
                 self._now())).fetchall()
            created = bool(rows)
            if not created:  # a new statement, so a new snapshot: it sees the row the other enqueue committed
                rows = cur.execute(f"SELECT {_COLUMNS} FROM jobs WHERE idempotency_key=%s",
                                   (spec.idempotency_key,)).fetchall()
        return self._job(rows[0]), created

    def find(self, idempotency_key: str) -> Job | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM jobs WHERE idempotency_key=%s", (idempotency_key,))
        return self._job(rows[0]) if rows else None

    def reclaim_expired(self, on_failed: Callable[[Job], list[OutboxItem]] | None = None) -> list[Job]:
        """Jobs whose worker stopped renewing the lease: re-queued when the action is idempotent and attempts
        remain, failed otherwise, with ``on_failed``'s outbox items in the same transaction. Returns the jobs
        changed, as they now stand. The probe is a read on a partial index: the common case writes nothing."""
        now = self._now()
        if not self._rows("SELECT 1 FROM jobs WHERE state='running' AND lease_until < %s LIMIT 1", (now,)):
            return []
        changed: list[int] = []
        with self._db.transaction() as conn:
            cur = conn.cursor(row_factory=dict_row)
            expired = cur.execute(
                "SELECT id, idempotent, attempt, max_attempts, worker FROM jobs WHERE state='running'"
                " AND lease_until < %s ORDER BY id FOR UPDATE SKIP LOCKED", (now,)).fetchall()
            for row in expired:
                event = Jsonb([{"at": now.isoformat(), "event": "lease_expired", "worker": row["worker"],
                                "attempt": row["attempt"]}])
                if row["idempotent"] and row["attempt"] < row["max_attempts"]:
                    cur.execute("UPDATE jobs SET state='queued', worker=NULL, lease_until=NULL, lease_token=NULL,"
                                " history = history || %s WHERE id=%s", (event, row["id"]))
                else:
                    reason = ("worker lost mid-run and the action is not idempotent: not re-run automatically;"
                              " inspect the target, then 'spbe jobs retry'") if not row["idempotent"] else (
                              "worker lost mid-run and the attempts are used up")
                    failed = cur.execute(
                        "UPDATE jobs SET state='failed', finished_at=%s, error=%s, lease_until=NULL,"
                        f" lease_token=NULL, history = history || %s WHERE id=%s RETURNING {_COLUMNS}",
                        (now, reason, event, row["id"])).fetchall()
                    if on_failed is not None:
                        self._insert_outbox(conn, on_failed(self._job(failed[0])))
                changed.append(row["id"])
        return [self.get(job_id) for job_id in changed]

    def claim(self, worker: str, lease_seconds: float, ticket_id: str | None = None) -> Job | None:
        jobs = self.claim_batch(worker, lease_seconds, 1, ticket_id=ticket_id)
        return jobs[0] if jobs else None

    def claim_job(self, job_id: int, worker: str, lease_seconds: float) -> Job | None:
        """Claim this one job if it is queued and due (a distributed worker's message names it); None when it
        is not (a duplicate message: another worker holds it, or it is done)."""
        now = self._now()
        args: dict[str, Any] = {"now": now, "limit": 1, "worker": worker,
                                "until": now + timedelta(seconds=lease_seconds), "job": job_id}
        rows = self._rows(_CLAIM.format(ticket="AND id = %(job)s"), args)
        job = self._job(rows[0]) if rows else None
        if job is not None and job.lease_token:
            self._claimed[job.lease_token] = job
        return job

    def claim_batch(self, worker: str, lease_seconds: float, limit: int, ticket_id: str | None = None) -> list[Job]:
        """Up to ``limit`` queued jobs in one statement, oldest first, each with its own lease and token. Only
        the first may be an action that is not idempotent, and the batch stops before the next such job."""
        now = self._now()
        args: dict[str, Any] = {"now": now, "limit": max(1, int(limit)), "worker": worker,
                                "until": now + timedelta(seconds=lease_seconds), "ticket": ticket_id}
        sql = _CLAIM.format(ticket="AND ticket_id = %(ticket)s" if ticket_id is not None else "")
        jobs = sorted((self._job(r) for r in self._rows(sql, args)), key=lambda j: j.id)
        if len(self._claimed) > 10_000:  # jobs claimed here and finished elsewhere (a lost lease): forget them
            self._claimed.clear()
        self._claimed.update((job.lease_token, job) for job in jobs if job.lease_token)
        return jobs

    def heartbeat(self, job_id: int, token: str, lease_seconds: float) -> bool:
        with self._db.connection() as conn:
            cur = conn.execute("UPDATE jobs SET lease_until=%s WHERE id=%s AND lease_token=%s AND state='running'",
                               (self._now() + timedelta(seconds=lease_seconds), job_id, token))
            return cur.rowcount == 1

    def finish(self, job_id: int, token: str, state: JobState, result: dict[str, Any] | None,
               error: str | None, outbox: list[OutboxItem], logs: list[str] | None = None) -> Job | None:
        return self.finish_many([JobFinish(job_id, token, state, result, error, outbox, logs or [])])[0]

    def finish_many(self, finishes: list[JobFinish]) -> list[Job | None]:
        """The batch's finishes in one transaction: one UPDATE fenced row by row by each job's token (a job
        reclaimed meanwhile is left alone, None in its place), then the finished jobs' log lines and outbox
        items. Until it commits every job of it is still running under its lease."""
        for item in finishes:
            if item.state not in TERMINAL_STATES:
                raise ValueError(f"finish needs a terminal state, got {item.state}")
        if not finishes:
            return []
        finished_at = self._now()
        claimed = [self._claimed.pop(item.token, None) for item in finishes]
        results = [json.dumps(item.result) if item.result is not None else None for item in finishes]
        with self._db.transaction() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(_FINISH, {
                "at": finished_at, "ids": [i.job_id for i in finishes], "tokens": [i.token for i in finishes],
                "states": [i.state.value for i in finishes], "results": results,
                "errors": [i.error for i in finishes]}).fetchall()
            by_id = {r["id"]: r for r in rows}
            done_items = [item for item in finishes if item.job_id in by_id]
            self._insert_logs(conn, [(item.job_id, item.logs) for item in done_items])
            self._insert_outbox(conn, [o for item in done_items for o in item.outbox])
        answers: list[Job | None] = []
        for item, known in zip(finishes, claimed, strict=True):
            row = by_id.get(item.job_id)
            if row is None:
                answers.append(None)
            elif known is None or known.id != item.job_id:
                answers.append(self._job(row, lazy=True))
            else:  # the job as claimed here with what this statement changed: no second parse of the row
                job = known.model_copy(update={
                    "state": item.state, "result": None if row["result"] is None else json.loads(row["result"]),
                    "error": item.error,
                    "finished_at": row["finished_at"],
                    "lease_until": None, "lease_token": None, "cancel_requested": bool(row["cancel_requested"])})
                if item.state == JobState.SUCCEEDED:
                    self._remember((row["id"], row["row_version"]), job)
                answers.append(job)
        return answers

    def release(self, job_id: int, token: str, delay_seconds: float, note: str) -> bool:
        """Give a claimed job back untouched, claimable again after ``delay_seconds``; the attempt does not count."""
        self._claimed.pop(token, None)
        now = self._now()
        event = Jsonb([{"at": now.isoformat(), "event": "released", "note": note[:300]}])
        with self._db.connection() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state='queued', attempt=attempt-1, worker=NULL, lease_until=NULL, lease_token=NULL,"
                " started_at=NULL, not_before=%s, history = history || %s"
                " WHERE id=%s AND lease_token=%s AND state='running'",
                (now + timedelta(seconds=delay_seconds), event, job_id, token))
            return cur.rowcount == 1

    def get(self, job_id: int) -> Job:
        rows = self._rows(f"SELECT {_COLUMNS} FROM jobs WHERE id=%s", (job_id,))
        if not rows:
            raise NotFoundError(f"job {job_id} not found", job_id=job_id)
        return self._job(rows[0])

    def list_jobs(self, *, state: JobState | None = None, ticket_id: str | None = None,
                  limit: int = 200) -> list[Job]:
        query, args = f"SELECT {_COLUMNS} FROM jobs WHERE true", []
        if state is not None:
            query += " AND state=%s"
            args.append(state.value)
        if ticket_id is not None:
            query += " AND ticket_id=%s"
            args.append(ticket_id)
        return [self._job(r) for r in self._rows(query + " ORDER BY id DESC LIMIT %s", (*args, limit))]

    def job_counts(self) -> dict[str, int]:
        """Jobs per state, for the metrics endpoint."""
        return {r["state"]: int(r["n"]) for r in self._rows("SELECT state, count(*) AS n FROM jobs GROUP BY state")}

    def cancel(self, job_id: int) -> Job:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT state FROM jobs WHERE id=%s FOR UPDATE", (job_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"job {job_id} not found", job_id=job_id)
            if row[0] == JobState.QUEUED:
                conn.execute("UPDATE jobs SET state='canceled', finished_at=%s WHERE id=%s", (self._now(), job_id))
            elif row[0] == JobState.RUNNING:
                conn.execute("UPDATE jobs SET cancel_requested=true WHERE id=%s", (job_id,))
            else:
                raise ConflictError(f"job {job_id} is already {row[0]}", job_id=job_id)
        return self.get(job_id)

    def retry(self, job_id: int, replanned: JobPlan | None = None) -> Job:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT state, plan_digest FROM jobs WHERE id=%s FOR UPDATE", (job_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"job {job_id} not found", job_id=job_id)
            if row[0] not in (JobState.FAILED, JobState.CANCELED):
                raise ConflictError(f"job {job_id} is {row[0]}; only failed or canceled jobs are retried",
                                    job_id=job_id)
            event: dict[str, Any] = {"at": self._now().isoformat(), "event": "retry_requested"}
            if replanned is not None:
                event |= {"replanned": True, "previous_plan_digest": row[1], "plan_digest": replanned.plan_digest}
                conn.execute("UPDATE jobs SET plan=%s, plan_digest=%s, input_digest=%s, plan_error=%s WHERE id=%s",
                             (Jsonb(replanned.plan), replanned.plan_digest, replanned.input_digest, replanned.error,
                              job_id))
            conn.execute("UPDATE jobs SET state='queued', cancel_requested=false, max_attempts=max_attempts+1,"
                         " history = history || %s WHERE id=%s", (Jsonb([event]), job_id))
        return self.get(job_id)

    # -- logs ------------------------------------------------------------------------------
    def append_log(self, job_id: int, lines: list[str]) -> None:
        if not lines:
            return
        with self._db.transaction() as conn:
            conn.execute("SELECT 1 FROM jobs WHERE id=%s FOR NO KEY UPDATE", (job_id,))  # numbers its lines alone
            self._insert_logs(conn, [(job_id, lines)])

    @staticmethod
    def _insert_logs(conn: Any, lines: list[tuple[int, list[str]]]) -> None:
        flat = [(job_id, n, line) for job_id, job_lines in lines for n, line in enumerate(job_lines, start=1)]
        if flat:
            conn.execute(_LOGS, ([f[0] for f in flat], [f[1] for f in flat], [f[2] for f in flat]))

    def logs(self, job_id: int, after: int = 0) -> list[tuple[int, str]]:
        with self._db.connection() as conn:
            rows = conn.execute("SELECT seq, line FROM job_logs WHERE job_id=%s AND seq>%s ORDER BY seq",
                                (job_id, after)).fetchall()
        return [(int(r[0]), r[1]) for r in rows]

    # -- results ---------------------------------------------------------------------------
    def step_results(self, ticket_id: str) -> dict[str, Job]:
        """The latest succeeded job per step (read twice per job: its context, the advance after it); a row
        is parsed once per version (memoised by id and ``xmin``, which any change to the row replaces)."""
        return self.step_results_many([ticket_id]).get(ticket_id, {})

    def step_results_many(self, ticket_ids: list[str]) -> dict[str, dict[str, Job]]:
        """`step_results` of several tickets in one statement; every ticket asked for has an entry."""
        ids = list(dict.fromkeys(ticket_ids))
        found: dict[str, dict[str, Job]] = {tid: {} for tid in ids}
        if not ids:
            return found
        rows = self._rows(f"SELECT {_LAZY_COLUMNS} FROM jobs WHERE ticket_id = ANY(%b) AND state='succeeded'"
                          " ORDER BY id", (ids,))
        for r in rows:
            key = (r["id"], r["row_version"])
            job = self._succeeded.get(key)
            if job is None:
                job = self._remember(key, self._job(r, lazy=True))
            found[r["ticket_id"]][r["step_id"]] = job
        return found

    def _remember(self, key: tuple[int, str], job: Job) -> Job:
        if len(self._succeeded) >= 20_000:
            self._succeeded.clear()
        self._succeeded[key] = job
        return job
