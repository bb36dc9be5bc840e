"""A process of the cross-process queue tests (test_queue_processes): ``python -m tests.integrations.postgres.
queue_child enqueue|claim GO_FILE``, the queue selected by the inherited SPBE_* environment as `App` builds it.

It waits for ``GO_FILE`` (so the processes start together, past their imports), then either enqueues the same
(ticket, step) ten times or claims and finishes jobs until none is left; it prints a JSON list on stdout: the
``created`` flags, or the ids it claimed."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from toolkit.bootstrap import App
from toolkit.ports.jobs import JobPlan, JobSpec, JobState
from toolkit.settings import load_settings

SPEC = JobSpec(ticket_id="T-1", step_id="instalasi", action="ansible.provision_server", idempotent=True,
               idempotency_key="T-1:instalasi", planned=JobPlan(plan={"n": 1}, plan_digest="d", input_digest="i"))


def main(role: str, go: Path) -> list[object]:
    app = App(load_settings())
    try:
        queue = app.queue
        deadline = time.monotonic() + 60
        while not go.exists():
            if time.monotonic() > deadline:
                raise SystemExit("never told to go")
            time.sleep(0.005)
        if role == "enqueue":
            return [queue.enqueue(SPEC)[1] for _ in range(10)]
        claimed: list[object] = []
        idle = 0
        while idle < 3:
            jobs = queue.claim_batch(f"w{os.getpid()}", 60.0, 5)
            if not jobs:
                idle += 1
                time.sleep(0.02)
                continue
            idle = 0
            claimed.extend(job.id for job in jobs)
            time.sleep(0.01)  # a job's work: the other processes claim meanwhile (contention is the point)
            done = queue.finish_many([_finish(job) for job in jobs])
            assert all(d is not None for d in done)
        return claimed
    finally:
        app.close()


def _finish(job):  # type: ignore[no-untyped-def]
    from toolkit.ports.jobs import JobFinish

    return JobFinish(job.id, job.lease_token or "", JobState.SUCCEEDED, {"by": os.getpid()}, None, [],
                     [f"run by {os.getpid()}"])


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
