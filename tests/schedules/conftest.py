"""Schedules on a real state directory: the packaged catalog and roles file, real SQLite, a `ManualClock`
the test moves across an outage instead of sleeping, and runners that are real implementations of the
`ScheduledRunner` port (they record what they were asked)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.clock import ManualClock
from toolkit.bootstrap import App
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.ports.schedule_records import RunResult, Schedule
from toolkit.settings import load_settings

START = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # 08:30 WITA, 07:30 WIB


class RecordingRunner:
    """Says done and remembers each (schedule, due time) it ran."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []

    def run(self, schedule: Schedule, due_at: datetime) -> RunResult:
        self.calls.append((schedule.id, due_at))
        return RunResult(outcome="done", detail=f"{len(schedule.targets)} target(s)")


class BrokenRunner:
    def run(self, schedule: Schedule, due_at: datetime) -> RunResult:
        raise RuntimeError("the inventory cannot be read")


class Ticks:
    """The server's monotonic clock: periodic work is due when the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def later(self) -> None:
        self.now += 3600.0


def open_app(state_dir: Path, clock: ManualClock, runner: object | None = None) -> App:
    return App(load_settings(state_dir=state_dir), clock=clock, runner=runner)  # type: ignore[arg-type]


def manager(app: App) -> str:
    """The first person of the directory whose role may manage compliance schedules."""
    roles = app.catalog.roles.with_trait(RoleTrait.MANAGES_COMPLIANCE_SCHEDULES)
    return min(p.username for role in roles for p in app.directory.people_with_role(role))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(state_dir: Path, clock: ManualClock) -> Iterator[App]:
    opened = open_app(state_dir, clock)
    yield opened
    opened.close()
