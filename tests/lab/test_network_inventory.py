"""The lab's network inventory: ``inventory/network/lab.yml`` names the switches by placeholder, and the lab
resolves them against its running switches into a plain inventory spbe loads (moved here from
tests/network/test_refs.py and test_inventory.py when the product stopped knowing about ``lab:``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import network_inventory
from lab.models import LabSwitch, SwitchLabState
from toolkit.errors import ConfigurationError
from toolkit.network import RefResolver, load_inventory

LAB_FILE = network_inventory.source()


def _switch_lab(tmp_path: Path) -> SwitchLabState:
    (tmp_path / "password").write_text("pw-123\n", encoding="utf-8")
    (tmp_path / "secret").write_text("en-456\n", encoding="utf-8")
    switches = tuple(
        LabSwitch(name=f"sw-{site}-01", site=site, port=21000 + i, username="spbe",
                  password_file=tmp_path / "password", secret_file=tmp_path / "secret")
        for i, site in enumerate(("dinkes", "bkd", "dc"))
    )  # fmt: skip
    return SwitchLabState(name="test", switches=switches, pid=1, config=tmp_path / "server.json",
                          known_hosts=tmp_path / "known_hosts", created_at=datetime.now(UTC))  # fmt: skip


def _written(tmp_path: Path, switches: tuple[LabSwitch, ...]) -> Path:
    return network_inventory.write(switches, "test", tmp_path / "network.yml")


def test_the_lab_file_names_its_switches_by_placeholder() -> None:
    device = yaml.safe_load(LAB_FILE.read_text(encoding="utf-8"))["sites"][0]["devices"][0]
    assert device["name"] == "sw-dinkes-01"
    assert device["host"] == device["port"] == "lab:sw-dinkes-01"
    assert device["credentials"]["password_ref"] == "lab:switches/password"  # noqa: S105 - a reference


def test_lab_references(tmp_path: Path) -> None:
    """What a placeholder stands for: the running switch's address, port and credential files."""
    path = _written(tmp_path, _switch_lab(tmp_path).switches)
    device = RefResolver().device(load_inventory(path).site("bkd").device("sw-bkd-01"))
    assert (device.host, device.port, device.username) == ("127.0.0.1", 21001, "spbe")
    params = device.netmiko_params()
    assert (params["password"], params["secret"]) == ("pw-123", "en-456")
    assert params["device_type"] == "cisco_ios"
    assert "pw-123" not in repr(device) and "en-456" not in str(device)
    text = path.read_text(encoding="utf-8")
    assert "pw-123" not in text and f"file:{tmp_path / 'password'}" in text  # where the secret is, never it


def test_the_resolved_inventory_keeps_the_sites_pools_and_apps(tmp_path: Path) -> None:
    inventory = load_inventory(_written(tmp_path, _switch_lab(tmp_path).switches))
    assert [s.id for s in inventory.sites] == ["dinkes", "bkd", "dc"]
    device = inventory.site("dinkes").device("sw-dinkes-01")
    assert device.site == "dinkes" and device.platform == "cisco_ios"
    assert "FastEthernet0/1" in inventory.site("dinkes").pool("sw-dinkes-01")
    assert inventory.vlan_pool.allows(120) and not inventory.vlan_pool.allows(100)
    assert inventory.app("simpeg").services[0].port == 443


def test_a_switch_only_lab_is_enough(tmp_path: Path) -> None:
    state = _switch_lab(tmp_path)
    path = _written(tmp_path, state.switches)
    assert RefResolver().device(load_inventory(path).site("dc").device("sw-dc-01")).port == 21002


def _lab_sites() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(LAB_FILE.read_text(encoding="utf-8"))
    return data


def test_a_lab_without_switches_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="needs a running lab with switches"):
        network_inventory.resolve(_lab_sites(), (), "test")


def test_unknown_lab_switch(tmp_path: Path) -> None:
    state = _switch_lab(tmp_path)
    with pytest.raises(ConfigurationError, match=r"lab:sw-bkd-01: lab 'test' has no such switch"):
        network_inventory.resolve(_lab_sites(), state.switches[:1], "test")


def test_a_lab_with_fewer_switches_writes_only_their_devices(tmp_path: Path) -> None:
    """``spbe lab up --switches 2``: the written inventory has the running switches' sites, nothing that
    would point at a switch that is not there."""
    inventory = load_inventory(_written(tmp_path, _switch_lab(tmp_path).switches[:2]))
    assert [s.id for s in inventory.sites] == ["dinkes", "bkd"]
    assert [d.name for d in inventory.devices()] == ["sw-dinkes-01", "sw-bkd-01"]
    assert {a.id for a in inventory.apps} >= {"simpeg", "dns"}


def test_the_product_refuses_a_placeholder(tmp_path: Path) -> None:
    """Unresolved, the lab's file is not an inventory spbe accepts: no lab scheme in the product."""
    with pytest.raises(ConfigurationError, match="port number"):
        load_inventory(LAB_FILE)
