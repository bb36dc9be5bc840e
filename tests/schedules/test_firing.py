"""`spbe serve` fires schedules in `Server.tick`: an owed run once, one run after a long outage (not a burst),
never while paused nor for what was missed while paused, once across two servers racing the same due time,
a sweep the built-in runner cannot do recorded as failed, and each firing audited as the engine. Nothing sleeps: the
services' clock (when) and the server's monotonic clock (whether the round looks) are moved by the test."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.schedules.conftest import START, BrokenRunner, RecordingRunner, Ticks, manager, open_app
from tests.support.clock import ManualClock
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands.schedules import add_schedule, set_paused
from toolkit.engine.server import Server

HOURLY = "0 * * * *"


def add(app: App, cron: str = HOURLY, schedule_id: str = "per-jam") -> None:
    add_schedule(app, as_lab(manager(app)), schedule_id=schedule_id, profile="server-dasar", targets=["pd-01"],
                 cron=cron, timezone="Asia/Makassar")


def fired(app: App) -> list[dict[str, object]]:
    return [e.data for e in app.audit.entries() if e.action == "schedule.fired"]


def test_nothing_is_owed_before_the_first_due_time_after_it_was_added(app: App, clock: ManualClock) -> None:
    add(app)
    ticks = Ticks()
    server = Server(app, workers=1, monotonic=ticks)
    server.tick()
    assert app.state.schedules.runs() == [], "00:00 UTC came before the schedule existed"
    clock.move_past(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    ticks.later()
    server.tick()
    [run] = app.state.schedules.runs()
    assert run.due_at == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_the_builtin_runner_records_a_sweep_it_cannot_do_as_failed_and_audited_as_the_engine(
        app: App, clock: ManualClock) -> None:
    """The root wires `spbe compliance run`'s command; here no inventory is configured (or the target is in
    none), so the firing is claimed once and recorded as failed with the reason, not retried."""
    add(app)
    clock.advance(timedelta(hours=1))
    Server(app, workers=1, monotonic=Ticks()).tick()
    [run] = app.state.schedules.runs()
    assert run.outcome == "failed" and run.detail.startswith(("ConfigurationError", "NotFoundError")), run.detail
    [entry] = fired(app)
    assert entry["auth"] == "engine" and entry["outcome"] == "failed" and entry["schedule"] == "per-jam"
    assert [e.actor for e in app.audit.entries() if e.action == "schedule.fired"] == ["spbe"]
    assert app.state.compliance_history.runs() == []


def test_a_long_outage_owes_one_run_not_a_burst(state_dir: Path, clock: ManualClock) -> None:
    runner = RecordingRunner()
    app = open_app(state_dir, clock, runner)
    try:
        add(app)
        ticks = Ticks()
        server = Server(app, workers=1, monotonic=ticks)
        clock.advance(timedelta(hours=1))
        server.tick()
        assert len(runner.calls) == 1
        clock.advance(timedelta(days=3, minutes=20))  # 72 hourly runs missed while no server ran
        ticks.later()
        server.tick()
        ticks.later()
        server.tick()  # the same instant again: nothing more is owed
        latest = datetime(2026, 3, 5, 1, 0, tzinfo=UTC)
        assert runner.calls[1:] == [("per-jam", latest)]
        assert [r.outcome for r in app.state.schedules.runs()] == ["done", "done"]
        assert fired(app)[-1]["previous_due"] == "2026-03-02T01:00:00+00:00"
    finally:
        app.close()


def test_a_runner_that_raises_is_recorded_as_failed_and_not_retried(state_dir: Path, clock: ManualClock) -> None:
    app = open_app(state_dir, clock, BrokenRunner())
    try:
        add(app)
        clock.advance(timedelta(hours=1))
        ticks = Ticks()
        server = Server(app, workers=1, monotonic=ticks)
        server.tick()
        ticks.later()
        server.tick()
        [run] = app.state.schedules.runs()
        assert run.outcome == "failed" and "the inventory cannot be read" in run.detail
    finally:
        app.close()


def test_paused_fires_nothing_and_resuming_owes_nothing_missed(app: App, clock: ManualClock) -> None:
    add(app)
    who = as_lab(manager(app))
    set_paused(app, who, "per-jam", paused=True)
    ticks = Ticks()
    server = Server(app, workers=1, monotonic=ticks)
    clock.advance(timedelta(days=2))
    server.tick()
    assert app.state.schedules.runs() == []
    set_paused(app, who, "per-jam", paused=False)
    ticks.later()
    server.tick()
    assert app.state.schedules.runs() == [], "the runs missed while paused are not owed"
    clock.advance(timedelta(hours=1))
    ticks.later()
    server.tick()
    assert len(app.state.schedules.runs()) == 1


def test_two_servers_racing_the_same_due_time_fire_it_once(state_dir: Path, clock: ManualClock) -> None:
    """Two `Server`s, each with its own `App` and so its own store connections, tick at the same moment on
    every thread of several rounds; each due time is claimed by exactly one."""
    runners = [RecordingRunner(), RecordingRunner()]
    apps = [open_app(state_dir, clock, runner) for runner in runners]
    try:
        add(apps[0])
        add(apps[0], "*/30 * * * *", "setengah-jam")
        servers = [Server(app, workers=1, monotonic=Ticks()) for app in apps]
        for _round in range(3):
            clock.advance(timedelta(hours=1))
            barrier = threading.Barrier(len(servers))

            def tick(server: Server, gate: threading.Barrier = barrier) -> None:
                gate.wait()
                server.tick()

            threads = [threading.Thread(target=tick, args=(server,)) for server in servers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for server in servers:
                server.monotonic.later()  # type: ignore[attr-defined]
        calls = sorted(runners[0].calls + runners[1].calls)
        assert len(calls) == len(set(calls)) == 6, calls
        assert len(fired(apps[0])) == 6
        assert START + timedelta(hours=3) >= max(due for _, due in calls)
    finally:
        for app in apps:
            app.close()
