"""Which job a log line belongs to, without passing the job to every function that logs.

The worker sets these when it picks a job and resets them when the job is done (`job_context`);
`JobContextFilter` copies them onto each record, so an aggregator can gather one job's lines from
the engine, the actions and the libraries they call. Context variables are per thread: a thread an
action starts for itself begins without them (run its target in ``contextvars.copy_context()`` to
carry them over).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

TICKET_ID: ContextVar[str | None] = ContextVar("spbe_ticket_id", default=None)
JOB_ID: ContextVar[int | None] = ContextVar("spbe_job_id", default=None)
STEP_ID: ContextVar[str | None] = ContextVar("spbe_step_id", default=None)

CONTEXT_FIELDS = ("ticket_id", "job_id", "step_id")


@contextmanager
def job_context(ticket_id: str, job_id: int, step_id: str) -> Iterator[None]:
    """Every record logged in this thread inside the block carries the job's identity."""
    tokens = (TICKET_ID.set(ticket_id), JOB_ID.set(job_id), STEP_ID.set(step_id))
    try:
        yield
    finally:
        STEP_ID.reset(tokens[2])
        JOB_ID.reset(tokens[1])
        TICKET_ID.reset(tokens[0])


class JobContextFilter(logging.Filter):
    """Adds ``ticket_id``, ``job_id`` and ``step_id`` to records logged while a job runs. A value
    the caller passed in ``extra`` wins (the trigger logs about tickets outside any job). Put it on
    the handler, not a logger: a logger's filters do not see records propagated from its children."""

    def filter(self, record: logging.LogRecord) -> bool:
        values: tuple[str | int | None, ...] = (TICKET_ID.get(), JOB_ID.get(), STEP_ID.get())
        for name, value in zip(CONTEXT_FIELDS, values, strict=True):
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True
