"""The data plane reads the switch's own config: SVI address and the permit entries of its inbound ACL."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from lab.dataplane import acl_entries_from_device, spec_from_running_config

GOLDEN = Path(__file__).resolve().parents[1] / "network" / "golden" / "cisco_ios" / "change.txt"


def test_spec_from_the_rendered_change() -> None:
    spec = spec_from_running_config(GOLDEN.read_text(encoding="utf-8"), 120)
    assert spec is not None
    assert spec.gateway == ipaddress.IPv4Address("10.20.1.1")
    assert spec.subnet == ipaddress.IPv4Network("10.20.1.0/24")
    assert [(str(e.destination), e.protocol, e.port) for e in spec.acl] == [
        ("10.10.0.10/32", "tcp", 443), ("10.10.1.0/28", "udp", 53), ("10.10.1.0/28", "tcp", 53),
        ("10.10.0.0/24", "icmp", None),
    ]


def test_no_svi_means_no_segment() -> None:
    assert spec_from_running_config(GOLDEN.read_text(encoding="utf-8"), 121) is None
    assert spec_from_running_config("interface Vlan120\n shutdown\n", 120) is None


def test_ios_port_names_and_deny_lines() -> None:
    entries = acl_entries_from_device(["permit tcp 10.20.1.0 0.0.0.255 host 10.10.0.10 eq 443",
                                       "deny ip any any", "permit ip any any"])
    assert [(str(e.destination), e.port) for e in entries] == [("10.10.0.10/32", 443)]
