"""Run claimed jobs: load the stored plan, execute it, record, and hand the results to the outbox.

The worker never plans: it runs the plan stored with the job when it was created, after checking it
is intact and still made from the ticket's current input (`toolkit.engine.planning`).

A heartbeat thread renews the lease while the action runs; if renewal fails (the job was
reclaimed after this worker stalled), the action is asked to stop and its result is discarded
by the fencing token. Exceptions are masked before they reach a log, the job or the ticket.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from toolkit.actions.base import ActionResult, RunContext
from toolkit.domain.tickets.models import EventKind
from toolkit.engine import planning, scheduler
from toolkit.engine.outbox import attachment_item, deliver_due, event_item
from toolkit.engine.services import EngineServices
from toolkit.errors import ToolkitError, UnavailableError
from toolkit.observability.jobs import observed_job
from toolkit.ports.jobs import Job, JobState, OutboxItem

log = logging.getLogger("spbe.worker")
output_log = logging.getLogger("spbe.job.output")  # the job's own lines, masked, at DEBUG


def worker_id(suffix: str = "") -> str:
    return f"{socket.gethostname()}:{os.getpid()}{':' + suffix if suffix else ''}"


class _LogBuffer:
    """Batches log lines into the queue so a chatty playbook does not cost a commit per line."""

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
        with self._lock:
            lines, self._lines = self._lines, []
            self._last = time.monotonic()
        self._app.queue.append_log(self._job_id, lines)


class _Lease:
    def __init__(self, app: EngineServices, job: Job) -> None:
        self._app, self._job = app, job
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job.id}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        seconds = self._app.settings.workers.lease_seconds
        while not self._stop.wait(seconds / 3):
            try:
                if not self._app.queue.heartbeat(self._job.id, self._job.lease_token or "", seconds):
                    self.lost.set()
                    return
            except ToolkitError:  # queue busy for a moment; the lease has slack for two misses
                continue


def _cancel_check(app: EngineServices, job: Job, lease: _Lease, abort: threading.Event | None) -> Callable[[], bool]:
    last = {"at": 0.0, "value": False}

    def should_cancel() -> bool:
        if lease.lost.is_set() or (abort is not None and abort.is_set()):
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


def run_job(app: EngineServices, job: Job, abort: threading.Event | None = None) -> Job:
    """Execute one claimed job to a final state. Returns the job as recorded. Setting ``abort``
    (a shutdown that ran out of patience) stops the action; the job then goes back to the queue
    if its action is idempotent, and is failed for an operator otherwise."""
    buffer = _LogBuffer(app, job.id)
    started = time.monotonic()
    step = step_of(app, job)
    with _Lease(app, job) as lease:
        try:
            try:
                ctx = scheduler.action_context(app, job.ticket_id, job.step_id)
                action = app.actions.get(job.action)
                if action is None:
                    raise ToolkitError(f"action {job.action} is not available on this worker")
                plan = planning.stored_plan(action, job)
                planning.check_fresh(action, ctx, job)
            except UnavailableError as exc:  # nothing has run yet: give the job back for later
                note = app.masker(str(exc))
                log.warning("job %s: %s; released for %.0f s", job.id, note, UNAVAILABLE_RETRY_S)
                app.queue.release(job.id, job.lease_token or "", UNAVAILABLE_RETRY_S, note)
                return app.queue.get(job.id)
            app.audit.append(job.worker or "worker", "job.start", job.ticket_id,
                             {"auth": "engine", "job": job.id, "attempt": job.attempt, "step": job.step_id,
                              "action": job.action, "plan_digest": job.plan_digest})
            buffer(f"job {job.id} attempt {job.attempt}: {job.action} for {job.ticket_id} step {job.step_id}")
            run = RunContext(job_id=job.id, attempt=job.attempt, log=buffer,
                             should_cancel=_cancel_check(app, job, lease, abort),
                             work_dir=app.artifacts_dir(job.ticket_id), mask=app.masker,
                             services=app)
            result = action.execute(ctx, plan, run)
        except ToolkitError as exc:
            message = app.masker(str(exc))
            buffer(f"error: {message}")
            result = ActionResult(ok=False, summary=message, comment="", duration_s=time.monotonic() - started)
        except Exception as exc:  # noqa: BLE001 - an action bug must fail the job, not kill the worker
            message = app.masker(f"{type(exc).__name__}: {exc}")
            for line in traceback.format_exc().splitlines():
                buffer(app.masker(line))
            result = ActionResult(ok=False, summary=message, comment="", duration_s=time.monotonic() - started)
        buffer.flush()
        if lease.lost.is_set():
            log.warning("job %s: lease lost; result of attempt %s discarded", job.id, job.attempt)
            return app.queue.get(job.id)
        if abort is not None and abort.is_set() and not result.ok:
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
        outbox = _outbox_for(app, job, result)
        stored = result.model_dump(mode="json")
        if not app.queue.finish(job.id, job.lease_token or "", state, stored,
                                None if result.ok else result.summary, outbox):
            log.warning("job %s: fenced off at finish; another worker owns it now", job.id)
            return app.queue.get(job.id)
    app.audit.append(job.worker or "worker", "job.finish", job.ticket_id,
                     {"auth": "engine", "job": job.id, "attempt": job.attempt, "state": state.value,
                      "summary": result.summary, "changed": result.changed, "duration_s": round(result.duration_s, 3)})
    return app.queue.get(job.id)


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
    with observed_job(app.telemetry, job, worker) as seen:  # job context, start/end lines, duration
        done = seen.record(run_job(app, job, abort))
    if done.state == JobState.SUCCEEDED:
        try:
            scheduler.advance(app, done.ticket_id)
        except ToolkitError as exc:  # the trigger's sweep will advance it later
            log.warning("advance after job %s failed: %s", done.id, app.masker(str(exc)))
    deliver_due(app)
    return done
