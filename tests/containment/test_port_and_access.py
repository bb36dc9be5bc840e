"""Switch-port quarantine against the lab's Cisco IOS simulators (real netmiko), and the change of access
(local accounts and SSH keys on the affected host; gateway / identity provider through their ports)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lab.models import LabIncident, LabState
from tests.containment.conftest import AFFECTED, host_run, open_incident, spbe
from toolkit.bootstrap import App
from toolkit.containment import switch_port
from toolkit.network.session import DeviceSession
from toolkit.settings import Settings

pytestmark = pytest.mark.lab
SWITCH = "sw-dinkes-01"


def port_state(settings: Settings, interface: str) -> switch_port.PortState:
    device, _ = switch_port.resolve_device(settings, SWITCH)
    with DeviceSession(device) as session:
        config = session.interface(interface)
    assert config is not None
    return switch_port.PortState(mode=config.mode, access_vlan=config.access_vlan, shutdown=config.shutdown)


def test_port_quarantine_vlan_and_release(settings: Settings, app: App, ir_lab: LabState) -> None:
    interface = "FastEthernet0/7"
    device, _ = switch_port.resolve_device(settings, SWITCH)
    with DeviceSession(device) as session:  # the port as an agency uses it: access VLAN 20
        session.send_config([f"interface {interface}", "switchport mode access", "switchport access vlan 20"])
    before = port_state(settings, interface)
    ticket = open_incident(app)

    result = spbe(settings, "contain", "port", SWITCH, interface, "--ticket", ticket, "--as", "rina", "--json")
    assert result.exit_code == 0, result.output
    assert port_state(settings, interface) == switch_port.PortState(mode="access", access_vlan=999, shutdown=False)
    again = spbe(settings, "contain", "port", SWITCH, interface, "--ticket", ticket, "--as", "rina", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["id"] == json.loads(result.stdout)["id"]

    released = spbe(settings, "release", "port", SWITCH, interface, "--ticket", ticket, "--as", "rina")
    assert released.exit_code == 0, released.output
    assert port_state(settings, interface) == before == switch_port.PortState(mode="access", access_vlan=20,
                                                                              shutdown=False)
    assert any("karantina port switch" in e.text for e in app.tickets.timeline(ticket))


def test_port_shutdown_and_release(settings: Settings, app: App, ir_lab: LabState) -> None:
    interface = "FastEthernet0/8"
    before = port_state(settings, interface)
    ticket = open_incident(app)
    result = spbe(settings, "contain", "port", SWITCH, interface, "--mode", "shutdown", "--ticket", ticket,
                  "--as", "rina")
    assert result.exit_code == 0, result.output
    assert port_state(settings, interface).shutdown is True
    assert spbe(settings, "release", "port", SWITCH, interface, "--ticket", ticket, "--as", "rina").exit_code == 0
    assert port_state(settings, interface) == before


def test_uplink_and_unknown_ports_are_refused(settings: Settings, app: App, ir_lab: LabState) -> None:
    ticket = open_incident(app)
    uplink = port_state(settings, "GigabitEthernet0/1")
    result = spbe(settings, "contain", "port", SWITCH, "GigabitEthernet0/1", "--ticket", ticket, "--as", "rina")
    assert result.exit_code == 2 and "uplink" in result.output
    assert port_state(settings, "GigabitEthernet0/1") == uplink
    assert spbe(settings, "contain", "port", "sw-nowhere-01", "FastEthernet0/1", "--ticket", ticket,
                "--as", "rina").exit_code == 3
    bad = spbe(settings, "contain", "port", SWITCH, "Fa0/1\nreload", "--ticket", ticket, "--as", "rina")
    assert bad.exit_code == 2
    actions = [e.action for e in app.audit.entries(ticket)]
    assert actions[-3:] == ["containment.quarantine_port.refused"] * 3


def _ssh_as(incident: LabIncident, user: str, key: Path, known: Path) -> int:
    argv = ["ssh", "-i", str(key), "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=3",
            f"{user}@{incident.affected.address}", "true"]  # fmt: skip
    return subprocess.run(argv, capture_output=True, timeout=20, check=False).returncode


def test_access_change_locks_account_and_key_then_release_restores(settings: Settings, app: App, ir_lab: LabState,
                                                                    incident: LabIncident, tmp_path: Path) -> None:
    key = tmp_path / "webadmin"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    pub = Path(f"{key}.pub").read_text().strip()
    host_run(incident, "sh", "-c", "id webadmin >/dev/null 2>&1 || useradd -m -s /bin/sh webadmin; "
             "usermod -p '*' webadmin; mkdir -p ~webadmin/.ssh; "
             f"printf '%s\\n' '{pub}' > ~webadmin/.ssh/authorized_keys; chown -R webadmin ~webadmin/.ssh; "
             "chmod 600 ~webadmin/.ssh/authorized_keys")
    shadow_before = host_run(incident, "getent", "shadow", "webadmin")
    keys_before = host_run(incident, "cat", "/home/webadmin/.ssh/authorized_keys")
    assert _ssh_as(incident, "webadmin", key, ir_lab.known_hosts) == 0
    ticket = open_incident(app)

    refused = spbe(settings, "contain", "access", "--ticket", ticket, "--as", "rina", "--host", AFFECTED,
                   "--account", "root")
    assert refused.exit_code == 2 and "lock the CSIRT out" in refused.output

    result = spbe(settings, "contain", "access", "--ticket", ticket, "--as", "rina", "--host", AFFECTED,
                  "--account", "webadmin", "--gateway-consumer", "app-dinkes", "--idp-user", "operator1", "--json")
    assert result.exit_code == 0, result.output
    applied = json.loads(result.stdout)["applied"]
    # The lab runs Express Gateway only when node is installed, and no identity provider is configured here.
    assert applied["identity"]["status"] == "not_configured"
    assert "tidak dikonfigurasi" in applied["identity"]["detail"]
    assert applied["gateway"]["status"] in ("not_configured", "failed", "done")
    assert _ssh_as(incident, "webadmin", key, ir_lab.known_hosts) != 0
    assert host_run(incident, "getent", "shadow", "webadmin").split(":")[1].startswith("!")

    released = spbe(settings, "release", "access", "--ticket", ticket, "--as", "rina", "--host", AFFECTED)
    assert released.exit_code == 0, released.output
    assert host_run(incident, "getent", "shadow", "webadmin") == shadow_before
    assert host_run(incident, "cat", "/home/webadmin/.ssh/authorized_keys") == keys_before
    assert _ssh_as(incident, "webadmin", key, ir_lab.known_hosts) == 0
    texts = [e.text for e in app.tickets.timeline(ticket) if e.data.get("containment")]
    assert any("penggantian akses" in t and "tidak dikonfigurasi" in t for t in texts)
