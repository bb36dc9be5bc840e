"""The engine's guarantees with jobs dispatched through Celery + Redis to four worker processes, on the SQLite
queue and on PostgreSQL (one worker host: Celery's prefork pool of four): duplicates x10 run once, a worker
process SIGKILLed mid-job is replaced through the lease, a
broker restart mid-run loses nothing (the trigger's sweep publishes again), two trigger processes enqueue once
per step, and the per-target cap holds under 50 concurrent jobs for one target. Results reach the ticket."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest

from tests.engine.helpers import approved_ticket, executions
from toolkit.bootstrap import App
from toolkit.domain.tickets.models import EventKind
from toolkit.engine.distributed import DispatchingQueue
from toolkit.engine.server import trigger_once
from toolkit.ports.jobs import JobState

pytestmark = pytest.mark.slow  # redis-server, Celery workers and seconds of waiting: the full suite runs these

STEPS = ("aksi-pertama", "aksi-kedua")


def _wait_done(app: App, tickets: list[str], timeout: float = 90.0) -> None:
    """Until every ticket's two steps succeeded and their results are on the ticket (the outbox is empty)."""
    deadline = time.monotonic() + timeout
    while True:
        results = {t: app.queue.step_results(t) for t in tickets}
        if all(set(STEPS) <= set(r) for r in results.values()) and app.queue.outbox_pending_count() == 0:
            return
        assert time.monotonic() < deadline, f"not done: {[t for t, r in results.items() if set(STEPS) - set(r)]}"
        time.sleep(0.1)


def _assert_once(app: App, state_dir, tickets: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Each (ticket, step): one job, one finished execution, one result event on the ticket."""
    done = Counter(tuple(line.split()[1:3]) for line in executions(state_dir) if line.startswith("done"))
    for ticket_id in tickets:
        jobs = app.queue.list_jobs(ticket_id=ticket_id)
        assert sorted(j.step_id for j in jobs) == sorted(STEPS)
        assert all(j.state == JobState.SUCCEEDED for j in jobs)
        completed = Counter(e.step_id for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.STEP_COMPLETED)
        for step in STEPS:
            assert done[(ticket_id, step)] == 1, (ticket_id, step, done)
            assert completed[step] == 1, (ticket_id, step, completed)


def test_a_message_delivered_ten_times_runs_its_job_once(engine_app, processes, engine_settings):
    processes.workers(4)
    tickets = [approved_ticket(engine_app) for _ in range(3)]
    trigger_once(engine_app)  # the approval made the first job of each (one message each)
    assert len(engine_app.queue.list_jobs()) == 3
    queue = engine_app.queue
    assert isinstance(queue, DispatchingQueue)
    for job in queue.list_jobs(state=JobState.QUEUED):
        for _ in range(10):
            assert queue.publish(job)  # the broker redelivering, ten times over
    _wait_done(engine_app, tickets)
    _assert_once(engine_app, engine_settings.state_dir, tickets)


def test_a_worker_killed_mid_job_is_replaced_through_the_lease(engine_app, processes, engine_settings):
    processes.start("--role", "trigger")  # re-queues the dead worker's job and publishes it again
    host = processes.workers(4)
    # The job runs long enough that a loaded machine still kills it mid-job (a 2 s job failed this test once
    # under load, most likely finished before the kill); the worker's heartbeats keep the 5 s lease meanwhile.
    ticket_id = approved_ticket(engine_app, jeda_detik="8")
    deadline = time.monotonic() + 60
    while not any(line.startswith("start") for line in executions(engine_settings.state_dir)):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    pid = int(executions(engine_settings.state_dir)[0].rsplit("pid=", 1)[1])
    assert pid != host.pid  # a child of the prefork pool runs it
    os.kill(pid, signal.SIGKILL)  # the pool replaces the child; the message goes back; the lease decides
    _wait_done(engine_app, [ticket_id], timeout=120)
    lines = [line.split()[0] for line in executions(engine_settings.state_dir) if "aksi-pertama" in line]
    assert lines == ["start", "start", "done"]  # killed once, run again once, recorded once
    job = next(j for j in engine_app.queue.list_jobs(ticket_id=ticket_id) if j.step_id == "aksi-pertama")
    assert job.attempt == 2 and [h["event"] for h in job.history] == ["lease_expired"]
    _assert_once(engine_app, engine_settings.state_dir, [ticket_id])


def test_a_broker_restart_mid_run_loses_nothing(engine_app, processes, engine_settings, redis_server):
    processes.start("--role", "trigger")
    processes.workers(4)
    tickets = [approved_ticket(engine_app, jeda_detik="1") for _ in range(6)]
    deadline = time.monotonic() + 60
    while not any(line.startswith("start") for line in executions(engine_settings.state_dir)):
        assert time.monotonic() < deadline, "no job started"
        time.sleep(0.05)
    redis_server.kill()  # every message in it is gone (no persistence)
    time.sleep(1.5)  # jobs finish meanwhile; their next steps cannot be published
    redis_server.start()
    _wait_done(engine_app, tickets, timeout=180)
    _assert_once(engine_app, engine_settings.state_dir, tickets)


def test_two_trigger_processes_enqueue_one_job_per_step(engine_app, processes, engine_settings):
    processes.start("--role", "trigger")
    processes.start("--role", "trigger")
    processes.workers(4)
    tickets = [approved_ticket(engine_app) for _ in range(10)]
    _wait_done(engine_app, tickets, timeout=120)
    _assert_once(engine_app, engine_settings.state_dir, tickets)


def test_the_target_cap_holds_under_fifty_jobs_for_one_target(engine_app, processes, engine_settings):
    """Every job's target is its step (``target_fields = ["step"]``): 50 tickets put 50 jobs on one target at
    once; with a cap of 2, never more than two run at the same time, whichever worker took the message."""
    env = {"SPBE_ENGINE__TARGET_FIELDS": '["step"]', "SPBE_ENGINE__TARGET_CAP": "2"}
    processes.workers(4, **env)
    tickets = [approved_ticket(engine_app) for _ in range(50)]
    trigger_once(engine_app)
    _wait_done(engine_app, tickets, timeout=180)
    running: Counter[str] = Counter()
    most: Counter[str] = Counter()
    for line in executions(engine_settings.state_dir):  # O_APPEND lines: the order they happened in
        kind, _, step = line.split()[:3]
        running[step] += 1 if kind == "start" else -1
        most[step] = max(most[step], running[step])
    assert max(most.values()) <= 2, most
    _assert_once(engine_app, engine_settings.state_dir, tickets)
