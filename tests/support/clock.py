"""A `toolkit.clock.Clock` that moves only when the test moves it.

Given to `App(settings, clock=...)`, it is the "now" of the job queue's leases, the outbox's retries and the
engine's deadlines: a test moves it past a lease or a backoff instead of sleeping until the wall clock has.
It is a real implementation of the port, not a patch: nothing else in the process is affected.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class ManualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()  # the worker threads of an in-process engine read it too

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta``; returns the new now."""
        if delta < timedelta(0):
            raise ValueError("a clock does not go back")
        with self._lock:
            self._now += delta
            return self._now

    def move_past(self, instant: datetime, by: timedelta = timedelta(milliseconds=1)) -> datetime:
        """Move to just after ``instant`` (a lease's end, a retry's due time); never backwards."""
        with self._lock:
            self._now = max(self._now, instant + by)
            return self._now
