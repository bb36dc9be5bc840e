"""What firing a compliance schedule calls: `ScheduledRunner.run(schedule, due_at)`.

Why a port: the schedule layer (`toolkit.engine.schedules`) owns *when* and *once*; what a run does
(check the profile's rules on the targets, open tickets for findings) is the compliance runner's, which
implements this Protocol and is handed over by the composition root (`App.scheduled_runner`). Until one
is configured the engine records each firing as ``not_configured`` instead of pretending it ran.

A runner is called once per (schedule, due time), after the claim is stored: it must not be retried by
the caller, so it reports a failure as ``RunResult(outcome="failed", ...)`` (an exception it raises is
recorded the same way).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from toolkit.ports.schedule_records import RunResult, Schedule


class ScheduledRunner(Protocol):
    def run(self, schedule: Schedule, due_at: datetime) -> RunResult:
        """Run ``schedule``'s profile on its targets for the due time ``due_at`` (UTC)."""
        ...
