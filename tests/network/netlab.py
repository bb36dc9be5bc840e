"""Helpers for the network tests against the session lab's three switches (sw-dinkes-01, sw-bkd-01, sw-dc-01).

The switches keep their state for the whole test session and other lab tests configure them too, so
each test uses its own VLAN IDs (200-299) and ports (FastEthernet0/13-24) and compares running configs
before and after instead of assuming factory state.

Inventories are written in the lab's own form (``lab:`` placeholders, as ``inventory/network/lab.yml``)
and resolved by the lab against the session lab's switches (`lab.network_inventory`), as ``spbe lab up``
does for its own; without a lab, against stand-in switches that never answer, for tests that only plan.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from netmiko import ConnectHandler

from lab import network_inventory
from lab.models import LabState, LabSwitch
from toolkit.network import NetworkChange, build_change, load_inventory
from toolkit.network.fanout import FanoutOptions, NetworkRunner
from toolkit.network.inventory import NetworkInventory
from toolkit.network.refs import RefResolver
from toolkit.network.session import SessionOptions

LAB_REFS = {"username": "spbe", "password_ref": "lab:switches/password", "secret_ref": "lab:switches/secret"}
POOL = [f"FastEthernet0/{n}" for n in range(13, 25)]


def inventory_data(extra_pool: tuple[str, ...] = (), **device_overrides: dict[str, Any]) -> dict[str, Any]:
    """One site ``gabungan`` holding the three lab switches (so one change can span them)."""
    devices = []
    for name in ("sw-dinkes-01", "sw-bkd-01", "sw-dc-01"):
        device: dict[str, Any] = {"name": name, "platform": "cisco_ios", "role": "access", "host": f"lab:{name}",
                                  "port": f"lab:{name}", "credentials": dict(LAB_REFS),
                                  "trunk_ports": ["GigabitEthernet0/1"]}  # fmt: skip
        device.update(device_overrides.get(name, {}))
        devices.append(device)
    return {
        "sites": [{"id": "gabungan", "name": "Gabungan", "opd": "Dinas Uji", "devices": devices,
                   "access_ports": [{"device": d["name"], "interfaces": POOL + list(extra_pool)} for d in devices]}],
        "vlan_pool": {"start": 100, "end": 999, "reserved": [100, 999]},
        "ip_pool": {"supernet": "10.20.0.0/16", "reserved": ["10.20.0.0/24"]},
        "apps": [
            {"id": "simpeg", "name": "SIMPEG", "addresses": ["10.10.0.10/32"],
             "services": [{"protocol": "tcp", "port": 443}]},
            {"id": "dns", "name": "DNS", "addresses": ["10.10.1.0/28"],
             "services": [{"protocol": "udp", "port": 53}, {"protocol": "tcp", "port": 53}]},
        ],
    }  # fmt: skip


def _stand_ins(tmp_path: Path) -> tuple[LabSwitch, ...]:
    """Switches for planning only: port 9 (discard) on loopback, credential files that need not exist."""
    return tuple(LabSwitch(name=name, site="gabungan", port=9, username="spbe", password_file=tmp_path / "pw",
                           secret_file=tmp_path / "en") for name in ("sw-dinkes-01", "sw-bkd-01", "sw-dc-01"))


def lab_sites() -> NetworkInventory:
    """The lab's own sites (``inventory/network/lab.yml``) on stand-in switches: for tests that plan and
    allocate but never connect."""
    data = yaml.safe_load(network_inventory.source().read_text(encoding="utf-8"))
    resolved = network_inventory.resolve(data, _stand_ins(Path("/nonexistent")), "stand-in")
    return NetworkInventory.model_validate(resolved)


def write_inventory(tmp_path: Path, data: dict[str, Any], lab: LabState | None = None) -> Path:
    """``data`` with its placeholders resolved on ``lab`` (None: stand-ins), as a plain inventory file."""
    switches = lab.switches if lab is not None else _stand_ins(tmp_path)
    path = tmp_path / "network.yml"
    resolved = network_inventory.resolve(data, switches, lab.name if lab else "stand-in")
    path.write_text(yaml.safe_dump(resolved), encoding="utf-8")
    return path


def inventory(tmp_path: Path, lab: LabState | None = None, **kwargs: Any) -> NetworkInventory:
    return load_inventory(write_inventory(tmp_path, inventory_data(**kwargs), lab))


def plan(inv: NetworkInventory, vlan_id: int, ports: dict[str, list[str]], **overrides: Any) -> NetworkChange:
    args: dict[str, Any] = {"site": "gabungan", "vlan_id": vlan_id, "vlan_name": f"UJI-{vlan_id}",
                            "description": "Ruang uji", "subnet": f"10.20.{vlan_id - 150}.0/24",
                            "apps": ["simpeg", "dns"], "access_ports": ports}
    if len(ports) > 1:
        args["gateway_device"] = next(iter(ports))
    args.update(overrides)
    return build_change(inv, **args)


def runner(lab: LabState, inv: NetworkInventory, state_dir: Path, **options: Any) -> NetworkRunner:
    return NetworkRunner(inv, RefResolver(), state_dir=state_dir, options=FanoutOptions(**options),
                         session_options=SessionOptions(known_hosts=lab.switch_known_hosts, conn_timeout=10,
                                                        read_timeout=20))  # fmt: skip


def switch(lab: LabState, name: str) -> LabSwitch:
    if not lab.switches:
        pytest.fail(f"the lab started no switches ({lab.warnings}); run scripts/switch_sim_packages.sh")
    return lab.switch(name)


def cli(lab: LabState, name: str, commands: list[str], config: bool = False) -> str:
    """A plain netmiko session, as an engineer at the console would use (to set up or read state by hand)."""
    sw = switch(lab, name)
    conn = ConnectHandler(device_type="cisco_ios", host=sw.host, port=sw.port, username=sw.username,
                          password=sw.password_file.read_text().strip(), secret=sw.secret_file.read_text().strip())
    try:
        conn.enable()
        if config:
            return str(conn.send_config_set(commands))
        return "\n".join(str(conn.send_command(c)) for c in commands)
    finally:
        conn.disconnect()


def running(lab: LabState, name: str) -> str:
    """The running config without the byte count line, for before/after equality."""
    text = cli(lab, name, ["show running-config"])
    return re.sub(r"^Current configuration : \d+ bytes\n", "", text, flags=re.MULTILINE)
