"""A killed test session leaves its private Redmine running (its own process group) and its folder behind;
the next session's `sweep_orphans` removes both, and never touches a live session's instance. No Redmine
is needed: a process naming the folder stands in for the server, as the server's -P argument names it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lab.redmine import OWNER_FILE, STATE_PREFIX, _started, sweep_orphans


def _stand_in(folder: Path) -> subprocess.Popen[bytes]:
    pid_file = folder / "tmp" / "pids" / "rackup.pid"
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(pid_file)], process_group=0)


def test_an_orphaned_instance_is_stopped_and_removed_and_a_live_one_kept(tmp_path: Path) -> None:
    dead_owner = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                                text=True, check=True)
    orphan, live, starting = (tmp_path / f"{STATE_PREFIX}{name}" for name in ("orphan", "live", "starting"))
    for folder in (orphan, live, starting):
        folder.mkdir()
    (orphan / OWNER_FILE).write_text(f"{dead_owner.stdout.strip()} 1\n", encoding="utf-8")
    (live / OWNER_FILE).write_text(f"{os.getpid()} {_started(os.getpid())}\n", encoding="utf-8")
    servers = {folder: _stand_in(folder) for folder in (orphan, live, starting)}
    try:
        removed = sweep_orphans(tmp_path)
        assert servers[orphan].wait(timeout=15) != 0
        assert not orphan.exists() and any(str(orphan) in line for line in removed)
        assert live.is_dir() and servers[live].poll() is None
        assert starting.is_dir() and servers[starting].poll() is None  # no owner yet: a start in progress
    finally:
        for proc in servers.values():
            proc.kill()
            proc.wait()
