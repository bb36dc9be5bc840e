"""The start and end of every job in the process log, and its duration in the metrics.

`observed_job` wraps one claimed job's run in the worker: it sets the job context (so every line
logged meanwhile carries ticket, job and step), logs one ``job.start`` and one ``job.end`` record with
the fields an operator filters on, and records the attempt in the process's telemetry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from toolkit.observability.context import job_context
from toolkit.observability.telemetry import Telemetry
from toolkit.ports.jobs import TERMINAL_STATES, Job, JobState

log = logging.getLogger("spbe.jobs")


def outcome_of(job: Job) -> str:
    """The job's state after the attempt; a job that is not final was handed back (``requeued``) or
    is now someone else's (``lost``: its lease expired or it was fenced off at finish)."""
    if job.state in TERMINAL_STATES:
        return job.state.value
    return "requeued" if job.state == JobState.QUEUED else "lost"


@dataclass
class JobObservation:
    done: Job | None = None

    def record(self, job: Job) -> Job:
        """Remember the job as recorded after the run; returns it for the caller's convenience."""
        self.done = job
        return job


@contextmanager
def observed_job(telemetry: Telemetry, job: Job, worker: str) -> Iterator[JobObservation]:
    fields = {"action": job.action, "attempt": job.attempt, "worker": worker}
    seen = JobObservation()
    started = time.monotonic()
    with job_context(job.ticket_id, job.id, job.step_id):
        log.info("job %s started: %s, step %s of %s, attempt %s", job.id, job.action, job.step_id, job.ticket_id,
                 job.attempt, extra={"event": "job.start", **fields})
        outcome, final = "error", False
        try:
            yield seen
            if seen.done is not None:
                outcome, final = outcome_of(seen.done), seen.done.state in TERMINAL_STATES
        finally:
            duration = time.monotonic() - started
            level = logging.WARNING if outcome in ("failed", "lost", "error") else logging.INFO
            log.log(level, "job %s ended: %s after %.3f s", job.id, outcome, duration,
                    extra={"event": "job.end", **fields, "outcome": outcome, "duration_s": round(duration, 3)})
            telemetry.job_finished(job.action, outcome, duration, final)
