"""How `spbe serve`'s workers run jobs: claimed in small batches, audited in groups.

A no-op job used to cost its worker three audit commits (start, finish, delivery), a claim and a finish
transaction, a log transaction, a heartbeat thread and an outbox round. Here a worker claims up to
``limit`` jobs in one transaction (each keeps its own lease and token, renewed by the process's
`LeaseKeeper`; a dead worker's batch is reclaimed job by job), checks them, writes their start entries
in one audit commit and only then runs them one after the other. The results of quick idempotent jobs
are recorded together: one queue transaction (`JobQueue.finish_many`: each job's result, last log lines
and outbox rows, each fenced by its own token) once the batch has run, or once the oldest result has
waited ``RECORD_S``; then their tickets are advanced. Until that commit each job is still running under
its lease, so a crash in between re-runs it (it is idempotent), and after it the job is done for good.
A job whose action is not idempotent is recorded the moment it ends, alone (it also only ever heads a
batch). The finish entries go to the `AuditWriter` without waiting, and are committed with the next
batch's start entries or after its short linger, whichever comes first.
Results reach the tickets through the server's outbox thread, not from inside the worker.

The batch grows only while jobs are quick (`BatchSize`): a long action is claimed on its own, so it
does not hold queued jobs another worker could run. When a batch still runs long, its jobs not yet
started are handed back (the attempt does not count; ``job.release`` in the audit log).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from toolkit.engine import scheduler
from toolkit.engine.audit_writer import AuditWriter
from toolkit.engine.audit_writer import Item as AuditItem
from toolkit.engine.leases import Held, LeaseKeeper
from toolkit.engine.scheduler import Snapshot
from toolkit.engine.services import EngineServices
from toolkit.engine.worker import Prepared, Ran, prepare, reclaim, record_many, run_action, start_entry
from toolkit.errors import ToolkitError
from toolkit.observability.jobs import observed_job
from toolkit.ports.jobs import Job, JobState

log = logging.getLogger("spbe.worker")

QUICK_S = 0.05  # a job this quick lets the next batch grow
HOLD_S = 1.0  # a batch running longer than this hands its unstarted jobs back
RECORD_S = 0.02  # the longest a finished job's result waits for the batch's others to be recorded with it
RECLAIM_S = 1.0  # a worker looks for expired leases at most this often (by the app's clock; a quarter lease if less)


@dataclass
class BatchSize:
    """Doubles after a batch of quick jobs, up to ``most``; back to one after any slow job. It is the worker
    loop's state between batches, so it also remembers when this worker last reclaimed expired leases."""

    most: int = 16
    now: int = 1
    reclaimed_at: float | None = None  # the app clock's timestamp of the last `reclaim`

    def reclaim_due(self, now: float, lease_seconds: float) -> bool:
        """Whether to look for expired leases now. A lease expires ``lease_seconds`` after its last renewal,
        so looking every batch (a read transaction each, a tenth of a batch's queue reads) found nothing
        almost always; looking at most every `RECLAIM_S` (or a quarter lease) takes a dead worker's job back
        at most that much later. A clock moved back (or a test's clock moved ahead) looks at once."""
        last = self.reclaimed_at
        if last is None or not 0 <= now - last < min(RECLAIM_S, lease_seconds / 4):
            self.reclaimed_at = now
            return True
        return False

    def after(self, durations: list[float]) -> None:
        if durations and max(durations) < QUICK_S:
            self.now = min(self.most, self.now * 2)
        else:
            self.now = 1


def _release_entry(job: Job, why: str) -> AuditItem:
    return (job.worker or "worker", "job.release", job.ticket_id,
            {"auth": "engine", "job": job.id, "attempt": job.attempt, "reason": why})


def work_batch(app: EngineServices, worker: str, size: BatchSize, keeper: LeaseKeeper, writer: AuditWriter,
               stop: threading.Event | None = None, abort: threading.Event | None = None) -> list[Job]:
    """Claim up to ``size.now`` jobs and run them; returns them as recorded (empty: nothing was queued).
    Expired leases are taken back first, when due (`BatchSize.reclaim_due`)."""
    if size.reclaim_due(app.clock.now().timestamp(), app.settings.workers.lease_seconds):
        reclaim(app)
    jobs = app.queue.claim_batch(worker, app.settings.workers.lease_seconds, size.now)
    if not jobs:
        return []
    held = {job.id: keeper.hold(job) for job in jobs}
    done: list[Job] = []
    durations: list[float] = []
    pending: list[tuple[Ran, Prepared]] = []  # run, not yet recorded: recorded together (`_record`)
    try:
        ready: list[Prepared] = []
        tickets = [job.ticket_id for job in jobs]
        read, prior = _read_batch(app, tickets)
        for job in jobs:
            prepared = prepare(app, job, read.get(job.ticket_id), prior.get(job.ticket_id))
            if prepared is None:  # released: a store could not be read
                done.append(app.queue.get(job.id))
            else:
                ready.append(prepared)
        starts = [start_entry(r.job) for r in ready if r.error is None]
        try:
            writer.write(starts)  # on disk before any of these actions runs
        except ToolkitError as exc:  # not audited, not run: the jobs fail with the reason
            ready = [Prepared(r.job, r.step, None, None, None, error=r.error or app.masker(str(exc)), seen=r.seen)
                     for r in ready]
        began = oldest = time.monotonic()
        for index, item in enumerate(ready):
            job = item.job
            if index and ((stop is not None and stop.is_set()) or time.monotonic() - began > HOLD_S):
                _record(app, pending, held, keeper, writer, done)
                why = "shutdown" if stop is not None and stop.is_set() else "batch ran long"
                if app.queue.release(job.id, job.lease_token or "", 0, f"handed back unstarted ({why})"):
                    writer.submit([_release_entry(job, why)])
                done.append(app.queue.get(job.id))
                continue
            t0 = time.monotonic()
            with observed_job(app.telemetry, job, worker) as seen:  # job context, start/end lines, duration
                ran = run_action(app, item, held[job.id].lost, abort)
                # A result waiting for its batch's commit is observed as it will be recorded; one fenced off
                # at that commit (its lease lost in between) is logged by `record_many`.
                seen.record(ran if isinstance(ran, Job) else job.model_copy(update={"state": ran.finish.state}))
            durations.append(time.monotonic() - t0)
            if isinstance(ran, Job):  # nothing to record: the lease was lost, or the job was handed back
                _record(app, pending, held, keeper, writer, done)  # (the order of ``done`` is kept)
                keeper.drop(held.pop(job.id))
                done.append(ran)
                continue
            if not pending:
                oldest = time.monotonic()
            pending.append((ran, item))
            if not job.idempotent or time.monotonic() - oldest > RECORD_S:
                _record(app, pending, held, keeper, writer, done)
        _record(app, pending, held, keeper, writer, done)
    finally:
        # What is still held was not recorded (an error cut the batch short): it stays running under its
        # lease, which is no longer renewed; it expires and the job is reclaimed and run again.
        for item_held in held.values():
            keeper.drop(item_held)
        size.after(durations)
    return done


def _record(app: EngineServices, pending: list[tuple[Ran, Prepared]], held: dict[int, Held], keeper: LeaseKeeper,
            writer: AuditWriter, done: list[Job]) -> None:
    """Record the pending results in one queue transaction, hand their finish entries to the audit writer,
    and advance the tickets of the jobs that succeeded (after the commit: the advance reads the job records).
    ``pending`` is emptied first: a failed commit is not tried again here."""
    if not pending:
        return
    batch = pending[:]
    pending.clear()
    recorded = record_many(app, [ran for ran, _ in batch])
    entries: list[AuditItem] = []
    for (ran, _), (finished, entry) in zip(batch, recorded, strict=True):
        keeper.drop(held.pop(ran.job.id))
        done.append(finished)
        if entry is not None:
            entries.append(entry)
    writer.submit(entries)
    succeeded = [(item, finished) for (_, item), (finished, _) in zip(batch, recorded, strict=True)
                 if finished.state == JobState.SUCCEEDED]
    if not succeeded:
        return
    try:  # what the advances read, for all of them at once, now that the results are recorded
        current = scheduler.still_current(app, {f.ticket_id: i.seen for i, f in succeeded if i.seen is not None})
        results = _step_results(app, [f.ticket_id for _, f in succeeded])
    except ToolkitError as exc:  # each advance reads for itself
        log.debug("batch read before the advances: %s", app.masker(str(exc)))
        current, results = {}, {}
    for item, finished in succeeded:
        try:
            tid = finished.ticket_id
            scheduler.advance(app, tid, current.get(tid, item.seen), current=tid in current,
                              results=results.get(tid))
        except ToolkitError as exc:  # the trigger's sweep will advance it later
            log.warning("advance after job %s failed: %s", finished.id, app.masker(str(exc)))


def _step_results(app: EngineServices, ticket_ids: list[str]) -> dict[str, dict[str, Job]]:
    """The tickets' succeeded jobs from one read when the queue offers it (``step_results_many``)."""
    many: Callable[[list[str]], dict[str, dict[str, Job]]] | None = getattr(app.queue, "step_results_many", None)
    return many(ticket_ids) if many is not None else {}


def _read_batch(app: EngineServices, ticket_ids: list[str]) -> tuple[dict[str, Snapshot], dict[str, dict[str, Job]]]:
    """The batch's tickets and their succeeded jobs, read together before any of its jobs is prepared (the
    same reads `prepare` makes for one job, a statement or two for all of them). A store that cannot be
    read now leaves both empty: each job then reads for itself, and is handed back if that fails too."""
    try:
        return scheduler.read_tickets(app, ticket_ids), _step_results(app, ticket_ids)
    except ToolkitError as exc:
        log.debug("batch read: %s", app.masker(str(exc)))
        return {}, {}
