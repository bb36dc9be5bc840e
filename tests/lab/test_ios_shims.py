"""The lab switches accept, store and show the IOS lines our Cisco templates emit (lab/ios_shims.py)."""

from __future__ import annotations

import pytest

from lab.models import LabState
from tests.network import netlab
from toolkit.network import ios

pytestmark = pytest.mark.lab


def test_named_acl_mode_stores_entries_as_ios_shows_them(lab: LabState) -> None:
    out = netlab.cli(lab, "sw-bkd-01", [
        "ip access-list extended SHIM-TEST", " permit udp 10.20.1.0 0.0.0.255 10.10.1.0 0.0.0.15 eq 53",
        " permit tcp 10.20.1.0 0.0.0.255 10.10.0.10 0.0.0.0 eq 80",
        " permit tcp 10.20.1.0 0.0.0.255 host 10.10.0.10 eq 80",
        " deny ip any any", " exit", "interface Vlan260", " ip access-group SHIM-TEST in", " exit",
    ], config=True)  # fmt: skip
    assert "(config-ext-nacl)#" in out and "Invalid input" not in out
    shown = netlab.cli(lab, "sw-bkd-01", ["show ip access-lists SHIM-TEST"])
    assert shown.splitlines() == [
        "Extended IP access list SHIM-TEST",
        "    10 permit udp 10.20.1.0 0.0.0.255 10.10.1.0 0.0.0.15 eq domain",
        "    20 permit tcp 10.20.1.0 0.0.0.255 host 10.10.0.10 eq www",  # the duplicate was not added again
        "    30 deny ip any any",
    ]
    running = netlab.running(lab, "sw-bkd-01")
    assert "ip access-list extended SHIM-TEST\n permit udp" in running and "\n deny   ip any any\n" in running
    assert "interface Vlan260\n no ip address\n ip access-group SHIM-TEST in\n" in running
    netlab.cli(lab, "sw-bkd-01", ["no interface Vlan260", "no ip access-list extended SHIM-TEST"], config=True)
    assert "SHIM-TEST" not in netlab.running(lab, "sw-bkd-01")


def test_bad_ace_and_ignored_forms_answer_invalid_input(lab: LabState) -> None:
    out = netlab.cli(lab, "sw-bkd-01", [
        "ip access-list extended SHIM-BAD", " permit tcp 10.0.0.0 0.0.0.255 any eq nosuchport",
        " permit foo any any", " exit", "ip frobnicate 1", "interface FastEthernet0/24",
        " switchport trunk allowed vlan except 5", " exit", "no ip access-list extended SHIM-BAD",
    ], config=True)  # fmt: skip
    assert out.count("% Invalid input detected at '^' marker.") == 4, out


def test_interface_names_match_as_on_ios(lab: LabState) -> None:
    netlab.cli(lab, "sw-dc-01", ["interface Vlan261", " description SATU", " exit",
                                 "interface Vlan26", " description DUA", " exit"], config=True)  # fmt: skip
    running = ios.parse_running_config(netlab.running(lab, "sw-dc-01"))
    assert running.get("interface Vlan261").children[0] == "description SATU"  # type: ignore[union-attr]
    assert running.get("interface Vlan26").children[0] == "description DUA"  # type: ignore[union-attr]
    out = netlab.cli(lab, "sw-dc-01", ["show running-config interface fa0/24"])
    assert "interface FastEthernet0/24" in out
    netlab.cli(lab, "sw-dc-01", ["no interface Vlan26", "no interface Vlan261"], config=True)


def test_trunk_remove_from_all_leaves_1_to_4094(lab: LabState) -> None:
    netlab.cli(lab, "sw-dc-01", ["interface GigabitEthernet0/2", " switchport trunk allowed vlan remove 262",
                                 " exit"], config=True)  # fmt: skip
    block = netlab.cli(lab, "sw-dc-01", ["show running-config interface GigabitEthernet0/2"])
    assert " switchport trunk allowed vlan 1-261,263-4094\n" in block
    netlab.cli(lab, "sw-dc-01", ["interface GigabitEthernet0/2", " no switchport trunk allowed vlan", " exit"],
               config=True)  # fmt: skip


def test_running_config_filters_still_work_line_by_line(lab: LabState) -> None:
    """show running-config leaves in one write, except under `| include` / `| begin`, which filter per line."""
    assert netlab.cli(lab, "sw-bkd-01", ["show running-config | include hostname"]).strip() == "hostname sw-bkd-01"
    begun = netlab.cli(lab, "sw-bkd-01", ["show running-config | begin interface"]).splitlines()
    assert begun[0].startswith("interface ") and begun[-1] == "end" and "hostname sw-bkd-01" not in begun
