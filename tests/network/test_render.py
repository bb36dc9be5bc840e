"""Rendering: golden files per platform (reviewed against each vendor's syntax), compared exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import ConfigurationError, InvalidInputError
from toolkit.network import build_change, load_inventory, render_change, render_rollback
from toolkit.network.plan import NetworkChange
from toolkit.network.render import TEMPLATES_DIR

HERE = Path(__file__).parent
INVENTORY = load_inventory(HERE / "data" / "multivendor.yml")
# The one realistic plan: Dinkes staff room, two users' ports, three data-center apps.
DEVICES = {
    "cisco_ios": ("sw-dinkes-ios", ["FastEthernet0/1", "FastEthernet0/2"]),
    "huawei": ("sw-dinkes-vrp", ["GigabitEthernet0/0/1", "GigabitEthernet0/0/2"]),
    "mikrotik_routeros": ("sw-dinkes-ros", ["ether2", "ether3"]),
    "juniper_junos": ("sw-dinkes-junos", ["ge-0/0/1", "ge-0/0/2"]),
}
FEATURES = ("vlan.j2", "svi.j2", "access_ports.j2", "trunk.j2", "acl.j2", "change.j2", "rollback.j2")


def plan_for(platform: str) -> NetworkChange:
    device, ports = DEVICES[platform]
    return build_change(
        INVENTORY, site="dinkes", vlan_id=120, vlan_name="DINKES-STAFF", description="Ruang staf Dinkes lantai 2",
        subnet="10.20.1.0/24", apps=["simpeg", "dns", "monitoring"], access_ports={device: ports},
    )  # fmt: skip


def golden(platform: str, name: str) -> list[str]:
    return (HERE / "golden" / platform / name).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("platform", list(DEVICES))
def test_change_matches_golden(platform: str) -> None:
    assert render_change(plan_for(platform), platform) == golden(platform, "change.txt")


@pytest.mark.parametrize("platform", list(DEVICES))
def test_rollback_matches_golden(platform: str) -> None:
    assert render_rollback(plan_for(platform), platform) == golden(platform, "rollback.txt")


@pytest.mark.parametrize("platform", list(DEVICES))
def test_every_platform_has_every_template(platform: str) -> None:
    assert sorted(p.name for p in (TEMPLATES_DIR / platform).iterdir()) == sorted(FEATURES)


@pytest.mark.parametrize("platform", list(DEVICES))
def test_output_is_clean_lines(platform: str) -> None:
    lines = render_change(plan_for(platform), platform) + render_rollback(plan_for(platform), platform)
    assert all(line and line == line.rstrip() and "\n" not in line and "{" not in line for line in lines)


def test_access_ports_of_another_device_are_not_rendered() -> None:
    plan = build_change(
        INVENTORY, site="dinkes", vlan_id=130, vlan_name="X", description="x", subnet="10.20.2.0/24", apps=["dns"],
        access_ports={"sw-dinkes-ios": ["FastEthernet0/3"], "sw-dinkes-vrp": ["GigabitEthernet0/0/3"]},
        gateway_device="sw-dinkes-vrp",
    )  # fmt: skip
    ios = render_change(plan, "cisco_ios", "sw-dinkes-ios")
    assert "interface FastEthernet0/3" in ios and not any("Vlan130" in line for line in ios)
    vrp = render_change(plan, "huawei", "sw-dinkes-vrp")
    assert "interface Vlanif130" in vrp and "interface FastEthernet0/3" not in vrp
    with pytest.raises(InvalidInputError, match="name the one to render"):
        render_change(plan, "cisco_ios")
    with pytest.raises(InvalidInputError, match="not part of this change"):
        render_change(plan, "cisco_ios", "sw-dc-01")


def test_unknown_platform() -> None:
    with pytest.raises(InvalidInputError, match="unknown platform"):
        render_change(plan_for("cisco_ios"), "cisco_nxos")


def test_strict_undefined(tmp_path: Path) -> None:
    (tmp_path / "cisco_ios").mkdir()
    (tmp_path / "cisco_ios" / "change.j2").write_text("vlan {{ vlan_idd }}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="vlan_idd"):
        render_change(plan_for("cisco_ios"), "cisco_ios", templates_dir=tmp_path)


def test_sandbox_blocks_attribute_escapes(tmp_path: Path) -> None:
    (tmp_path / "cisco_ios").mkdir()
    (tmp_path / "cisco_ios" / "change.j2").write_text(
        "{{ vlan_name.__class__.__mro__[1].__subclasses__() }}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="unsafe"):
        render_change(plan_for("cisco_ios"), "cisco_ios", templates_dir=tmp_path)
