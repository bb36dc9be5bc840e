"""Jobs run by a distributed task framework (`settings.engine.kind = "celery"`), with the store still in charge.

A broker delivers at least once, sometimes twice, and loses messages when it restarts without persistence;
none of that may change what runs. So the message only says *which job may be worth claiming* (its id, and
the queue of its action family), and everything that matters stays in the store, as with the local engine:

- **publish**: `DispatchingQueue` wraps the configured `JobQueue`; a job created (or retried, released,
  re-queued after a dead worker's lease ran out) is published to its family's queue. A publish that fails
  (broker down) is logged and left to the sweep; the job is already durable.
- **run**: a worker claims *that* job by id with a lease (`claim_job`); a duplicate message finds it running
  or done and does nothing; then the same run + finish path as `work_once` (`run_claimed`).
- **cap per target**: before claiming, the worker takes a slot of the job's target (a switch, a host) in the
  store's slot table (`TargetSlots`, leased like a job): at most ``target_cap`` jobs on one target at once
  across every worker; a job that finds the target full goes back to the broker with a short delay.
- **sweep**: the trigger re-queues expired leases (`worker.reclaim`) and publishes again every queued job
  older than ``republish_after_s``: a lost message costs that long, never the job.

The broker itself lives in ``integrations/celery`` (found through the ``spbe.dispatchers`` registry).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Protocol

from toolkit.engine.services import EngineServices
from toolkit.engine.worker import reclaim, run_claimed
from toolkit.errors import ToolkitError
from toolkit.ports.jobs import Job, JobPlan, JobQueue, JobSpec, JobState, OutboxItem
from toolkit.settings import EngineSettings

log = logging.getLogger("spbe.distributed")
DEFAULT_FAMILY = "default"


class Dispatcher(Protocol):
    def publish(self, job_id: int, family: str, countdown: float = 0.0) -> None:
        """Send a message naming the job to its family's queue; raises on a broker error."""
        ...

    def close(self) -> None: ...


class TargetSlots(Protocol):
    def acquire(self, target: str, cap: int, holder: str, lease_seconds: float) -> bool:
        """Take one of ``cap`` slots of ``target`` for ``holder`` (expired slots are free); False when full."""
        ...

    def renew(self, target: str, holder: str, lease_seconds: float) -> bool: ...

    def release(self, target: str, holder: str) -> None: ...


class ClaimsById(Protocol):
    def claim_job(self, job_id: int, worker: str, lease_seconds: float) -> Job | None: ...


def family_of(settings: EngineSettings, action: str) -> str:
    """The family whose workers run ``action``: the longest matching prefix of ``settings.families``."""
    best = ""
    family = DEFAULT_FAMILY
    for prefix, name in settings.families.items():
        if action.startswith(prefix) and len(prefix) > len(best):
            best, family = prefix, name
    return family


def target_of(settings: EngineSettings, job: Job) -> str | None:
    """What the job acts on, from its stored plan: the first of ``target_fields`` with a plain value."""
    for key in settings.target_fields:
        value = job.plan.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)[:200]
    return None


class DispatchingQueue:
    """The configured queue, publishing a message for every job that becomes claimable through it. Every
    other method is the inner queue's (so leases, the outbox and the cursors are untouched)."""

    def __init__(self, inner: JobQueue, dispatcher: Dispatcher, settings: EngineSettings) -> None:
        self.inner, self.dispatcher, self.engine = inner, dispatcher, settings

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def publish(self, job: Job, countdown: float = 0.0) -> bool:
        try:
            self.dispatcher.publish(job.id, family_of(self.engine, job.action), countdown)
            return True
        except Exception as exc:  # noqa: BLE001 - the job is durable; the sweep publishes it again
            log.warning("job %s: not published (%s); the sweep will", job.id, type(exc).__name__)
            return False

    def enqueue(self, spec: JobSpec) -> tuple[Job, bool]:
        job, created = self.inner.enqueue(spec)
        if created and job.state == JobState.QUEUED:
            self.publish(job)
        return job, created

    def retry(self, job_id: int, replanned: JobPlan | None = None) -> Job:
        job = self.inner.retry(job_id, replanned)
        self.publish(job)
        return job

    def release(self, job_id: int, token: str, delay_seconds: float, note: str) -> bool:
        done = self.inner.release(job_id, token, delay_seconds, note)
        if done:
            self.publish(self.inner.get(job_id), countdown=delay_seconds)
        return done

    def reclaim_expired(self, on_failed: Callable[[Job], list[OutboxItem]] | None = None) -> list[Job]:
        changed = self.inner.reclaim_expired(on_failed)
        for job in changed:
            if job.state == JobState.QUEUED:
                self.publish(job)
        return changed

    def close(self) -> None:
        try:
            self.dispatcher.close()
        finally:
            closer = getattr(self.inner, "close", None)
            if closer is not None:
                closer()


def republish_overdue(app: EngineServices, limit: int = 1000) -> int:
    """The trigger's sweep for lost messages: every queued job older than ``republish_after_s`` is published
    again (a duplicate of a message still on its way is harmless: the claim by id decides)."""
    queue = app.queue
    if not isinstance(queue, DispatchingQueue):
        return 0
    cutoff = app.clock.now() - timedelta(seconds=app.settings.engine.republish_after_s)
    sent = 0
    for job in queue.list_jobs(state=JobState.QUEUED, limit=limit):
        if job.created_at <= cutoff and queue.publish(job):
            sent += 1
    if sent:
        log.info("republished %d queued job(s) whose message is overdue", sent)
    return sent


def trigger_duties(app: EngineServices) -> Callable[[], None]:
    """What the trigger adds in distributed mode, every ``republish_after_s / 2``: leases of dead workers taken
    back (their jobs published again by the queue) and overdue messages published again."""
    every = app.settings.engine.republish_after_s / 2
    last = {"at": float("-inf")}

    def duties() -> None:
        import time

        if time.monotonic() - last["at"] < every:
            return
        last["at"] = time.monotonic()
        reclaim(app)
        republish_overdue(app)

    return duties


@contextmanager
def target_slot(slots: TargetSlots, target: str | None, cap: int, lease_seconds: float) -> Iterator[bool]:
    """Hold a slot of ``target`` (renewed every third of the lease) for the block; yields False when full."""
    if target is None:
        yield True
        return
    holder = uuid.uuid4().hex
    if not slots.acquire(target, cap, holder, lease_seconds):
        yield False
        return
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(lease_seconds / 3):
            try:
                slots.renew(target, holder, lease_seconds)
            except ToolkitError:
                continue

    keeper = threading.Thread(target=keep, name="target-slot", daemon=True)
    keeper.start()
    try:
        yield True
    finally:
        stop.set()
        slots.release(target, holder)


def handle_message(app: EngineServices, slots: TargetSlots, job_id: int, worker: str) -> str:
    """One message: ``"ran"``, ``"skipped"`` (not queued: a duplicate, or gone), or ``"busy"`` (its target is
    at its cap: the caller hands the message back with a delay). Never runs a job twice: the claim decides."""
    queue = app.queue
    try:
        job = queue.get(job_id)
    except ToolkitError:
        return "skipped"
    if job.state != JobState.QUEUED:
        return "skipped"
    lease = app.settings.workers.lease_seconds
    with target_slot(slots, target_of(app.settings.engine, job), app.settings.engine.target_cap, lease) as held:
        if not held:
            return "busy"
        claimer: ClaimsById = queue  # type: ignore[assignment]  # both queues (and the wrapper) have it
        claimed = claimer.claim_job(job_id, worker, lease)
        if claimed is None:
            return "skipped"
        run_claimed(app, claimed, worker)
    return "ran"
