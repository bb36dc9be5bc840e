"""`spbe serve --role ... --families ...`: bad values are refused before anything starts, and a role runs only
its own part (a trigger host never runs a job; a worker host does)."""

from __future__ import annotations

import signal
import subprocess
import time

from tests.conftest import engine_env, spbe_argv
from tests.engine.helpers import approved_ticket, executions
from tests.support.cli import Spbe
from toolkit.ports.jobs import JobState


def test_an_unknown_role_is_refused_naming_the_choices(state_dir):
    result = Spbe(state_dir=state_dir)("serve", "--role", "worker,api;rm -rf /", "--duration", "0.1")
    assert result.exit_code == 2
    assert "unknown role" in result.output and "api, trigger, worker" in result.output
    assert not (state_dir / "audit.db").exists()  # refused before anything was opened


def test_an_unknown_family_is_refused_before_the_worker_starts(state_dir, monkeypatch):
    monkeypatch.setenv("SPBE_ENGINE__KIND", "celery")
    monkeypatch.setenv("SPBE_BROKER_URL", "redis://127.0.0.1:1/0")  # never reached: the refusal comes first
    result = Spbe(state_dir=state_dir)("serve", "--role", "worker", "--families", "network,$(id)",
                                       "--duration", "0.1")
    assert result.exit_code == 2
    assert "unknown family" in result.output
    for family in ("ansible", "default", "evidence", "network"):
        assert family in result.output


def test_a_trigger_host_runs_no_job_and_a_worker_host_does(engine_app, state_dir):
    ticket_id = approved_ticket(engine_app)  # the approval enqueued the first step's job
    queued = engine_app.queue.list_jobs(state=JobState.QUEUED)
    assert [j.ticket_id for j in queued] == [ticket_id]
    env = engine_env(state_dir)

    trigger = subprocess.run(spbe_argv("serve", "--role", "trigger", "--duration", "2"), env=env,
                             capture_output=True, timeout=120, check=False)
    assert trigger.returncode == 0, trigger.stderr.decode()[-2000:]
    assert executions(state_dir) == []
    assert engine_app.queue.get(queued[0].id).state == JobState.QUEUED

    worker = subprocess.Popen(spbe_argv("serve", "--role", "worker"), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while engine_app.queue.get(queued[0].id).state != JobState.SUCCEEDED:
            assert worker.poll() is None, "the worker stopped"
            assert time.monotonic() < deadline, "the worker never ran the job"
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    first = f"job={queued[0].id} "
    assert [line.split()[0] for line in executions(state_dir) if first in line] == ["start", "done"]  # once
