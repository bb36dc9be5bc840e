"""`spbe serve` and `spbe run`: the trigger loop, the worker pool and the outbox, in one process.

The trigger reads ticket events after a persisted cursor and advances each ticket they touch;
a periodic sweep of the tickets still open or in progress (asked of the ticket system, never the
whole history) covers an advance that failed. A closed ticket needs no sweep: its closing is an
event, and each finished job advances its ticket and posts a step event the trigger reads. Workers
are threads (actions spend their time in ansible-runner subprocesses and network I/O); more
processes can run `spbe serve` against the same queue, and the queue's leases keep them apart.

An idle worker sleeps until the queue says a job was enqueued, released or retried in this process
(the approval's own advance wakes it), or for the poll interval, which is how it notices jobs another
process queued. Workers claim in small batches and audit in groups (`toolkit.engine.batch`); one outbox
thread delivers results, woken when a batch finishes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from toolkit import ansible_inventory
from toolkit.domain.principal import ENGINE_USER
from toolkit.domain.tickets.models import EventKind, TimelineEvent
from toolkit.engine import scheduler
from toolkit.engine.audit_writer import AuditWriter
from toolkit.engine.batch import BatchSize, work_batch
from toolkit.engine.leases import keeper_for
from toolkit.engine.outbox import deliver_due
from toolkit.engine.services import EngineServices
from toolkit.engine.worker import work_once, worker_id
from toolkit.errors import ToolkitError, UnavailableError
from toolkit.ports.jobs import Job, JobState

log = logging.getLogger("spbe.serve")
CURSOR = "trigger"
_JOB_RESULTS = frozenset({EventKind.STEP_COMPLETED, EventKind.STEP_FAILED})


def _advance_one(app: EngineServices, ticket_id: str) -> int:
    """One ticket's trouble (an unknown service, a broken field) must not hold up the others: it is
    logged and audited, and the periodic sweep will look at the ticket again."""
    try:
        return len(scheduler.advance(app, ticket_id))
    except UnavailableError:
        raise  # the store itself is down: stop here, keep the cursor, try again next round
    except ToolkitError as exc:
        message = app.masker(str(exc))
        log.warning("ticket %s cannot be advanced: %s", ticket_id, message)
        app.audit.append("engine", "ticket.advance_failed", ticket_id, {"auth": "engine", "error": message})
        return 0


def _moves_the_ticket(event: TimelineEvent) -> bool:
    """False for a finished job's result the engine posted itself (through the outbox): the worker that
    finished the job advanced the ticket already, and the periodic sweep covers an advance that failed.
    Advancing again for it doubled the ticket reads of every job."""
    return not (event.actor == ENGINE_USER and event.kind in _JOB_RESULTS and "job" in event.data)


def trigger_once(app: EngineServices) -> int:
    """Advance every ticket touched by events since the cursor; returns jobs created."""
    cursor = app.queue.get_cursor(CURSOR)
    events = app.tickets.events_since(cursor)
    created = 0
    for ticket_id in dict.fromkeys(e.ticket_id for e in events if _moves_the_ticket(e)):
        created += _advance_one(app, ticket_id)
    if events:
        app.queue.set_cursor(CURSOR, events[-1].seq)
    return created


def sweep(app: EngineServices) -> int:
    """Advance every ticket with work pending (open or in progress); returns jobs created."""
    return sum(_advance_one(app, ticket_id) for ticket_id in app.tickets.active_ticket_ids())


def run_ticket(app: EngineServices, ticket_id: str, max_jobs: int = 100,
               on_job: Callable[[Job | None, Job | None], None] | None = None) -> list[Job]:
    """Process one ticket now, in this process: every automated step that becomes current runs.
    ``on_job(next_queued, finished)`` lets a caller show progress."""
    scheduler.advance(app, ticket_id)
    done: list[Job] = []
    me = worker_id("run")
    while len(done) < max_jobs:
        if on_job is not None:
            queued = app.queue.list_jobs(state=JobState.QUEUED, ticket_id=ticket_id, limit=1)
            on_job(queued[0] if queued else None, None)
        job = work_once(app, me, ticket_id=ticket_id)
        if job is None:
            break
        done.append(job)
        if on_job is not None:
            on_job(None, job)
    deliver_due(app)
    return done


@dataclass
class Server:
    app: EngineServices
    workers: int = 2
    stop: threading.Event = field(default_factory=threading.Event)
    abort: threading.Event = field(default_factory=threading.Event)
    sweep_every: float = 30.0
    api_expiry_every: float = 300.0  # SPLP credentials past their expiry date (toolkit.splp.lifecycle)
    session_purge_every: float = 3600.0  # portal sessions that ended a day ago (toolkit.accounts.sessions)
    schedules_every: float = 20.0  # compliance schedules owed a run (cron: minute resolution; toolkit.engine.schedules)
    shutdown_grace: float = 60.0
    claim_batch: int = 16  # most jobs a worker claims at once (only while they run quickly: `BatchSize`)
    outbox_linger: float = 0.05  # once woken, the outbox thread gathers results this long before a round
    monotonic: Callable[[], float] = time.monotonic  # when periodic work is due; a test passes its own
    # Loops of the layers above the engine (the outside desks' poll and mirror), each a thread given `stop`.
    side_loops: tuple[Callable[[threading.Event], None], ...] = ()
    # `spbe serve --role`: which loops run here (worker threads only with the local engine: with a distributed
    # one, `--role worker` runs the framework's worker instead); and what the trigger does more each round.
    roles: frozenset[str] = frozenset({"trigger", "worker"})
    trigger_duties: tuple[Callable[[], None], ...] = ()
    _last: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _outbox_wake: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    writer: AuditWriter = field(init=False, repr=False)  # the engine's audit entries, grouped
    _serving: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        # Due at once on the first round, except the checkpoint: after one interval, so short runs post nothing.
        self._last = dict.fromkeys(("sweep", "escalation", "api_expiry", "session_purge", "schedules"), float("-inf"))
        self._last["checkpoint"] = self.monotonic()
        self.writer = AuditWriter(self.app.audit)

    def _due(self, name: str, every: float) -> bool:
        now = self.monotonic()
        if now - self._last[name] > every:
            self._last[name] = now
            return True
        return False

    def _worker_loop(self, index: int) -> None:
        me = worker_id(f"w{index}")
        idle = self.app.settings.workers.poll_interval
        keeper = keeper_for(self.app.queue, self.app.settings.workers.lease_seconds)
        size = BatchSize(most=max(1, self.claim_batch))
        seen: int | None = None
        while not self.stop.is_set():
            try:
                jobs = work_batch(self.app, me, size, keeper, self.writer, stop=self.stop, abort=self.abort)
            except Exception as exc:  # noqa: BLE001 - a worker thread must outlive any one failure
                log.warning("worker %s: %s", me, self.app.masker(f"{type(exc).__name__}: {exc}"))
                jobs = []
                self.stop.wait(idle)
            if jobs:
                self._outbox_wake.set()
            else:
                seen = self.app.queue.wait_for_work(idle, seen)

    def _outbox_loop(self) -> None:
        idle = self.app.settings.workers.poll_interval
        while not self.stop.is_set():
            # Every finished batch wakes the outbox; a round per batch cost its fixed reads and commits (the
            # due items, the ticket store's post, the delivered marks) for a handful of results. Lingering a
            # moment once woken lets the batches finishing meanwhile join the same round: results reach the
            # tickets at most ``outbox_linger`` later, and a busy engine posts several times fewer rounds.
            if self._outbox_wake.wait(idle) and self.outbox_linger > 0:
                self.stop.wait(self.outbox_linger)
            self._outbox_wake.clear()
            try:
                while deliver_due(self.app, record=self.writer.submit)[0] >= 100 \
                        and not self.stop.is_set():
                    pass  # a full round: more may be due at once
            except Exception as exc:  # noqa: BLE001 - the outbox must outlive any one failure
                log.warning("outbox: %s", self.app.masker(f"{type(exc).__name__}: {exc}"))
                self.stop.wait(idle)

    def tick(self) -> None:
        """One round of the trigger loop: new events, then whatever periodic work is due by `monotonic`."""
        trigger_once(self.app)
        if self._due("sweep", self.sweep_every):
            sweep(self.app)
        if self._due("escalation", self.app.settings.escalation_interval_s):
            from toolkit.engine.escalation import check_once  # late steps and SLAs, escalated once

            check_once(self.app)
        if self._due("api_expiry", self.api_expiry_every):
            from toolkit.splp.lifecycle import expire_due  # revokes expired API credentials, once

            expire_due(self.app)
        if self._due("session_purge", self.session_purge_every):
            from toolkit.accounts.service import purge_ended_sessions  # the portal's ended sessions

            purged = purge_ended_sessions(self.app)
            if purged:
                log.info("purged %d ended portal session(s)", purged, extra={"event": "sessions.purge"})
        if self._due("schedules", self.schedules_every):
            from toolkit.engine.schedules import fire_due  # each owed (schedule, due time) once, across processes

            fire_due(self.app, worker_id("schedules"))
        if self._due("checkpoint", self.app.settings.audit.publish_interval_s):
            from toolkit.engine.audit_checkpoints import publish_checkpoint  # signed head onto the tickets

            publish_checkpoint(self.app)
        for duty in self.trigger_duties:
            duty()
        if self._serving:
            self._outbox_wake.set()  # what the trigger's work queued (a refusal notice, ...): the outbox thread
        else:
            deliver_due(self.app)

    def _trigger_loop(self) -> None:
        idle = self.app.settings.workers.poll_interval
        while not self.stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - the trigger must outlive any one failure
                log.warning("trigger: %s", self.app.masker(f"{type(exc).__name__}: {exc}"))
            self.stop.wait(idle)

    def _warm_inventory(self) -> None:
        """Parse the Ansible inventory once at start, so the first containment after `spbe serve` starts
        finds its host at once instead of paying an ``ansible-inventory`` run (seconds) in the CSIRT's wait.
        A bad inventory is reported by the action that needs it, not here."""
        try:
            ansible_inventory.load(self.app.settings.effective_inventory())
        except (ToolkitError, OSError) as exc:
            log.debug("inventory warm-up: %s", self.app.masker(str(exc)))

    def run(self, duration: float | None = None) -> None:
        threads = [threading.Thread(target=self._outbox_loop, name="outbox", daemon=True)]
        if "trigger" in self.roles:
            threads.append(threading.Thread(target=self._trigger_loop, name="trigger", daemon=True))
            threads += [threading.Thread(target=loop, args=(self.stop,), name=f"side-{i}", daemon=True)
                        for i, loop in enumerate(self.side_loops)]
        if "worker" in self.roles:
            warm = getattr(self.app, "warm_for_jobs", None)  # EngineServices of a test may not have it
            if warm is not None:
                warm()
            if self.app.settings.workers.warm_inventory:
                threads.append(threading.Thread(target=self._warm_inventory, name="inventory-warm-up", daemon=True))
            threads += [threading.Thread(target=self._worker_loop, args=(i,), name=f"worker-{i}", daemon=True)
                        for i in range(self.workers)]
        self._serving = True
        for t in threads:
            t.start()
        deadline = time.monotonic() + duration if duration else None
        try:
            while not self.stop.is_set():
                if deadline and time.monotonic() >= deadline:
                    break
                self.stop.wait(0.2)
        finally:
            # Stop claiming; let running jobs finish for the grace period, then stop their actions
            # (a cancelled playbook leaves no process behind) and wait for them to record it.
            self.stop.set()
            deadline = time.monotonic() + self.shutdown_grace
            for t in threads:
                t.join(timeout=max(0.0, deadline - time.monotonic()))
            if any(t.is_alive() for t in threads):
                log.warning("shutdown: stopping running jobs after %.0f s", self.shutdown_grace)
                self.abort.set()
                for t in threads:
                    t.join(timeout=60)
            if not self.writer.flush(timeout=30):
                log.warning("shutdown: audit entries not yet written (the audit log is unavailable)")
            try:
                deliver_due(self.app)  # the last results, before the process ends
            except ToolkitError as exc:
                log.warning("outbox at shutdown: %s", self.app.masker(str(exc)))
