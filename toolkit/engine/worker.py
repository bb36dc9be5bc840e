"""Run claimed jobs: load the stored plan, execute it, record, and hand the results to the outbox.

The worker never plans: it runs the plan stored with the job when it was created, after checking it
is intact and still made from the ticket's current input (`toolkit.engine.planning`).

The process's lease keeper (`toolkit.engine.leases`) renews the lease while the action runs; if
renewal fails (the job was reclaimed after this worker stalled), the action is asked to stop and its
result is discarded by the fencing token. Exceptions are masked before they reach a log, the job or
the ticket. `work_once` runs one job with its audit entries written as it goes (`spbe run`, the
tests); `spbe serve`'s workers run the same phases (`prepare`, `execute`) in batches
(`toolkit.engine.batch`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from toolkit.actions.base import ActionResult, RunContext
from toolkit.at_rest import ARTIFACT, is_sealed_file
from toolkit.domain.tickets.models import EventKind
from toolkit.engine import planning, scheduler
from toolkit.engine.audit_writer import Item as AuditItem
from toolkit.engine.leases import keeper_for
from toolkit.engine.outbox import attachment_item, deliver_due, event_item
from toolkit.engine.services import EngineServices
from toolkit.errors import ToolkitError, UnavailableError
from toolkit.observability.jobs import observed_job
from toolkit.ports.jobs import Job, JobFinish, JobState, OutboxItem

log = logging.getLogger("spbe.worker")
output_log = logging.getLogger("spbe.job.output")  # the job's own lines, masked, at DEBUG


def worker_id(suffix: str = "") -> str:
    return f"{socket.gethostname()}:{os.getpid()}{':' + suffix if suffix else ''}"


class _LogBuffer:
    """Batches log lines into the queue so a chatty playbook does not cost a commit per line; the last
    lines are written with the job's finish (`take`), in its transaction."""

    def __init__(self, app: EngineServices, job_id: int, flush_every: float = 0.5) -> None:
        self._app, self._job_id, self._flush_every = app, job_id, flush_every
        self._lines: list[str] = []
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        masked = self._app.masker(line).splitlines() or [""]
        for text in masked:
            output_log.debug(text)
        with self._lock:
            self._lines.extend(masked)
            due = time.monotonic() - self._last > self._flush_every
        if due:
            self.flush()

    def flush(self) -> None:
        self.write(self.take())

    def take(self) -> list[str]:
        with self._lock:
            lines, self._lines = self._lines, []
            self._last = time.monotonic()
        return lines

    def write(self, lines: list[str]) -> None:
        self._app.queue.append_log(self._job_id, lines)


def _cancel_check(app: EngineServices, job: Job, lost: threading.Event,
                  abort: threading.Event | None) -> Callable[[], bool]:
    last = {"at": 0.0, "value": False}

    def should_cancel() -> bool:
        if lost.is_set() or (abort is not None and abort.is_set()):
            return True
        if time.monotonic() - last["at"] > 1.0:
            last["at"] = time.monotonic()
            last["value"] = app.queue.get(job.id).cancel_requested
        return bool(last["value"])

    return should_cancel


UNAVAILABLE_RETRY_S = 5.0


def step_of(app: EngineServices, job: Job) -> Any:
    """The catalog step a job runs, found without the ticket store (which may be the thing that is
    down): the step id together with the action it resolves to."""
    for service in app.catalog.services():
        for step in service.steps:
            if step.id == job.step_id and scheduler.resolve_action_name(step) == job.action:
                return step
    return None


def seal_artifacts(run: RunContext, result: ActionResult) -> ActionResult:
    """Every file an action returns lies encrypted at rest (`toolkit.at_rest`, context ``ARTIFACT``) before
    the outbox item that attaches it is stored: the item's digest is of the sealed bytes and the outbox
    opens them at delivery (`toolkit.engine.outbox`).

    The built-in actions write their files sealed (`RunContext.write_artifact`), so no plaintext of them is
    ever on disk and this finds nothing to do (it reads each file's first 8 bytes). It is the net for an
    action that wrote one in clear (a deployment's extra action, an older plugin): sealed here, right after
    the action returns, its plaintext lies on disk only while the action runs; sealing at delivery instead
    would leave it in clear for as long as the ticket system is down. A file in the ticket's working
    directory is sealed in place; one elsewhere is the action's own and is left alone, a sealed copy in the
    working directory is attached instead."""
    if not result.artifacts:
        return result
    work_dir = run.work_root.resolve()
    artifacts = []
    for artifact in result.artifacts:
        path = artifact.path
        if not is_sealed_file(path):
            if path.resolve().is_relative_to(work_dir) and not path.is_symlink():
                run.sealer.seal_file(path, ARTIFACT)
            else:
                artifact = run.write_artifact(artifact.name, path.read_bytes(), media_type=artifact.media_type,
                                              kind=artifact.kind)
        artifacts.append(artifact)
    return result.model_copy(update={"artifacts": artifacts})


def _outbox_for(app: EngineServices, job: Job, result: ActionResult) -> list[OutboxItem]:
    key = f"job:{job.id}:a{job.attempt}"
    items = [
        attachment_item(job.ticket_id, f"{key}:att:{a.name}", a.path, a.name, a.media_type, a.kind)
        for a in result.artifacts
    ]
    kind = EventKind.STEP_COMPLETED if result.ok else EventKind.STEP_FAILED
    items.append(event_item(
        job.ticket_id, f"{key}:{kind.value}", kind, app.masker(result.comment), step_id=job.step_id,
        data={"job": job.id, "attempt": job.attempt, "action": job.action, "summary": app.masker(result.summary),
              "artifacts": [a.name for a in result.artifacts]},
    ))
    return items


def _failure_comment(app: EngineServices, step: Any, job: Job, message: str) -> str:
    title = step.title if step is not None else job.step_id
    try:
        return str(app.renderer.render("comments", "aksi_gagal", {
            "langkah": {"id": job.step_id, "judul": title}, "job_id": job.id, "percobaan": job.attempt,
            "galat": app.masker(message), "idempoten": job.idempotent,
        }))
    except ToolkitError:
        return f"Langkah '{title}' gagal (job #{job.id}): {app.masker(message)}"


@dataclass
class Prepared:
    """A claimed job checked and ready to run: its action, the stored plan and the ticket context."""

    job: Job
    step: Any
    action: Any
    plan: Any
    ctx: Any
    error: str | None = None  # the check refused it: the job fails with this, its action never runs
    seen: scheduler.Snapshot | None = None  # the ticket and timeline read for it (reused by the advance after)


def prepare(app: EngineServices, job: Job, read: scheduler.Snapshot | None = None,
            prior: dict[str, Job] | None = None) -> Prepared | None:
    """Read what the job needs and check its stored plan; None when the job was given back because a
    store could not be read (nothing has run: it is claimable again after a short delay). ``read`` and
    ``prior``: the ticket and its succeeded jobs, when the caller read them for its whole batch just now."""
    step = step_of(app, job)
    seen = None
    try:
        seen = read if read is not None else scheduler.read_ticket(app, job.ticket_id)
        ctx = scheduler.action_context(app, job.ticket_id, job.step_id, seen, prior)
        action = app.actions.get(job.action)
        if action is None:
            raise ToolkitError(f"action {job.action} is not available on this worker")
        plan = planning.stored_plan(action, job)
        planning.check_fresh(action, ctx, job)
    except UnavailableError as exc:
        note = app.masker(str(exc))
        log.warning("job %s: %s; released for %.0f s", job.id, note, UNAVAILABLE_RETRY_S)
        app.queue.release(job.id, job.lease_token or "", UNAVAILABLE_RETRY_S, note)
        return None
    except ToolkitError as exc:
        return Prepared(job, step, None, None, None, error=app.masker(str(exc)), seen=seen)
    return Prepared(job, step, action, plan, ctx, seen=seen)


def start_entry(job: Job) -> AuditItem:
    return (job.worker or "worker", "job.start", job.ticket_id,
            {"auth": "engine", "job": job.id, "attempt": job.attempt, "step": job.step_id,
             "action": job.action, "plan_digest": job.plan_digest})


@dataclass
class Ran:
    """A job whose action has run, with its final record ready (`record`, or a batch's `record_many`)."""

    job: Job
    finish: JobFinish
    entry: AuditItem  # its finish entry for the audit log, once recorded


def run_action(app: EngineServices, ready: Prepared, lost: threading.Event,
               abort: threading.Event | None = None) -> Ran | Job:
    """Run a prepared job (its start entry already written) to a final state, not yet recorded: a `Ran`.
    A `Job` instead when there is nothing to record (the lease was lost, or the job was handed back); its
    log lines are then written at once."""
    job, step = ready.job, ready.step
    buffer = _LogBuffer(app, job.id)
    started = time.monotonic()
    try:
        if ready.error is not None:
            raise ToolkitError(ready.error)
        buffer(f"job {job.id} attempt {job.attempt}: {job.action} for {job.ticket_id} step {job.step_id}")
        run = RunContext(job_id=job.id, attempt=job.attempt, log=buffer,
                         should_cancel=_cancel_check(app, job, lost, abort),
                         work_dir=app.artifacts_dir(job.ticket_id, make=False), mask=app.masker, services=app)
        result = seal_artifacts(run, ready.action.execute(ready.ctx, ready.plan, run))
    except ToolkitError as exc:
        message = app.masker(str(exc))
        buffer(f"error: {message}")
        result = ActionResult(ok=False, summary=message, comment="", duration_s=time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - an action bug must fail the job, not kill the worker
        message = app.masker(f"{type(exc).__name__}: {exc}")
        for line in traceback.format_exc().splitlines():
            buffer(app.masker(line))
        result = ActionResult(ok=False, summary=message, comment="", duration_s=time.monotonic() - started)
    lines = buffer.take()
    if lost.is_set():
        buffer.write(lines)
        log.warning("job %s: lease lost; result of attempt %s discarded", job.id, job.attempt)
        return app.queue.get(job.id)
    if abort is not None and abort.is_set() and not result.ok:
        buffer.write(lines)
        if job.idempotent:
            app.queue.release(job.id, job.lease_token or "", 0, "interrupted by shutdown; will run again")
            return app.queue.get(job.id)
        result = result.model_copy(update={
            "summary": "interrupted by shutdown mid-run and the action is not idempotent: inspect the target, "
                       "then 'spbe jobs retry'"})
    canceled = not result.ok and app.queue.get(job.id).cancel_requested
    state = JobState.SUCCEEDED if result.ok else (JobState.CANCELED if canceled else JobState.FAILED)
    if not result.ok and not result.comment:
        result = result.model_copy(update={"comment": _failure_comment(app, step, job, result.summary)})
    finish = JobFinish(job.id, job.lease_token or "", state, result.model_dump(mode="json"),
                       None if result.ok else result.summary, _outbox_for(app, job, result), lines)
    return Ran(job, finish, (job.worker or "worker", "job.finish", job.ticket_id,
                             {"auth": "engine", "job": job.id, "attempt": job.attempt, "state": state.value,
                              "summary": result.summary, "changed": result.changed,
                              "duration_s": round(result.duration_s, 3)}))


def record_many(app: EngineServices, ran: list[Ran]) -> list[tuple[Job, AuditItem | None]]:
    """Record finished jobs in one queue transaction (`JobQueue.finish_many`): each job as recorded and its
    finish entry, or, for a job fenced off at finish (another worker owns it now), the job as it stands and
    None; that attempt's log lines stay with the job, as a lost lease's do."""
    if not ran:
        return []
    done = app.queue.finish_many([r.finish for r in ran])
    recorded: list[tuple[Job, AuditItem | None]] = []
    for item, job in zip(ran, done, strict=True):
        if job is None:
            _LogBuffer(app, item.job.id).write(item.finish.logs)
            log.warning("job %s: fenced off at finish; another worker owns it now", item.job.id)
            recorded.append((app.queue.get(item.job.id), None))
        else:
            recorded.append((job, item.entry))
    return recorded


def execute(app: EngineServices, ready: Prepared, lost: threading.Event,
            abort: threading.Event | None = None) -> tuple[Job, AuditItem | None]:
    """Run a prepared job (its start entry already written) to a final state, recorded with its last log
    lines and outbox items in one queue transaction. Returns the job as recorded and its finish entry for
    the audit log (None when nothing was recorded: the lease was lost, or the job was handed back)."""
    ran = run_action(app, ready, lost, abort)
    if not isinstance(ran, Ran):
        return ran, None
    return record_many(app, [ran])[0]


def run_job(app: EngineServices, job: Job, abort: threading.Event | None = None) -> Job:
    """Execute one claimed job to a final state. Returns the job as recorded. Setting ``abort``
    (a shutdown that ran out of patience) stops the action; the job then goes back to the queue
    if its action is idempotent, and is failed for an operator otherwise."""
    keeper = keeper_for(app.queue, app.settings.workers.lease_seconds)
    held = keeper.hold(job)
    try:
        ready = prepare(app, job)
        if ready is None:
            return app.queue.get(job.id)
        if ready.error is None:
            try:
                app.audit.append(*start_entry(job))
            except ToolkitError as exc:  # not audited, not run: the job fails with the reason
                ready = Prepared(job, ready.step, None, None, None, error=app.masker(str(exc)))
        done, finish = execute(app, ready, held.lost, abort)
    finally:
        keeper.drop(held)
    if finish is not None:
        app.audit.append(*finish)
    return done


def reclaim(app: EngineServices) -> list[Job]:
    """Take back jobs of dead workers; a job that will not be re-run is reported on its ticket."""
    def notice(job: Job) -> list[OutboxItem]:
        text = _failure_comment(app, step_of(app, job), job, job.error or "worker lost")
        return [event_item(job.ticket_id, f"job:{job.id}:a{job.attempt}:reclaim-failed", EventKind.STEP_FAILED,
                           text, step_id=job.step_id, data={"job": job.id, "attempt": job.attempt})]

    changed = app.queue.reclaim_expired(on_failed=notice)
    for job in changed:
        scrub_runner_secrets(app, job)
        app.audit.append("engine", "job.reclaim", job.ticket_id,
                         {"auth": "engine", "job": job.id, "attempt": job.attempt, "state": job.state.value})
    return changed


def scrub_runner_secrets(app: EngineServices, job: Job) -> None:
    """A worker killed mid-playbook never reached the cleanup that deletes ansible-runner's
    extravars file (which may hold a revealed secret): delete what the dead attempts left."""
    base = app.artifacts_dir(job.ticket_id)
    for path in base.glob(f"runner-job{job.id}-a*/*/env/extravars"):
        path.unlink(missing_ok=True)


def work_once(app: EngineServices, worker: str, ticket_id: str | None = None,
              abort: threading.Event | None = None) -> Job | None:
    """Claim and run one job, then schedule what follows and push results out."""
    reclaim(app)
    job = app.queue.claim(worker, app.settings.workers.lease_seconds, ticket_id=ticket_id)
    if job is None:
        return None
    return run_claimed(app, job, worker, abort)


def run_claimed(app: EngineServices, job: Job, worker: str, abort: threading.Event | None = None) -> Job:
    """Run a job this worker claimed (here, or by id from a broker's message: toolkit.engine.distributed),
    then schedule what follows and push results out."""
    with observed_job(app.telemetry, job, worker) as seen:  # job context, start/end lines, duration
        done = seen.record(run_job(app, job, abort))
    if done.state == JobState.SUCCEEDED:
        try:
            scheduler.advance(app, done.ticket_id)
        except ToolkitError as exc:  # the trigger's sweep will advance it later
            log.warning("advance after job %s failed: %s", done.id, app.masker(str(exc)))
    deliver_due(app)
    return done
