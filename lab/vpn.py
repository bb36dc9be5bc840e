"""The lab's VPN part: two gateways and the networks around them, for site-to-site WireGuard tests.

Topology (everything in the lab's own 10.213.<octet>.192/26; hosts 0..47 keep the rest of the /24)::

    site client ──lan── vpn-site-gw ══ underlay (the "internet") ══ vpn-dc-gw ──lan── DC server
    (netns)   .208/28   (lab host, sshd)       .200/30            (lab host, sshd)  .224/28   (netns)

The gateways are ordinary lab hosts (Debian overlay copy, sshd, management /30 to the control node), so
the toolkit configures them over SSH exactly as it would real machines; they also get ``/dev/net/tun``
because ``wireguard-go`` (the kernel has no WireGuard module here) needs it. The client and the server
are bare namespaces with a default route through their gateway: until a tunnel is configured neither
gateway has a route to the other LAN, so the DC server is unreachable from the site LAN. IP forwarding
is left off on the gateways; turning it on is part of configuring a VPN gateway.

Everything is named from the lab name and octet, so ``down`` works from names alone after a crash.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lab import netns, sshd
from lab.models import SUBNET_PREFIX, LabHost, LabState, LabVpn
from toolkit.errors import ConfigurationError, UnavailableError

SITE_GATEWAY = "vpn-site-gw"
DC_GATEWAY = "vpn-dc-gw"
SITE_INDEX = 48  # management /30s 10.213.<octet>.192/30 and .196/30
DC_INDEX = 49
MAX_LAB_HOSTS = 48  # the hosts below the VPN's /26
LISTEN_PORT_BASE = 51820
SITE_GROUP = "vpn_site_gateways"
DC_GROUP = "vpn_dc_gateways"

StartHost = Callable[[int, str], LabHost]


@dataclass(frozen=True)
class VpnLayout:
    """Names and addresses of the VPN part, computed before anything is created."""

    site_netns: str
    dc_netns: str
    site_client_netns: str
    dc_server_netns: str
    underlay: ipaddress.IPv4Network
    site_lan: ipaddress.IPv4Network
    dc_lan: ipaddress.IPv4Network
    tunnel_pool: ipaddress.IPv4Network

    def host(self, network: ipaddress.IPv4Network, n: int) -> str:
        return str(network.network_address + n)


def layout(lab: str, octet: int) -> VpnLayout:
    base = f"{SUBNET_PREFIX}.{octet}"
    return VpnLayout(
        site_netns=netns.plan(lab, SITE_GATEWAY, SITE_INDEX, octet).netns,
        dc_netns=netns.plan(lab, DC_GATEWAY, DC_INDEX, octet).netns,
        site_client_netns=f"spbe-{lab}-vpn-site-lan",
        dc_server_netns=f"spbe-{lab}-vpn-dc-srv",
        underlay=ipaddress.IPv4Network(f"{base}.200/30"),
        site_lan=ipaddress.IPv4Network(f"{base}.208/28"),
        dc_lan=ipaddress.IPv4Network(f"{base}.224/28"),
        tunnel_pool=ipaddress.IPv4Network(f"{base}.240/28"),  # four /30 tunnels
    )


def _ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise UnavailableError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}", argv=list(args))


def _link(ns_a: str, name_a: str, addr_a: str, ns_b: str, name_b: str, addr_b: str) -> None:
    """A veth pair created directly inside two namespaces: nothing appears in the root namespace."""
    _ip("link", "add", name_a, "netns", ns_a, "type", "veth", "peer", "name", name_b, "netns", ns_b)
    for ns, name, addr in ((ns_a, name_a, addr_a), (ns_b, name_b, addr_b)):
        _ip("-n", ns, "addr", "add", addr, "dev", name)
        _ip("-n", ns, "link", "set", name, "up")


def _lan_namespace(name: str) -> None:
    _ip("netns", "add", name)
    _ip("-n", name, "link", "set", "lo", "up")


def _tun_device(host: LabHost) -> None:
    """Give a gateway ``/dev/net/tun`` (the lab hosts' /dev is minimal); a VPN gateway VM has it."""
    if host.init_pid is None:
        raise ConfigurationError(f"lab host {host.name} has no recorded init pid")
    for argv in (["mkdir", "-p", "/dev/net"], ["mknod", "-m", "0666", "/dev/net/tun", "c", "10", "200"]):
        proc = sshd.host_exec(host.init_pid, argv, timeout_s=10)
        if proc.returncode != 0:
            raise UnavailableError(f"{host.name}: {' '.join(argv)} failed: {proc.stderr.strip()}")


def up(lab: str, octet: int, start_host: StartHost, host_count: int) -> LabVpn:
    """Start both gateways (through the lab's own host starter) and wire the networks around them."""
    if host_count > MAX_LAB_HOSTS:
        raise ConfigurationError(
            f"a lab with the VPN part holds at most {MAX_LAB_HOSTS} hosts, not {host_count}", hosts=host_count
        )
    lay = layout(lab, octet)
    site = start_host(SITE_INDEX, SITE_GATEWAY)
    dc = start_host(DC_INDEX, DC_GATEWAY)
    for gateway in (site, dc):
        _tun_device(gateway)
    under = lay.underlay.prefixlen
    _link(site.netns, "wan0", f"{lay.host(lay.underlay, 1)}/{under}",
          dc.netns, "wan0", f"{lay.host(lay.underlay, 2)}/{under}")  # fmt: skip
    for gateway, lan, ns in ((site, lay.site_lan, lay.site_client_netns), (dc, lay.dc_lan, lay.dc_server_netns)):
        _lan_namespace(ns)
        _link(gateway.netns, "lan0", f"{lay.host(lan, 1)}/{lan.prefixlen}",
              ns, "eth0", f"{lay.host(lan, 2)}/{lan.prefixlen}")  # fmt: skip
        _ip("-n", ns, "route", "add", "default", "via", lay.host(lan, 1))
    return LabVpn(
        site_gateway=site,
        dc_gateway=dc,
        underlay_cidr=str(lay.underlay),
        site_underlay=lay.host(lay.underlay, 1),
        dc_underlay=lay.host(lay.underlay, 2),
        site_lan=str(lay.site_lan),
        site_lan_gateway=lay.host(lay.site_lan, 1),
        site_client=lay.host(lay.site_lan, 2),
        site_client_netns=lay.site_client_netns,
        dc_lan=str(lay.dc_lan),
        dc_lan_gateway=lay.host(lay.dc_lan, 1),
        dc_server=lay.host(lay.dc_lan, 2),
        dc_server_netns=lay.dc_server_netns,
        tunnel_pool=str(lay.tunnel_pool),
        listen_port_base=LISTEN_PORT_BASE,
    )


def down(lab: str, octet: int) -> None:
    """Remove the VPN part by name; idempotent, safe on a half-built lab or one whose lab.json is gone."""
    lay = layout(lab, octet)
    for name in (lay.site_client_netns, lay.dc_server_netns):
        netns.kill_all(name)
        if netns.netns_exists(name):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    for index, host in ((SITE_INDEX, SITE_GATEWAY), (DC_INDEX, DC_GATEWAY)):
        netns.destroy(netns.plan(lab, host, index, octet))  # its veths (wan0, lan0) go with the namespace


def gateways(state: LabState) -> tuple[LabHost, ...]:
    return (state.vpn.site_gateway, state.vpn.dc_gateway) if state.vpn else ()


def inventory_groups(state: LabState) -> dict[str, Any]:
    """The inventory groups ``toolkit.vpn`` reads: site gateways by their public (underlay) address and
    LAN, the DC gateway with its LANs, the tunnel pool and the DC addresses a tunnel is verified against."""
    vpn = state.vpn
    if vpn is None:
        return {}
    site = vpn.site_gateway.ansible_vars(state.known_hosts) | {
        "spbe_vpn_public_address": vpn.site_underlay,
        "spbe_vpn_lan_address": vpn.site_lan_gateway,
    }
    dc = vpn.dc_gateway.ansible_vars(state.known_hosts) | {
        "spbe_vpn_public_address": vpn.dc_underlay,
        "spbe_vpn_lan_address": vpn.dc_lan_gateway,
        "spbe_vpn_lan_cidrs": [vpn.dc_lan],
        "spbe_vpn_tunnel_pool": vpn.tunnel_pool,
        "spbe_vpn_listen_port_base": vpn.listen_port_base,
        "spbe_vpn_verify_targets": [vpn.dc_server],
    }
    return {
        SITE_GROUP: {"hosts": {vpn.site_gateway.name: site}},
        DC_GROUP: {"hosts": {vpn.dc_gateway.name: dc}},
    }
