"""An action runs once per approved step: duplicate events, two workers, two processes."""

from __future__ import annotations

import subprocess
import time
from collections import Counter

import pytest

from tests.conftest import engine_env, spbe_argv
from tests.engine.helpers import approved_ticket, executions
from toolkit.engine import scheduler
from toolkit.engine.server import CURSOR, trigger_once
from toolkit.engine.worker import work_once
from toolkit.ports.jobs import JobState


def test_same_approval_event_delivered_ten_times_creates_one_job(engine_app):
    ticket_id = approved_ticket(engine_app)
    for _ in range(10):
        engine_app.queue.set_cursor(CURSOR, 0)  # the feed replays every event, approval included
        trigger_once(engine_app)
        scheduler.advance(engine_app, ticket_id)
    jobs = engine_app.queue.list_jobs(ticket_id=ticket_id)
    assert [(j.step_id, j.state) for j in jobs] == [("aksi-pertama", JobState.QUEUED)]


def test_two_workers_in_one_process_run_each_step_once(engine_app, engine_settings):
    ticket_id = approved_ticket(engine_app)
    import threading

    results: list[object] = []

    def worker(name: str) -> None:
        while True:
            job = work_once(engine_app, name)
            if job is None and not engine_app.queue.list_jobs(state=JobState.QUEUED):
                return
            results.append(job)

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    done = Counter(line.split()[2] for line in executions(engine_settings.state_dir) if line.startswith("done"))
    assert done == Counter({"aksi-pertama": 1, "aksi-kedua": 1})
    states = {j.step_id: j.state for j in engine_app.queue.list_jobs(ticket_id=ticket_id)}
    assert states == {"aksi-pertama": JobState.SUCCEEDED, "aksi-kedua": JobState.SUCCEEDED}


@pytest.mark.slow  # several processes or a whole-tree scan: the full suite runs it, the fast tier does not
def test_two_serve_processes_share_the_queue_without_running_anything_twice(engine_app, engine_settings):
    tickets = [approved_ticket(engine_app, jeda_detik="1") for _ in range(6)]  # slow enough to share out
    env = engine_env(engine_settings.state_dir)
    procs = [subprocess.Popen(spbe_argv("serve", "--workers", "2", "--duration", "12"), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = [line for line in executions(engine_settings.state_dir) if line.startswith("done")]
            if len(done) >= 12:
                break
            for p in procs:
                assert p.poll() is None, p.stderr.read().decode()[-2000:]
            time.sleep(0.1)
    finally:
        for p in procs:
            p.wait(timeout=60)
            p.stderr.close()
    lines = [line for line in executions(engine_settings.state_dir) if line.startswith("done")]
    per_step = Counter((line.split()[1], line.split()[2]) for line in lines)
    assert len(per_step) == 12 and set(per_step.values()) == {1}, per_step
    assert {t for t, _ in per_step} == set(tickets)
    pids = {line.split()[-1] for line in lines}
    assert len(pids) == 2, "both processes took part"
