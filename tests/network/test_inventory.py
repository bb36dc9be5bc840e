"""The network inventory loader: the shipped example loads, and every kind of bad entry names file and key
(the lab's own file, with placeholders, is tested in tests/lab/test_network_inventory.py)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

import spbe_data
from toolkit.errors import ConfigurationError
from toolkit.network import load_inventory

EXAMPLE_FILE = spbe_data.data_path("inventory", "network", "example.yml")
MULTI_FILE = Path(__file__).parent / "data" / "multivendor.yml"


def test_example_inventory_loads() -> None:
    """The shipped example of a deployment's inventory (package data) is one spbe accepts as it is."""
    inventory = load_inventory(EXAMPLE_FILE)
    assert [s.id for s in inventory.sites] == ["dinkes", "dc"]
    device = inventory.site("dinkes").device("sw-dinkes-01")
    assert device.site == "dinkes" and device.platform == "cisco_ios"
    assert (device.host, device.port) == ("10.0.10.11", 22)
    assert device.credentials.password_ref == "env:SPBE_NET_PASSWORD"  # noqa: S105 - a reference, not a secret
    assert "FastEthernet0/1" in inventory.site("dinkes").pool("sw-dinkes-01")
    assert inventory.vlan_pool.allows(120) and not inventory.vlan_pool.allows(100)
    assert inventory.app("simpeg").services[0].port == 443


def test_models_are_frozen() -> None:
    inventory = load_inventory(EXAMPLE_FILE)
    with pytest.raises(ValueError, match="frozen"):
        inventory.sites[0].name = "x"  # type: ignore[misc]


def test_multivendor_inventory_loads() -> None:
    platforms = {d.platform for d in load_inventory(MULTI_FILE).devices()}
    assert platforms == {"cisco_ios", "huawei", "mikrotik_routeros", "juniper_junos"}


def _base() -> dict[str, Any]:
    return yaml.safe_load(MULTI_FILE.read_text(encoding="utf-8"))


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


# (what is changed, new value, the key path the error must name, a fragment of the problem)
BAD = [
    ("sites.0.devices.1.platform", "cisco_nxos", "sites.0.devices.1.platform", "cisco_ios"),
    ("sites.0.devices.0.role", "edge", "sites.0.devices.0.role", "access"),
    ("sites.0.devices.0.port", 70000, "sites.0.devices.0.port", "1-65535"),
    ("sites.0.devices.0.port", "ssh", "sites.0.devices.0.port", "port number"),
    ("sites.0.devices.0.credentials.password_ref", "hunter2", "sites.0.devices.0.credentials.password_ref", "pattern"),
    ("sites.0.devices.0.trunk_ports.0", "Gi0/1", "sites.0.devices.0.trunk_ports.0", "full cisco_ios interface"),
    ("sites.0.devices.3.trunk_ports.0", "GigabitEthernet0/1", "sites.0.devices.3.trunk_ports.0", "juniper_junos"),
    ("sites.0.devices.0.site", "bkd", "sites.0.devices.0.site", "enclosing site"),
    ("sites.0.devices.1.name", "sw-dinkes-ios", "sites.0.devices.1.name", "defined twice"),
    ("sites.0.devices.0.extra", "x", "sites.0.devices.0.extra", "Extra inputs"),
    ("sites.0.access_ports.1.interfaces.2", "ether9", "sites.0.access_ports.1.interfaces.2", "huawei interface"),
    ("sites.0.access_ports.2.interfaces.1", "ether2", "sites.0.access_ports.2.interfaces.1", "listed twice"),
    ("sites.0.access_ports.0.interfaces.0", "GigabitEthernet0/1", "sites.0.access_ports.0.interfaces.0", "trunk"),
    ("sites.0.access_ports.0.device", "sw-nowhere", "sites.0.access_ports.0.device", "not a device of this site"),
    ("sites.0.id", "Dinkes!", "sites.0.id", "pattern"),
    ("vlan_pool.start", 1, "vlan_pool.start", "greater than or equal to 2"),
    ("vlan_pool.end", 4095, "vlan_pool.end", "less than or equal to 4094"),
    ("vlan_pool.end", 50, "vlan_pool.end", "below start"),
    ("vlan_pool.reserved.0", 4095, "vlan_pool.reserved.0", "outside 2-4094"),
    ("ip_pool.supernet", "10.20.1.5/16", "ip_pool.supernet", "host bits set"),
    ("ip_pool.reserved.0", "192.168.0.0/24", "ip_pool.reserved.0", "not inside"),
    ("apps.0.addresses.0", "10.10.0.10/24", "apps.0.addresses", "host bits set"),
    ("apps.1.services.0", {"protocol": "udp"}, "apps.1.services.0.port", "needs a port"),
    ("apps.2.services.0", {"protocol": "icmp", "port": 1}, "apps.2.services.0.port", "icmp has no port"),
    ("apps.1.id", "simpeg", "apps.1.id", "defined twice"),
    # per-platform timing and session caps (toolkit.network.timing)
    ("timing", {"cisco_ios": {"config_batch_lines": 0}}, "timing.cisco_ios.config_batch_lines",
     "greater than or equal to 1"),
    ("timing", {"cisco_ios": {"config_batch_lines": 501}}, "timing.cisco_ios.config_batch_lines",
     "less than or equal to 500"),
    ("timing", {"cisco_ios": {"prompt_timeout_s": 0}}, "timing.cisco_ios.prompt_timeout_s", "greater than 0"),
    ("timing", {"cisco_ios": {"command_timeout_s": "lama"}}, "timing.cisco_ios.command_timeout_s", "valid number"),
    ("timing", {"cisco_ios": {"read_delay_s": 0.1}}, "timing.cisco_ios.read_delay_s", "Extra inputs"),
    ("timing", {"cisco_nxos": {}}, "timing.cisco_nxos.[key]", "cisco_ios"),
    ("sessions", {"per_site": 0}, "sessions.per_site", "greater than or equal to 1"),
    ("sessions", {"wait_timeout_s": -5}, "sessions.wait_timeout_s", "greater than 0"),
    ("sites.0.max_sessions", 0, "sites.0.max_sessions", "greater than or equal to 1"),
]


@pytest.mark.parametrize(("path", "value", "key", "problem"), BAD, ids=[f"{b[0]}={b[1]}" for b in BAD])
def test_bad_entry_names_file_and_key(tmp_path: Path, path: str, value: Any, key: str, problem: str) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(_set(_base(), path, value)), encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_inventory(bad)
    assert f"bad.yml: {key}: " in str(info.value)
    assert problem in str(info.value)
    assert info.value.details["file"] == str(bad)


def test_duplicate_site(tmp_path: Path) -> None:
    data = _base()
    data["sites"].append(copy.deepcopy(data["sites"][0]))
    data["sites"][1]["devices"] = [dict(d, name=d["name"] + "-b") for d in data["sites"][1]["devices"]]
    data["sites"][1]["access_ports"] = []
    (tmp_path / "dup.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"dup.yml: sites.1.id: site 'dinkes' is defined twice"):
        load_inventory(tmp_path / "dup.yml")


@pytest.mark.parametrize(("text", "problem"), [
    ("sites: [\n", "not valid YAML"),
    ("- a\n- b\n", "mapping at the top level"),
    ("vlan_pool: {start: 2, end: 3}\nip_pool: {supernet: 10.0.0.0/8}\n", "sites: Field required"),
])  # fmt: skip
def test_unusable_files(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "x.yml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=problem):
        load_inventory(tmp_path / "x.yml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_inventory(tmp_path / "absent.yml")


def test_timing_and_session_caps_reach_the_sessions(tmp_path: Path) -> None:
    """What the inventory says per platform and per site is what every session of its runner uses."""
    from toolkit.network.fanout import NetworkRunner
    from toolkit.network.refs import RefResolver
    from toolkit.network.session import SessionOptions

    data = _set(_set(_base(), "timing", {"cisco_ios": {"config_batch_lines": 1, "prompt_timeout_s": 4}}),
                "sessions", {"per_site": 3})
    data = _set(data, "sites.0.max_sessions", 2)
    (tmp_path / "t.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    inventory = load_inventory(tmp_path / "t.yml")
    options = NetworkRunner(inventory, RefResolver(), state_dir=tmp_path,
                            session_options=SessionOptions(read_timeout=12)).session_options  # fmt: skip
    ios = options.timing_for("cisco_ios")
    assert (ios.config_batch_lines, ios.prompt_timeout_s) == (1, 4)
    assert options.site_cap(inventory.sites[0].id) == 2 and options.site_cap("elsewhere") == 3
    default = SessionOptions(read_timeout=12).timing_for("cisco_ios")
    assert default.config_batch_lines == 32 and default.command_timeout_s == 12
