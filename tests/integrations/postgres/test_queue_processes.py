"""The queue's guarantees across processes, on SQLite (one host) and PostgreSQL (the shared store): four
processes enqueueing one (ticket, step) ten times each make one job; four processes claiming 200 jobs claim
each exactly once; a ``spbe serve`` killed mid-job loses its lease to another ``spbe serve``, which runs the job
again, the step's effect recorded once on the ticket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO, engine_env, spbe_argv
from tests.engine.helpers import approved_ticket, executions
from tests.engine.test_worker_crash import (
    _start_and_kill,
    test_idempotent_job_is_reclaimed_and_rerun_once,
    test_non_idempotent_job_is_failed_not_rerun,
)
from toolkit.bootstrap import App
from toolkit.domain.tickets.models import EventKind
from toolkit.ports.jobs import JobPlan, JobSpec, JobState
from toolkit.settings import Settings, load_settings

pytestmark = pytest.mark.slow  # processes of their own, seconds each: the full suite runs these

__all__ = ["test_idempotent_job_is_reclaimed_and_rerun_once", "test_non_idempotent_job_is_failed_not_rerun"]


@pytest.fixture(params=["sqlite", "postgres"])
def queue_env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment selecting the queue (inherited by the child processes) and the settings it makes."""
    monkeypatch.setenv("SPBE_STATE_DIR", str(tmp_path / "state"))
    if request.param == "postgres":
        monkeypatch.setenv("SPBE_TEST_PG_DSN", request.getfixturevalue("pg_dsn"))
        monkeypatch.setenv("SPBE_QUEUE__KIND", "postgres")
        monkeypatch.setenv("SPBE_SECRETS__POSTGRES_DSN__REF", "env:SPBE_TEST_PG_DSN")
    return load_settings()


def _children(role: str, go: Path, count: int = 4) -> list[list[object]]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.integrations.postgres.queue_child", role, str(go)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(count)]
    time.sleep(0.5)  # let them import; they start together when the file appears
    go.touch()
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
    return [json.loads(out) for out, _ in outputs]


def test_four_processes_enqueueing_one_step_ten_times_each_make_one_job(queue_env: Settings,
                                                                       tmp_path: Path) -> None:
    created = [flag for flags in _children("enqueue", tmp_path / "go") for flag in flags]
    assert len(created) == 40 and created.count(True) == 1
    app = App(queue_env)
    try:
        assert [(j.ticket_id, j.step_id) for j in app.queue.list_jobs()] == [("T-1", "instalasi")]
    finally:
        app.close()


def test_four_processes_claim_200_jobs_each_exactly_once(queue_env: Settings, tmp_path: Path) -> None:
    app = App(queue_env)
    try:
        ids = [app.queue.enqueue(JobSpec(ticket_id=f"T-{i}", step_id="s", action="noop", idempotent=True,
                                         idempotency_key=f"T-{i}:s", planned=JobPlan()))[0].id for i in range(200)]
        claimed = _children("claim", tmp_path / "go")
        everything = Counter(job_id for ids_of_one in claimed for job_id in ids_of_one)
        assert sorted(everything) == sorted(ids) and set(everything.values()) == {1}
        jobs = app.queue.list_jobs(limit=500)
        assert len(jobs) == 200 and {(j.state, j.attempt) for j in jobs} == {(JobState.SUCCEEDED, 1)}
        assert all(len(app.queue.logs(j.id)) == 1 for j in jobs[:20])
    finally:
        app.close()


def test_a_killed_serve_loses_its_job_to_another_serve_which_records_it_once(engine_app: App,
                                                                           engine_settings: Settings) -> None:
    """Two real processes on the real clock: the first dies mid-job (SIGKILL), the second takes the job once
    the lease (1 s here) has run out, runs it again (the action is idempotent) and records the step once."""
    ticket_id = approved_ticket(engine_app, jeda_detik="1")
    _start_and_kill(engine_settings.state_dir)
    proc = subprocess.Popen(spbe_argv("serve", "--workers", "1", "--duration", "20"),
                            env=engine_env(engine_settings.state_dir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not [line for line in executions(engine_settings.state_dir) if line.startswith("done")]:
            assert time.monotonic() < deadline, "the second process never finished the job"
            time.sleep(0.1)
        while engine_app.queue.outbox_pending_count(ticket_id):  # the step's result on its way to the ticket
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    lines = [line for line in executions(engine_settings.state_dir) if "aksi-pertama" in line]
    assert [line.split()[0] for line in lines] == ["start", "start", "done"]
    assert len({line.split()[-1] for line in lines if line.startswith("start")}) == 2, "two processes ran it"
    job = next(j for j in engine_app.queue.list_jobs(ticket_id=ticket_id) if j.step_id == "aksi-pertama")
    assert job.state == JobState.SUCCEEDED and job.attempt == 2
    assert [h["event"] for h in job.history] == ["lease_expired"]
    completed = [e for e in engine_app.tickets.timeline(ticket_id)
                 if e.kind == EventKind.STEP_COMPLETED and e.step_id == "aksi-pertama"]
    assert len(completed) == 1
