"""Plan building: a valid request becomes a frozen plan; every bad field is refused with its own reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from toolkit.errors import InvalidInputError
from toolkit.network import NetworkChange, build_change, load_inventory

INVENTORY = load_inventory(Path(__file__).parent / "data" / "multivendor.yml")


def _request(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "site": "dinkes", "vlan_id": 120, "vlan_name": "DINKES-STAFF", "description": "Ruang staf Dinkes lantai 2",
        "subnet": "10.20.1.0/24", "apps": ["simpeg", "dns"], "access_ports": {"sw-dinkes-ios": ["FastEthernet0/1"]},
    }  # fmt: skip
    request.update(overrides)
    return request


def _errors(**overrides: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInputError) as info:
        build_change(INVENTORY, **_request(**overrides))
    errors: list[tuple[str, str]] = info.value.details["errors"]
    return errors


def test_valid_plan() -> None:
    plan = build_change(INVENTORY, **_request())
    assert plan.vlan_id == 120 and str(plan.gateway) == "10.20.1.1"
    assert plan.acl_name == "SPBE-VLAN120"
    assert [(e.app, str(e.destination), e.protocol, e.port) for e in plan.acl] == [
        ("simpeg", "10.10.0.10/32", "tcp", 443), ("dns", "10.10.1.0/28", "udp", 53), ("dns", "10.10.1.0/28", "tcp", 53),
    ]  # fmt: skip
    (ports,) = plan.devices
    assert ports.gateway and ports.trunk_ports == ("GigabitEthernet0/1",)
    with pytest.raises(ValidationError, match="frozen"):
        plan.vlan_id = 121  # type: ignore[misc]


INJECTIONS = [
    ("DINKES\nend", "newlines"),
    ("DINKES\rexit", "newlines"),
    ("STAFF;reload", "';'"),
    ("STAFF|include", "'|'"),
    ("STAFF$(reboot)", "command substitution"),
    ("STAFF`id`", "command substitution"),
    ("{{ config }}", "template syntax"),
    ("{% include x %}", "template syntax"),
    ("STAFF{#x#}", "template syntax"),
    ("exit", "CLI keyword 'exit'"),
    ("end", "CLI keyword 'end'"),
    ("quit", "CLI keyword 'quit'"),
    ("Return", "CLI keyword 'Return'"),
    ("X" * 33, "at most 32"),
    (" STAFF", "start or end with a space"),
    ("STAFF ", "start or end with a space"),
    ("STAFF ROOM", "letters, digits"),
    ("STAFF\"x", "letters, digits"),
    ("", "letters, digits"),
]


@pytest.mark.parametrize(("name", "problem"), INJECTIONS, ids=[repr(n) for n, _ in INJECTIONS])
def test_vlan_name_refused(name: str, problem: str) -> None:
    errors = _errors(vlan_name=name)
    assert [key for key, _ in errors] == ["vlan_name"]
    assert problem in errors[0][1]


DESCRIPTIONS = [
    ("Ruang staf\nend", "newlines"),
    ("Ruang; reload", "';'"),
    ("Ruang | include", "'|'"),
    ("Ruang $(reboot)", "command substitution"),
    ("Ruang {{ x }}", "template syntax"),
    ("end of corridor", "CLI keyword 'end'"),
    ("quit", "CLI keyword 'quit'"),
    ("x" * 81, "at most 80"),
    (" Ruang", "start or end with a space"),
    ("Ruang  staf", "single inner spaces"),
    ('Ruang "staf"', "single inner spaces"),
]


@pytest.mark.parametrize(("description", "problem"), DESCRIPTIONS, ids=[repr(d) for d, _ in DESCRIPTIONS])
def test_description_refused(description: str, problem: str) -> None:
    errors = _errors(description=description)
    assert [key for key, _ in errors] == ["description"]
    assert problem in errors[0][1]


@pytest.mark.parametrize("vlan_id", [0, 1, 4095, 4096, -1, 50, 100, 999, 1000])
def test_vlan_id_outside_pool(vlan_id: int) -> None:
    errors = _errors(vlan_id=vlan_id)
    assert errors and errors[0][0] == "vlan_id" and "not in the VLAN pool" in errors[0][1]


def test_vlan_out_of_range_refused_by_the_model_too() -> None:
    plan = build_change(INVENTORY, **_request())
    for vlan_id in (0, 1, 4095):
        with pytest.raises(ValidationError, match="vlan_id"):
            NetworkChange.model_validate({**plan.model_dump(), "vlan_id": vlan_id})


def test_vlan_already_used() -> None:
    assert ("vlan_id", "VLAN 120 is already in use") in _errors(used_vlans=[1, 120])


@pytest.mark.parametrize(("overrides", "key", "problem"), [
    ({"subnet": "10.20.1.5/24"}, "subnet", "host bits set"),
    ({"subnet": "192.168.1.0/24"}, "subnet", "not free in the IP pool"),
    ({"subnet": "10.20.0.0/25"}, "subnet", "not free in the IP pool"),
    ({"apps": ["simpeg", "bitcoin"]}, "apps", "unknown data-center app 'bitcoin'"),
    ({"access_ports": {"sw-dinkes-ios": ["FastEthernet0/9"]}}, "access_ports.sw-dinkes-ios", "access-port pool"),
    ({"access_ports": {"sw-dinkes-ios": ["GigabitEthernet0/1"]}}, "access_ports.sw-dinkes-ios", "access-port pool"),
    ({"access_ports": {"sw-bkd-01": ["FastEthernet0/1"]}}, "access_ports.sw-bkd-01", "not at site"),
    ({"access_ports": {"sw-dinkes-ios": ["FastEthernet0/1"], "sw-dinkes-vrp": ["GigabitEthernet0/0/1"]}},
     "gateway_device", "required"),
    ({"gateway_device": "sw-dinkes-vrp"}, "gateway_device", "not one of the changed devices"),
    ({"apps": []}, "acl", "at least 1"),
])  # fmt: skip
def test_request_refused(overrides: dict[str, Any], key: str, problem: str) -> None:
    errors = _errors(**overrides)
    assert any(k == key and problem in m for k, m in errors), errors


def test_unknown_site() -> None:
    assert _errors(site="atlantis") == [("site", "not in the inventory")]


def test_all_problems_reported_at_once() -> None:
    keys = {k for k, _ in _errors(vlan_id=1, vlan_name="end", description="a;b", apps=["nope"])}
    assert keys == {"vlan_id", "vlan_name", "description", "apps"}


def test_gateway_must_be_a_host_of_the_subnet() -> None:
    plan = build_change(INVENTORY, **_request())
    for gateway in ("10.20.1.0", "10.20.1.255", "10.20.2.1"):
        with pytest.raises(ValidationError, match=r"gateway: .* is not a host address"):
            NetworkChange.model_validate({**plan.model_dump(), "gateway": gateway})


def test_plan_spanning_two_devices() -> None:
    plan = build_change(INVENTORY, **_request(
        access_ports={"sw-dinkes-ios": ["FastEthernet0/1"], "sw-dinkes-vrp": ["GigabitEthernet0/0/1"]},
        gateway_device="sw-dinkes-vrp"))  # fmt: skip
    assert [(d.device, d.gateway) for d in plan.devices] == [("sw-dinkes-ios", False), ("sw-dinkes-vrp", True)]
