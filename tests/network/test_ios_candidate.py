"""IOS output parsers and the candidate/restore model, on IOS text as real switches print it."""

from __future__ import annotations

from pathlib import Path

from toolkit.network import NetworkChange, build_change, ios, load_inventory, render_change
from toolkit.network.candidate import affected_headers, candidate, differing, restore_lines, section_diff

INVENTORY = load_inventory(Path(__file__).parent / "data" / "multivendor.yml")

# A Catalyst's "show vlan brief", with a continuation line and a trunk port missing (as IOS shows it).
VLAN_BRIEF = """
VLAN Name                             Status    Ports
---- -------------------------------- --------- -------------------------------
1    default                          active    Fa0/3, Fa0/4, Fa0/5, Fa0/6
                                                Fa0/7, Gi0/2
120  DINKES-STAFF                     active    Fa0/1, Fa0/2
999  PARKIR                           act/lshut
1002 fddi-default                     act/unsup
"""

RUNNING = """Building configuration...

Current configuration : 1234 bytes
!
version 15.0
hostname sw-1
!
enable secret 5 $1$abcd$rahasia
!
vlan 120
 name DINKES-STAFF
!
interface FastEthernet0/1
 description Ruang staf
 switchport access vlan 120
 switchport mode access
!
interface FastEthernet0/2
 shutdown
!
interface GigabitEthernet0/1
 switchport trunk allowed vlan 1,10,20-30
 switchport mode trunk
!
interface Vlan120
 ip address 10.20.1.1 255.255.255.0
 ip access-group SPBE-VLAN120 in
!
ip access-list extended SPBE-VLAN120
 permit tcp 10.20.1.0 0.0.0.255 host 10.10.0.10 eq 443
 permit udp 10.20.1.0 0.0.0.255 10.10.1.0 0.0.0.15 eq domain
 deny   ip any any
!
line vty 0 4
 password 7 0822455D0A16
end
"""

ACLS = """Standard IP access list 10
    10 permit 10.1.1.1
Extended IP access list SPBE-VLAN120
    10 permit tcp 10.20.1.0 0.0.0.255 host 10.10.0.10 eq 443 (12 matches)
    20 permit udp 10.20.1.0 0.0.0.255 10.10.1.0 0.0.0.15 eq domain
    30 deny ip any any
"""


def test_vlan_brief() -> None:
    vlans = {v.id: v for v in ios.parse_vlan_brief(VLAN_BRIEF)}
    assert vlans[1].ports == ("FastEthernet0/3", "FastEthernet0/4", "FastEthernet0/5", "FastEthernet0/6",
                              "FastEthernet0/7", "GigabitEthernet0/2")  # fmt: skip
    assert vlans[120].name == "DINKES-STAFF" and vlans[120].ports == ("FastEthernet0/1", "FastEthernet0/2")
    assert vlans[999].ports == () and vlans[999].status == "act/lshut" and 1002 in vlans


def test_running_config_sections_and_interfaces() -> None:
    running = ios.parse_running_config(RUNNING)
    assert running.get("vlan 120") == ios.Section(header="vlan 120", children=("name DINKES-STAFF",))
    port = ios.interface_config(running.get("interface FastEthernet0/1"))  # type: ignore[arg-type]
    assert (port.mode, port.access_vlan, port.description, port.shutdown) == ("access", 120, "Ruang staf", False)
    assert ios.interface_config(running.get("interface FastEthernet0/2")).shutdown  # type: ignore[arg-type]
    trunk = ios.interface_config(running.get("interface GigabitEthernet0/1"))  # type: ignore[arg-type]
    assert trunk.carries(25) and not trunk.carries(120)
    svi = ios.interface_config(running.get("interface Vlan120"))  # type: ignore[arg-type]
    assert svi.ip_address == "10.20.1.1 255.255.255.0" and svi.access_group_in == "SPBE-VLAN120"
    acl = ios.access_list_from_section(running.get("ip access-list extended SPBE-VLAN120"))  # type: ignore[arg-type]
    assert acl.entries[-1] == "deny ip any any" and acl.entries[1].endswith("eq 53")


def test_access_lists_normalized() -> None:
    acls = ios.parse_access_lists(ACLS)
    assert acls["10"].kind == "standard"
    assert acls["SPBE-VLAN120"].entries == (
        "permit tcp 10.20.1.0 0.0.0.255 host 10.10.0.10 eq 443",
        "permit udp 10.20.1.0 0.0.0.255 10.10.1.0 0.0.0.15 eq 53", "deny ip any any")  # fmt: skip
    assert ios.normalize_ace("permit tcp 10.0.0.1 0.0.0.0 host 10.1.1.1 10.2.0.0 0.0.255.255 eq www") == \
        "permit tcp host 10.0.0.1 host 10.1.1.1 10.2.0.0 0.0.255.255 eq 80"


def test_vlan_lists_round_trip() -> None:
    assert ios.vlan_ranges(ios.vlan_list("1-119,121-4094")) == "1-119,121-4094"
    assert ios.vlan_ranges([10, 11, 20, 21, 22]) == "10,11,20-22" and ios.vlan_list("none") == frozenset()
    assert ios.full_interface_name("Gi0/1") == "GigabitEthernet0/1" and ios.full_interface_name("Te1/0/1") == \
        "TenGigabitEthernet1/0/1"


def _plan(vlan_id: int = 130) -> NetworkChange:
    return build_change(INVENTORY, site="dinkes", vlan_id=vlan_id, vlan_name="RAPAT", description="Ruang rapat",
                        subnet="10.20.3.0/24", apps=["simpeg"], access_ports={"sw-dinkes-ios": ["FastEthernet0/2"]})


def test_candidate_diff_shows_only_affected_sections_and_no_secret() -> None:
    plan = _plan()
    running = ios.parse_running_config(RUNNING)
    lines = render_change(plan, "cisco_ios", "sw-dinkes-ios")
    after = candidate(running, lines)
    headers = affected_headers(plan, "sw-dinkes-ios")
    text = section_diff(running, after, headers, "sw-dinkes-ios")
    assert "+vlan 130\n+ name RAPAT\n" in text and "-shutdown" not in text and "- shutdown\n" in text
    assert "+ switchport trunk allowed vlan 1,10,20-30,130\n" in text
    assert "rahasia" not in text and "password" not in text
    assert differing(running, after, headers)
    assert not differing(after, candidate(after, lines), headers)  # applying twice changes nothing more


def test_restore_lines_bring_the_sections_back() -> None:
    plan = _plan()
    running = ios.parse_running_config(RUNNING)
    headers = affected_headers(plan, "sw-dinkes-ios")
    after = candidate(running, render_change(plan, "cisco_ios", "sw-dinkes-ios"))
    lines = restore_lines(running, after, headers)
    assert lines[0] == "interface FastEthernet0/2" and " shutdown" in lines
    assert "no vlan 130" in lines and "no ip access-list extended SPBE-VLAN130" in lines
    assert " switchport trunk allowed vlan 1,10,20-30" in lines
    assert not differing(running, candidate(after, lines), headers)
    assert restore_lines(running, running, headers) == []
