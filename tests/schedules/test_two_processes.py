"""Two processes, each with its own `App` (its own connections to ``state.db``), run `Server.tick` at the same
moment on a schedule owed one run: exactly one of them fires it. Real subprocesses, released together by a
file both wait for; the schedule's latest due time is fixed (1 January, 00:00 WITA, this year), so both
compute the same (schedule, due time) whatever the wall clock says."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import REPO
from toolkit.bootstrap import App
from toolkit.ports.schedule_records import Schedule
from toolkit.settings import load_settings

TICK = """
import pathlib, sys, time
from toolkit.bootstrap import App
from toolkit.engine.server import Server
from toolkit.settings import load_settings
state_dir, gate = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
app = App(load_settings(state_dir=state_dir))
app.state.schedules.list()  # open the store before the race, as a running server has
(gate.parent / f"ready-{sys.argv[3]}").touch()
while not gate.exists():
    time.sleep(0.002)
Server(app, workers=1).tick()
app.close()
"""


def test_two_processes_fire_one_due_time_once(state_dir: Path, tmp_path: Path) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    app = App(load_settings(state_dir=state_dir))
    app.state.schedules.add(Schedule(id="tahunan", profile="server-dasar", targets=("pd-01",), cron="0 0 1 1 *",
                                     timezone="Asia/Makassar", created_by="eko", created_at=long_ago,
                                     not_before=long_ago))
    gate = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", TICK, str(state_dir), str(gate), str(i)],
                              env={**os.environ, "PYTHONPATH": str(REPO)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
    try:
        while not all((tmp_path / f"ready-{i}").exists() for i in range(2)):
            assert all(p.poll() is None for p in procs), [p.communicate()[0] for p in procs]
            time.sleep(0.01)  # waiting for both to be ready, not timing anything
        gate.touch()
        outputs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], outputs
    runs = app.state.schedules.runs("tahunan")
    assert len(runs) == 1, runs
    local = runs[0].due_at.astimezone(app.state.schedules.get("tahunan").zone)
    assert (local.month, local.day, local.hour, local.minute) == (1, 1, 0, 0)
    assert [e.action for e in app.audit.entries()].count("schedule.fired") == 1
    app.close()
