"""The lab switches' management plane in IOS syntax (lab/ios_mgmt.py): terminal lines, SNMP communities and
the HTTP server, as the ``jaringan-intra`` profile reads them from ``show running-config``.

A switch lab of its own (one switch, fresh state), so turning telnet on never reaches another test's switch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from netmiko import ConnectHandler

from lab.models import SwitchLabState
from lab.switches import SwitchLab, available
from toolkit.network import ios

pytestmark = pytest.mark.lab
INVALID = "% Invalid input detected at '^' marker."


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchLabState]:
    if not available():
        pytest.fail("fake-switches is not installed; run scripts/switch_sim_packages.sh")
    lab = SwitchLab(tmp_path_factory.mktemp("mgmt"), (os.environ.get("SPBE_TEST_LAB", "test") + "-mgmt")[:16], count=1)
    state = lab.up()
    try:
        yield state
    finally:
        lab.down()


def cli(state: SwitchLabState, commands: list[str], config: bool = False) -> str:
    sw = state.switches[0]
    conn = ConnectHandler(device_type="cisco_ios", host=sw.host, port=sw.port, username=sw.username,
                          password=sw.password_file.read_text().strip(), secret=sw.secret_file.read_text().strip())
    try:
        conn.enable()
        return str(conn.send_config_set(commands)) if config else str(conn.send_command(commands[0]))
    finally:
        conn.disconnect()


def sections(state: SwitchLabState) -> ios.RunningConfig:
    return ios.parse_running_config(cli(state, ["show running-config"]))


def test_a_fresh_switch_has_ssh_only_vty_lines_no_http_server_and_no_community(switch: SwitchLabState) -> None:
    running = sections(switch)
    assert running.get("line con 0") is not None
    for vty in ("line vty 0 4", "line vty 5 15"):
        assert running.get(vty) == ios.Section(header=vty, children=("login local", "transport input ssh"))
    assert not any(s.header.startswith(("ip http", "snmp-server")) for s in running.sections)
    assert running.sections[-1].header == "line vty 5 15"  # lines end the config, as on IOS


def test_management_settings_are_stored_shown_and_removed(switch: SwitchLabState) -> None:
    out = cli(switch, ["ip http server", "snmp-server community public RO", "snmp-server community Rahasia-9 rw",
                       "line vty 0 15", " transport input telnet ssh", " exit", "line vty 5 15", " no login",
                       " exit"], config=True)
    assert "(config-line)#" in out and INVALID not in out
    running = sections(switch)
    assert running.get("ip http server") is not None
    assert running.get("snmp-server community public RO") is not None
    assert running.get("snmp-server community Rahasia-9 RW") is not None
    assert running.get("line vty 0 4") == ios.Section(header="line vty 0 4",
                                                       children=("login local", "transport input telnet ssh"))
    assert running.get("line vty 5 15") == ios.Section(header="line vty 5 15",
                                                        children=("transport input telnet ssh",))
    cli(switch, ["no ip http server", "no snmp-server community public", "no snmp-server community Rahasia-9 RW",
                 "line vty 0 15", " login local", " transport input ssh", " exit"], config=True)
    test_a_fresh_switch_has_ssh_only_vty_lines_no_http_server_and_no_community(switch)


def test_forms_ios_does_not_know_answer_invalid_input(switch: SwitchLabState) -> None:
    out = cli(switch, ["ip http frobnicate", "snmp-server community", "snmp-server community x;reload RO",
                       "line vty 0 99", "line vty 0 4", " transport input rlogin", " transport output ssh",
                       " login tacacs", " exit"], config=True)
    assert out.count(INVALID) == 7, out
    test_a_fresh_switch_has_ssh_only_vty_lines_no_http_server_and_no_community(switch)
