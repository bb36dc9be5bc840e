"""The lab's simulated Cisco IOS switches, driven by real netmiko sessions as issue 3's automation will be."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException

from lab import switches as switches_mod
from lab.cli import lab_group
from lab.manager import LabManager
from lab.models import LabState, LabSwitch
from lab.procs import is_our_process, port_is_free
from lab.switches import SERVER_MODULE, SwitchLab
from tests.support.cli import Spbe


def _switches(lab: LabState) -> tuple[LabSwitch, ...]:
    if not lab.switches:
        pytest.fail(f"the lab started no switches ({lab.warnings}); run scripts/switch_sim_packages.sh")
    return lab.switches


def _connect(switch: LabSwitch, *, password: str | None = None, secret: str | None = None,
             known_hosts: Path | None = None) -> BaseConnection:  # fmt: skip
    strict = {"ssh_strict": True, "system_host_keys": False, "alt_host_keys": True,
              "alt_key_file": str(known_hosts)} if known_hosts else {}  # fmt: skip
    return ConnectHandler(
        device_type=switch.device_type, host=switch.host, port=switch.port, username=switch.username,
        password=password if password is not None else switch.password_file.read_text(encoding="utf-8").strip(),
        secret=secret if secret is not None else switch.secret_file.read_text(encoding="utf-8").strip(),
        timeout=15, auth_timeout=15, banner_timeout=15, **strict,
    )  # fmt: skip


def _configure_vlan(switch: LabSwitch, vlan: int, name: str, port: str) -> tuple[str, str, str, bool]:
    """One full session: enable, config, back out with `end`, then read the result back."""
    conn = _connect(switch)
    try:
        conn.enable()
        conn.send_config_set(
            [f"vlan {vlan}", f"name {name}", f"interface {port}", "switchport mode access",
             f"switchport access vlan {vlan}"]  # fmt: skip
        )
        still_in_config = conn.check_config_mode()
        show_vlan = conn.send_command("show vlan")
        running = conn.send_command("show running-config")
        prompt = conn.find_prompt()
    finally:
        conn.disconnect()
    return show_vlan, running, prompt, still_in_config


def _interface_block(running: str, port: str) -> str:
    match = re.search(rf"^interface {re.escape(port)}\n((?: .*\n)*)", running, re.MULTILINE)
    assert match, f"no block for {port} in running-config:\n{running}"
    return match.group(1)


@pytest.mark.lab
def test_switches_have_names_sites_and_consecutive_ports(lab: LabState) -> None:
    switches = _switches(lab)
    assert [(s.name, s.site) for s in switches] == [("sw-dinkes-01", "dinkes"), ("sw-bkd-01", "bkd"),
                                                    ("sw-dc-01", "dc")]  # fmt: skip
    assert [s.port for s in switches] == list(range(switches[0].port, switches[0].port + 3))
    assert all(s.host == "127.0.0.1" and s.device_type == "cisco_ios" for s in switches)
    assert switches[0].access_ports[0] == "FastEthernet0/1" and switches[0].access_ports[-1] == "GigabitEthernet0/2"
    assert len(switches[0].access_ports) == 26
    assert lab.switch("sw-dc-01").site == "dc"


@pytest.mark.lab
def test_netmiko_creates_a_vlan_and_puts_an_access_port_in_it(lab: LabState) -> None:
    switch = _switches(lab)[0]
    show_vlan, running, prompt, still_in_config = _configure_vlan(switch, 120, "DINKES-STAFF", "FastEthernet0/5")
    assert not still_in_config and prompt == f"{switch.name}#"  # `end` left config mode, still enabled
    assert re.search(r"^120\s+DINKES-STAFF\s+active\s+Fa0/5\s*$", show_vlan, re.MULTILINE), show_vlan
    assert re.search(r"^vlan 120\n name DINKES-STAFF$", running, re.MULTILINE), running
    block = _interface_block(running, "FastEthernet0/5")
    assert " switchport access vlan 120\n" in block and " switchport mode access\n" in block
    # The configuration outlives the session, as on a real switch (until the lab restarts).
    conn = _connect(switch)
    try:
        conn.enable()
        assert "DINKES-STAFF" in conn.send_command("show vlan brief")
    finally:
        conn.disconnect()


@pytest.mark.lab
def test_three_switches_configured_in_parallel_keep_their_own_state(lab: LabState) -> None:
    switches = _switches(lab)
    jobs = [(s, 130 + i, f"USERS-{s.site.upper()}", f"FastEthernet0/{10 + i}") for i, s in enumerate(switches)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(lambda job: _configure_vlan(*job), jobs))
    for (switch, vlan, name, port), (show_vlan, running, _prompt, _cfg) in zip(jobs, results, strict=True):
        assert re.search(rf"^{vlan}\s+{name}\s+active\s+Fa0/{port.rsplit('/', 1)[1]}\s*$", show_vlan, re.MULTILINE)
        assert f" switchport access vlan {vlan}\n" in _interface_block(running, port)
        others = [other for _s, _v, other, _p in jobs if other != name]
        assert not any(other in show_vlan for other in others), f"{switch.name} sees another switch's VLAN"


@pytest.mark.lab
def test_wrong_password_is_refused(lab: LabState) -> None:
    with pytest.raises(NetmikoAuthenticationException):
        _connect(_switches(lab)[1], password=secrets.token_urlsafe(18))


@pytest.mark.lab
def test_wrong_enable_secret_is_refused(lab: LabState) -> None:
    conn = _connect(_switches(lab)[1], secret=secrets.token_urlsafe(18))
    try:
        with pytest.raises(ValueError, match="enable mode"):
            conn.enable()
        assert conn.find_prompt().endswith(">")
        # An empty line is no enable password either (the stock simulator let it through).
        conn.write_channel("enable\n")
        assert "Password:" in conn.read_until_pattern(pattern=r"Password:", read_timeout=5)
        conn.write_channel("\n")
        assert "% Access denied" in conn.read_until_pattern(pattern=r">\s*$", read_timeout=5)
    finally:
        conn.disconnect()


@pytest.mark.lab
def test_unknown_command_answers_like_ios_and_host_key_is_the_labs(lab: LabState) -> None:
    assert lab.switch_known_hosts is not None
    conn = _connect(_switches(lab)[2], known_hosts=lab.switch_known_hosts)
    try:
        conn.enable()
        assert "% Invalid input detected at '^' marker." in conn.send_command("frobnicate all")
    finally:
        conn.disconnect()


@pytest.mark.lab
def test_credentials_are_private_and_never_in_state_or_logs(lab: LabState) -> None:
    switch = _switches(lab)[0]
    secret_values = [switch.password_file.read_text().strip(), switch.secret_file.read_text().strip()]
    for path in (switch.password_file, switch.secret_file):
        assert path.stat().st_mode & 0o777 == 0o600
    assert switch.password_file.parent.stat().st_mode & 0o777 == 0o700
    assert secret_values[0] != secret_values[1] and len(secret_values[0]) >= 20
    lab_dir = lab.lab_dir / lab.name
    for path in (lab_dir / "lab.json", lab_dir / "switches" / "switches.json", lab_dir / "switches" / "server.json",
                 lab_dir / "switches" / "server.log"):  # fmt: skip
        text = path.read_text(encoding="utf-8")
        assert not any(value in text for value in secret_values), f"a secret leaked into {path}"


@pytest.mark.lab
def test_cli_status_lists_the_switches(lab: LabState) -> None:
    spbe = Spbe(command=lab_group, env={"COLUMNS": "200"}, catch_exceptions=True)
    result = spbe("--lab-dir", str(lab.lab_dir), "status", "--name", lab.name)
    assert result.exit_code == 0, result.output
    for switch in _switches(lab):
        assert switch.name in result.output and f"{switch.host}:{switch.port}" in result.output
    assert switch.secret_file.read_text().strip() not in result.output


@pytest.mark.lab
def test_down_stops_the_server_and_frees_the_ports(tmp_path: Path) -> None:
    if not switches_mod.available():
        pytest.fail("fake-switches is not installed; run scripts/switch_sim_packages.sh")
    lab = SwitchLab(tmp_path, "swdown", count=2)
    state = lab.up()
    ports = [s.port for s in state.switches]
    try:
        assert is_our_process(state.pid, SERVER_MODULE, str(state.config))
        for port in ports:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        lab.down()
    assert not Path(f"/proc/{state.pid}").exists()
    assert all(port_is_free(port) for port in ports)
    assert not (tmp_path / "swdown").exists() and lab.status() is None
    lab.down()  # idempotent


@pytest.mark.lab
def test_down_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    """A recorded pid that now belongs to someone else (here: this test process) is not signalled."""
    if not switches_mod.available():
        pytest.fail("fake-switches is not installed; run scripts/switch_sim_packages.sh")
    lab = SwitchLab(tmp_path, "swreuse", count=1)
    state = lab.up()
    lab.down()
    lab.dir.mkdir(parents=True)
    lab.state_file.write_text(state.model_copy(update={"pid": os.getpid()}).model_dump_json(), encoding="utf-8")
    lab.down()  # would SIGTERM pytest itself if the pid check were missing
    assert lab.status() is None


@pytest.mark.lab
def test_lab_manager_starts_and_stops_its_switches(tmp_path: Path) -> None:
    manager = LabManager(tmp_path, "swmgr", hosts=(), with_prometheus=False, switches=2)
    state = manager.up()
    try:
        assert [s.name for s in state.switches] == ["sw-dinkes-01", "sw-bkd-01"]
        assert manager.switches_running(state) and state.switch_pid is not None
        assert manager.status() == state
    finally:
        manager.down()
    assert state.switch_pid is not None and not Path(f"/proc/{state.switch_pid}").exists()
    assert all(port_is_free(s.port) for s in state.switches)


def test_lab_without_fake_switches_comes_up_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(switches_mod, "available", lambda: False)
    manager = LabManager(tmp_path, "nosw")
    state = LabState(name="nosw", lab_dir=tmp_path, subnet="10.213.1.0/24", base_rootfs=tmp_path, hosts=(),
                     inventory=tmp_path / "i.yml", known_hosts=tmp_path / "kh", file_sd_dir=tmp_path,
                     rules_dir=tmp_path, created_at=datetime.now(UTC))  # fmt: skip
    state = manager._start_switches(state)
    assert state.switches == () and "fake-switches is not installed" in state.warnings[0]


def test_old_lab_json_without_switches_still_loads(tmp_path: Path) -> None:
    old = {"name": "demo", "lab_dir": str(tmp_path), "subnet": "10.213.7.0/24", "base_rootfs": str(tmp_path),
           "hosts": [], "inventory": "i.yml", "known_hosts": "kh", "file_sd_dir": "f", "rules_dir": "r",
           "prometheus_url": None, "prometheus_pid": None, "created_at": "2025-01-01T00:00:00Z"}  # fmt: skip
    state = LabState.model_validate_json(json.dumps(old))
    assert state.switches == () and state.switch_pid is None and state.warnings == ()
