"""``spbe lab up|down|status`` after the lab went stale behind its back: a reboot (every process and
namespace gone, lab.json pointing at dead pids), a namespace deleted while its processes run, a dead
server, an unreadable state file. Each command recovers and says what it cleaned up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lab import netns
from lab.cli import lab_group
from lab.manager import LabManager
from lab.models import LabState
from lab.procs import processes_naming
from tests.fixtures import lab as lab_fixture

pytestmark = pytest.mark.lab


def _lab(lab_dir: Path, name: str, **options: object) -> LabManager:
    defaults: dict[str, object] = {"switches": 1, "vpn": False, "with_gateway": False, "with_prometheus": True}
    return LabManager(lab_dir, name, **{**defaults, **options})  # type: ignore[arg-type]


def _cli(lab_dir: Path, *args: str) -> Result:
    result = CliRunner().invoke(lab_group, ["--lab-dir", str(lab_dir), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result


def _namespaces(state: LabState) -> list[str]:
    return [h.netns for h in state.hosts] + (
        [state.incident.segment_netns, state.incident.csirt_netns, state.incident.attacker_netns,
         state.incident.affected.netns] if state.incident else [])  # fmt: skip


def _reboot(manager: LabManager, state: LabState) -> None:
    """What a reboot leaves: no process of the lab, no namespace (/run is a tmpfs), the files on disk."""
    for pid in processes_naming(f"{manager.dir}/"):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while processes_naming(f"{manager.dir}/") and time.monotonic() < deadline:
        time.sleep(0.1)
    for name in _namespaces(state):
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    assert manager.state_file.is_file()


@pytest.fixture
def lab_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for name in os.listdir(tmp_path):  # whatever a failing test left
        LabManager(tmp_path, name).down()


def test_status_after_a_reboot_cleans_up_and_says_so(lab_dir: Path) -> None:
    name = lab_fixture.test_lab_name("-rb")
    manager = _lab(lab_dir, name, incident=True)
    state = manager.up()
    assert state.switch_pid and state.prometheus_pid and state.incident
    _reboot(manager, state)

    out = _cli(lab_dir, "status", "--name", name).output
    assert "cleaned up stale state" in out and f"lab {name} is not up" in out
    host = state.hosts[0]
    assert f"host {host.name} (pid {host.init_pid}) was gone" in out
    assert f"network namespace {host.netns} was gone" in out
    assert f"switch server (pid {state.switch_pid}) was gone" in out
    assert f"prometheus (pid {state.prometheus_pid}) was gone" in out
    assert f"network namespace {state.incident.csirt_netns} was gone" in out
    assert not manager.dir.exists() and not netns.link_exists(host.veth_root)
    assert _cli(lab_dir, "status", "--name", name, "--json").stdout.strip() == "null"  # nothing left to say


def test_up_after_a_reboot_starts_afresh(lab_dir: Path) -> None:
    name = lab_fixture.test_lab_name("-up")
    manager = _lab(lab_dir, name)
    state = manager.up()
    _reboot(manager, state)

    result = CliRunner().invoke(lab_group, ["--lab-dir", str(lab_dir), "up", "--name", name, "--switches", "1",
                                            "--no-incident", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "cleaned up stale state" in result.stderr and "was gone" in result.stderr
    fresh = LabState.model_validate(json.loads(result.stdout))  # stdout stays pure JSON
    try:
        assert fresh.hosts[0].init_pid != state.hosts[0].init_pid
        assert all(part.alive for part in manager.parts(fresh))
        assert fresh.config_file is not None and fresh.config_file.is_file()
    finally:
        assert "lab" in _cli(lab_dir, "down", "--name", name).output


def test_a_namespace_deleted_under_running_processes(lab_dir: Path) -> None:
    """``ip netns del`` removes the name, not the namespace: its host keeps running, unreachable by name.
    status names the missing namespace; down stops the processes the records no longer reach."""
    name = lab_fixture.test_lab_name("-ns")
    manager = _lab(lab_dir, name, with_prometheus=False)
    state = manager.up()
    host = state.hosts[0]
    subprocess.run(["ip", "netns", "del", host.netns], check=True)
    assert processes_naming(f"{manager.dir}/")  # still running

    status = _cli(lab_dir, "status", "--name", name).output
    assert f"lab {name} is only partly running" in status and f"network namespace {host.netns} was gone" in status

    down = _cli(lab_dir, "down", "--name", name).output
    assert "stopped leftover process" in down and f"lab {name} is down" in down
    assert processes_naming(f"{manager.dir}/") == {}
    assert not netns.link_exists(host.veth_root) and not manager.dir.exists()


def test_a_dead_server_is_named_and_up_replaces_it(lab_dir: Path) -> None:
    name = lab_fixture.test_lab_name("-sw")
    manager = _lab(lab_dir, name, with_prometheus=False)
    state = manager.up()
    assert state.switch_pid is not None
    os.kill(state.switch_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while manager.switches_running(state) and time.monotonic() < deadline:
        time.sleep(0.1)

    status = _cli(lab_dir, "status", "--name", name).output
    assert f"switch server (pid {state.switch_pid}) was gone" in status and "spbe lab up" in status
    notes = manager.down()
    assert notes == [f"switch server (pid {state.switch_pid}) was gone"]
    assert not manager.dir.exists()


def test_an_unreadable_state_file_does_not_stop_down(lab_dir: Path) -> None:
    name = lab_fixture.test_lab_name("-js")
    manager = _lab(lab_dir, name, switches=0, with_prometheus=False)
    state = manager.up()
    manager.state_file.write_text("{ half written", encoding="utf-8")
    assert manager.status() is None

    status = _cli(lab_dir, "status", "--name", name).output
    assert "could not be read" in status and f"lab {name} is not up" in status
    assert not netns.netns_exists(state.hosts[0].netns) and not manager.dir.exists()
    assert processes_naming(f"{manager.dir}/") == {}
