"""A switch lab of its own for the ``jaringan-intra`` tests: one fresh simulated Catalyst (sw-dinkes-01).

Remediation shuts ports, removes SNMP communities and rewrites vty lines; on the session lab's shared
switches that would change what other tests start from, so these tests start their own `SwitchLab`
(one process, ~1 s) under a name derived from ``$SPBE_TEST_LAB`` and stop it at the end of the module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import yaml
from netmiko import ConnectHandler

from lab import network_inventory
from lab.models import SwitchLabState
from toolkit.network.fanout import FanoutOptions, NetworkRunner
from toolkit.network.inventory import NetworkInventory, load_inventory
from toolkit.network.refs import RefResolver
from toolkit.network.session import SessionOptions
from toolkit.ports.state_records import SegmentAllocation

DEVICE = "sw-dinkes-01"
POOL = [f"FastEthernet0/{n}" for n in range(1, 7)]
TICKET = "JI-2026-0001"


def inventory_data(**overrides: Any) -> dict[str, Any]:
    device = {"name": DEVICE, "platform": "cisco_ios", "role": "access", "host": f"lab:{DEVICE}",
              "port": f"lab:{DEVICE}", "trunk_ports": ["GigabitEthernet0/1"],
              "credentials": {"username": "spbe", "password_ref": "lab:switches/password",
                              "secret_ref": "lab:switches/secret"}} | overrides
    return {
        "sites": [{"id": "dinkes", "name": "Dinas Kesehatan", "opd": "Dinas Kesehatan", "devices": [device],
                   "access_ports": [{"device": DEVICE, "interfaces": POOL}]}],
        "vlan_pool": {"start": 100, "end": 999, "reserved": [999]},
        "ip_pool": {"supernet": "10.20.0.0/16", "reserved": ["10.20.0.0/24"]},
        "apps": [{"id": "simpeg", "name": "SIMPEG", "addresses": ["10.10.0.10/32"],
                  "services": [{"protocol": "tcp", "port": 443}]}],
    }


def inventory(tmp_path: Path, lab: SwitchLabState, **overrides: Any) -> NetworkInventory:
    path = tmp_path / "network.yml"
    path.write_text(yaml.safe_dump(network_inventory.resolve(inventory_data(**overrides), lab.switches, lab.name)))
    return load_inventory(path)


def runner(lab: SwitchLabState, inv: NetworkInventory, state_dir: Path) -> NetworkRunner:
    return NetworkRunner(inv, RefResolver(), state_dir=state_dir, options=FanoutOptions(max_workers=4),
                         session_options=SessionOptions(known_hosts=lab.known_hosts, conn_timeout=10,
                                                        read_timeout=20))


def allocation(vlan_id: int = 210, ports: tuple[str, ...] = ("FastEthernet0/1",)) -> SegmentAllocation:
    return SegmentAllocation(ticket_id=TICKET, site="dinkes", vlan_id=vlan_id,
                             subnet=IPv4Network(f"10.20.{vlan_id - 150}.0/24"), ports={DEVICE: ports}, users=5,
                             allocated_at=datetime.now(UTC))


def cli(lab: SwitchLabState, commands: list[str], config: bool = False) -> str:
    """A plain netmiko session, as an engineer at the console (to misconfigure or read by hand)."""
    sw = lab.switches[0]
    conn = ConnectHandler(device_type="cisco_ios", host=sw.host, port=sw.port, username=sw.username,
                          password=sw.password_file.read_text().strip(), secret=sw.secret_file.read_text().strip())
    try:
        conn.enable()
        if config:
            return str(conn.send_config_set(commands))
        return "\n".join(str(conn.send_command(c)) for c in commands)
    finally:
        conn.disconnect()


def running(lab: SwitchLabState) -> str:
    text = cli(lab, ["show running-config"])
    return "\n".join(line for line in text.splitlines() if not line.startswith("Current configuration"))
