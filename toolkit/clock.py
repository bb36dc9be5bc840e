"""The time the engine reads, as a port: `Clock.now()`.

Leases, outbox retries, escalation deadlines and credential expiry compare stored instants with "now".
Reading that "now" through a clock passed from the composition root (`toolkit.bootstrap.App.clock`)
lets a test move time past a deadline instead of sleeping until the wall clock gets there, and keeps
the rule in one place: every instant is an aware UTC datetime.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The wall clock; what production uses."""

    def now(self) -> datetime:
        return datetime.now(UTC)
