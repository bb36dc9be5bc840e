"""A worker killed with SIGKILL mid-job: the lease expires and the job is re-run or failed by the
action's declared idempotency, never lost and never silently run twice."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import engine_env, spbe_argv
from tests.engine.helpers import approved_ticket, executions
from tests.support.clock import ManualClock
from toolkit.bootstrap import App
from toolkit.domain.tickets.models import EventKind
from toolkit.engine.server import run_ticket
from toolkit.ports.jobs import JobState

pytestmark = pytest.mark.slow  # processes of their own (spbe serve, a browser, mypy): the full suite runs these


def _start_and_kill(state_dir: Path) -> None:
    proc = subprocess.Popen(spbe_argv("serve", "--workers", "1"), env=engine_env(state_dir),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not any(line.startswith("start") for line in executions(state_dir)):
            assert time.monotonic() < deadline, "the job never started"
            assert proc.poll() is None, "spbe serve exited early"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


def _past_the_lease(app: App, clock: ManualClock, ticket_id: str) -> None:
    """The killed worker's lease runs out: the app's clock moves past it (no waiting for the wall clock)."""
    job = app.queue.list_jobs(ticket_id=ticket_id)[0]
    assert job.lease_until is not None
    clock.move_past(job.lease_until)


def test_idempotent_job_is_reclaimed_and_rerun_once(clocked_app, clock, engine_settings):
    engine_app = clocked_app
    ticket_id = approved_ticket(engine_app, jeda_detik="3")
    _start_and_kill(engine_settings.state_dir)
    job = engine_app.queue.list_jobs(ticket_id=ticket_id)[0]
    assert job.state == JobState.RUNNING and job.attempt == 1
    _past_the_lease(engine_app, clock, ticket_id)
    run_ticket(engine_app, ticket_id)
    job = engine_app.queue.get(job.id)
    assert job.state == JobState.SUCCEEDED
    assert job.attempt == 2
    assert [h["event"] for h in job.history] == ["lease_expired"]
    lines = [line for line in executions(engine_settings.state_dir) if "aksi-pertama" in line]
    assert [line.split()[0] for line in lines] == ["start", "start", "done"]
    completed = [e for e in engine_app.tickets.timeline(ticket_id)
                 if e.kind == EventKind.STEP_COMPLETED and e.step_id == "aksi-pertama"]
    assert len(completed) == 1


def test_non_idempotent_job_is_failed_not_rerun(clocked_app, clock, engine_settings):
    engine_app = clocked_app
    ticket_id = approved_ticket(engine_app, jeda_detik="3", sekali="ya")
    _start_and_kill(engine_settings.state_dir)
    _past_the_lease(engine_app, clock, ticket_id)
    run_ticket(engine_app, ticket_id)
    job = engine_app.queue.list_jobs(ticket_id=ticket_id)[0]
    assert job.step_id == "aksi-sekali"
    assert job.state == JobState.FAILED
    assert "not idempotent" in (job.error or "")
    lines = [line for line in executions(engine_settings.state_dir) if "aksi-sekali" in line]
    assert [line.split()[0] for line in lines] == ["start"]
    failed = [e for e in engine_app.tickets.timeline(ticket_id)
              if e.kind == EventKind.STEP_FAILED and e.step_id == "aksi-sekali"]
    assert len(failed) == 1 and "idempoten" in failed[0].text.lower()  # the ticket is told, once
    # The operator decides: a retry runs it again, once.
    engine_app.queue.retry(job.id)
    run_ticket(engine_app, ticket_id)
    assert engine_app.queue.get(job.id).state == JobState.SUCCEEDED
    lines = [line for line in executions(engine_settings.state_dir) if "aksi-sekali" in line]
    assert [line.split()[0] for line in lines] == ["start", "start", "done"]


def _serve_then_terminate(state_dir: Path) -> int:
    proc = subprocess.Popen(spbe_argv("serve", "--workers", "1"),
                            env=engine_env(state_dir, SPBE_WORKERS__SHUTDOWN_GRACE_S="0.5"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not any(line.startswith("start") for line in executions(state_dir)):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


def test_sigterm_stops_a_long_idempotent_job_and_gives_it_back(engine_app, engine_settings):
    ticket_id = approved_ticket(engine_app, jeda_detik="30")
    assert _serve_then_terminate(engine_settings.state_dir) == 0
    job = engine_app.queue.list_jobs(ticket_id=ticket_id)[0]
    assert job.state == JobState.QUEUED and job.attempt == 0
    assert [h["event"] for h in job.history] == ["released"]
    assert [line.split()[0] for line in executions(engine_settings.state_dir)] == ["start"]


def test_sigterm_fails_a_long_non_idempotent_job_for_an_operator(engine_app, engine_settings):
    ticket_id = approved_ticket(engine_app, jeda_detik="30", sekali="ya")
    assert _serve_then_terminate(engine_settings.state_dir) == 0
    job = engine_app.queue.list_jobs(ticket_id=ticket_id)[0]
    assert job.state == JobState.FAILED and "interrupted by shutdown" in (job.error or "")
