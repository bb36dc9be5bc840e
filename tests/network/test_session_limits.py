"""Sessions as the switches see them: one per device, a cap per site, one for a whole push.

A switch lab of its own (4 simulated switches in one site), so no other test's sessions mix into the
switch server's session log (`lab.switches.session_events`), which is what these tests read: the
limits are observed on the devices' side, not inferred from timing.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import network_inventory
from lab.models import SwitchLabState
from lab.switches import SwitchLab, available, max_open, session_events
from toolkit.network import build_change, load_inventory
from toolkit.network.fanout import FanoutOptions, NetworkRunner
from toolkit.network.inventory import NetworkInventory
from toolkit.network.refs import RefResolver, ResolvedDevice
from toolkit.network.render import TEMPLATES_DIR
from toolkit.network.session import DeviceSession, SessionOptions

pytestmark = pytest.mark.lab
PORT = "FastEthernet0/5"


@pytest.fixture(scope="module")
def switches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchLabState]:
    if not available():
        pytest.fail("fake-switches is not installed; run scripts/switch_sim_packages.sh")
    lab = SwitchLab(tmp_path_factory.mktemp("labs"), f"{os.environ.get('SPBE_TEST_LAB', 'spbe')[:6]}-limits",
                    count=4)  # fmt: skip
    state = lab.up()
    try:
        yield state
    finally:
        lab.down()


def _inventory(state: SwitchLabState, folder: Path, timing: dict[str, Any] | None = None,
               **site: Any) -> NetworkInventory:  # fmt: skip
    data = network_inventory.one_site(state.switches, state.name, "uji", [PORT, "FastEthernet0/6"], timing=timing,
                                      **site)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "limits.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_inventory(path)


def _runner(state: SwitchLabState, inv: NetworkInventory, folder: Path, workers: int = 4) -> NetworkRunner:
    return NetworkRunner(inv, RefResolver(), state_dir=folder / "state",
                         options=FanoutOptions(max_workers=workers, max_devices=10),
                         session_options=SessionOptions(known_hosts=state.known_hosts))  # fmt: skip


def _since(state: SwitchLabState, mark: int) -> list[tuple[float, str, int]]:
    return session_events(state)[mark:]


def test_site_cap_holds_on_the_switches(switches: SwitchLabState, tmp_path: Path) -> None:
    """4 workers, 4 devices, a site cap of 2: every session waits at a barrier for a partner, so two are
    surely open together; a third must never be (the switches would log it)."""
    inv = _inventory(switches, tmp_path, max_sessions=2)
    runner = _runner(switches, inv, tmp_path)
    pair = threading.Barrier(2, timeout=30)

    class Paired(DeviceSession):
        def connect(self) -> None:
            super().connect()
            pair.wait()

    runner._connect = Paired
    mark = len(session_events(switches))
    report = runner.backup(runner.select("uji"))
    assert report.ok, report.failed
    events = _since(switches, mark)
    assert sum(1 for e in events if e[2] == 1) == 4
    assert max_open(events) == 2


def test_never_two_sessions_to_one_device(switches: SwitchLabState, tmp_path: Path) -> None:
    """Two tasks want the same switch at once; the first holds its session until the second has asked for
    one and then (up to 2 s) until the second got it. With the gate, the second waits for the first to
    end, so the switch never sees two sessions; without it, the second would open inside those 2 s."""
    inv = _inventory(switches, tmp_path)
    device = inv.sites[0].devices[0]
    resolved = RefResolver().device(device)
    options = SessionOptions(known_hosts=switches.known_hosts)
    second_asks, second_in = threading.Event(), threading.Event()
    results: list[str] = []

    def first() -> None:
        with DeviceSession(resolved, options) as session:
            assert second_asks.wait(30)
            second_in.wait(2)
            results.append(session.running_config())

    def second() -> None:
        session = DeviceSession(resolved, options)
        second_asks.set()
        with session:
            second_in.set()
            results.append(session.running_config())

    mark = len(session_events(switches))
    one = threading.Thread(target=first)
    one.start()
    while not any(e[1] == device.name for e in _since(switches, mark)):  # the first is open on the switch
        threading.Event().wait(0.01)
    two = threading.Thread(target=second)
    two.start()
    one.join(60)
    two.join(60)
    assert len(results) == 2 and all(f"hostname {device.name}" in r for r in results)
    events = _since(switches, mark)
    assert sum(1 for e in events if e[2] == 1) == 2
    assert max_open(events, {device.name}) == 1


def test_one_push_is_one_session(switches: SwitchLabState, tmp_path: Path) -> None:
    """Backup, diff, conflict check, push and verify of one device: one SSH session on the switch."""
    inv = _inventory(switches, tmp_path)
    runner = _runner(switches, inv, tmp_path)
    name = inv.sites[0].devices[1].name
    plan = build_change(inv, site="uji", vlan_id=401, vlan_name="SATU-SESI", description="uji",
                        subnet="10.20.41.0/24", apps=["simpeg"], access_ports={name: [PORT]})  # fmt: skip
    mark = len(session_events(switches))
    report = runner.push(plan)
    assert report.ok and report.results[0].outcome == "changed"
    opened = [e for e in _since(switches, mark) if e[2] == 1]
    assert [e[1] for e in opened] == [name]
    assert runner.rollback(plan).ok


def _templates_with(tmp_path: Path, marker: str, extra: str) -> Path:
    """Our templates with ``extra`` after ``marker`` (for the second port only): a line in the middle of
    the rendered change that the device refuses or that leaves config mode."""
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, root)
    path = root / "cisco_ios" / "access_ports.j2"
    text = path.read_text()
    assert marker in text
    path.write_text(text.replace(marker, marker + '{% if port == "FastEthernet0/6" %}\n' + extra + "{% endif %}\n"))
    return root


@pytest.mark.parametrize(("extra", "expected", "sessions", "batch"), [
    # refused: the push's own session restores the backup (+1 session: the test's check afterwards)
    (" spanning-tree portfast edge\n", "Invalid input", 2, 32),
    # the same line by line (config_batch_lines: 1): nothing after the refused line is sent
    (" spanning-tree portfast edge\n", "Invalid input", 2, 1),
    # leaves config mode: the batch's later lines run at the exec prompt, where ` exit` logs out; the
    # restore then needs a fresh session (opened only after the dead one is closed)
    ("end\n", "config mode was left", 3, 32),
])  # fmt: skip
def test_refused_line_in_the_middle_of_a_batch_rolls_back(switches: SwitchLabState, tmp_path: Path, extra: str,
                                                          expected: str, sessions: int,
                                                          batch: int) -> None:  # fmt: skip
    inv = _inventory(switches, tmp_path, timing={"cisco_ios": {"config_batch_lines": batch}})
    runner = _runner(switches, inv, tmp_path)
    runner.templates_dir = _templates_with(tmp_path, " switchport access vlan {{ vlan_id }}\n", extra)
    name = inv.sites[0].devices[2].name
    plan = build_change(inv, site="uji", vlan_id=402 + len(extra), vlan_name="BATCH", description="uji",
                        subnet=f"10.20.{42 + len(extra)}.0/24", apps=["simpeg"],
                        access_ports={name: [PORT, "FastEthernet0/6"]})  # fmt: skip
    lines = runner._ops([inv.sites[0].device(name)])[name]._lines(plan)
    bad = lines.index(extra.rstrip("\n"))
    assert 0 < bad < len(lines) - 1
    assert runner.session_options.timing_for("cisco_ios").config_batch_lines == batch
    assert batch == 1 or len(lines) <= batch  # the bad line is in the middle of one batch
    before = _running(runner, inv, name)
    mark = len(session_events(switches))
    result = runner.push(plan).results[0]
    assert result.outcome == "rolled_back" and not result.changed and result.error is not None, result
    assert result.error.kind == "DeviceCommandError" and expected in result.error.message
    assert extra.strip() in result.error.message
    assert _running(runner, inv, name) == before
    events = _since(switches, mark)
    assert len([e for e in events if e[2] == 1]) == sessions and max_open(events) == 1


def _running(runner: NetworkRunner, inv: NetworkInventory, name: str) -> str:
    resolved: ResolvedDevice = runner.resolver.device(inv.sites[0].device(name))
    with DeviceSession(resolved, runner.session_options) as session:
        return session.running().text()
