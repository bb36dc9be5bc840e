"""The site-to-site VPN plan: what will be configured on both gateways, as validated, immutable data.

The plan is attached to the job (and can be shown to an approver) before anything touches a gateway, so
it holds public keys and the *names* of the private keys in the secret store, never a private key. The
only place private keys meet the plan is `VpnPlan.extra_vars`, whose result goes straight into
ansible-runner's 0600 extravars file.

What is refused, and why:
- a LAN, tunnel or DC network overlapping another one: the gateways would route it into the wrong place;
- a gateway's public address inside a network carried by the tunnel: the tunnel would route its own packets;
- LANs larger than a /16 or outside private address space: a typo that would pull the agency's internet
  traffic (or someone else's addresses) into the tunnel;
- anything but the narrow formats below in names, interfaces and keys: every value ends up in a config
  file and on a command line on the gateways.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from toolkit.domain.catalog.formats import private_lan_problem
from toolkit.vpn.keys import KEY_NAME_RE, WG_KEY_RE

SITE_NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")
HOST_RE = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?")
TICKET_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
INTERFACE_RE = re.compile(r"wg[0-9]{1,3}")


def _full(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):  # fullmatch: "$" would let a trailing newline through
            raise ValueError(f"invalid {what}: must match {pattern.pattern}")
        return value

    return AfterValidator(check)


def _lan(network: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    # The rule intake applied to the ticket's vpn_subnet_lan (format private_lan), so it cannot refuse it here.
    problem = private_lan_problem(str(network))
    if problem:
        raise ValueError(problem)
    return network


SiteName = Annotated[str, _full(SITE_NAME_RE, "site name")]
HostName = Annotated[str, _full(HOST_RE, "inventory host name")]
TicketId = Annotated[str, _full(TICKET_RE, "ticket id")]
Interface = Annotated[str, _full(INTERFACE_RE, "WireGuard interface name")]
PublicKey = Annotated[str, _full(WG_KEY_RE, "WireGuard public key")]
KeyName = Annotated[str, _full(KEY_NAME_RE, "secret name")]
Lan = Annotated[ipaddress.IPv4Network, AfterValidator(_lan)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VpnEndpoint(_Frozen):
    """One gateway of the tunnel. ``public_address`` is where the peer sends its UDP packets (the
    underlay); ``lan_address`` is the gateway's own address in ``lan_cidrs`` (the source of the checks)."""

    role: Literal["site", "dc"]
    host: HostName
    public_address: ipaddress.IPv4Address
    tunnel_address: ipaddress.IPv4Interface
    lan_cidrs: tuple[Lan, ...] = Field(min_length=1, max_length=16)
    lan_address: ipaddress.IPv4Address
    public_key: PublicKey
    private_key_secret: KeyName

    @model_validator(mode="after")
    def _coherent(self) -> VpnEndpoint:
        if not any(self.lan_address in lan for lan in self.lan_cidrs):
            raise ValueError(f"lan_address {self.lan_address} is not in the LAN networks of {self.host}")
        network = self.tunnel_address.network
        if network.prefixlen > 30 or self.tunnel_address.ip in (network.network_address, network.broadcast_address):
            raise ValueError(f"tunnel_address {self.tunnel_address}: not a usable host address of a /30 or larger")
        return self

    @property
    def allowed_ips(self) -> tuple[str, ...]:
        """What the *peer* accepts from (and routes to) this end: its tunnel address and its LANs."""
        return (f"{self.tunnel_address.ip}/32", *(str(lan) for lan in self.lan_cidrs))


class VpnPlan(_Frozen):
    """Both ends of one site-to-site tunnel. One WireGuard interface per tunnel on each gateway, so a
    tunnel can be added, changed or removed without touching another agency's tunnel."""

    ticket: TicketId
    site_name: SiteName
    interface: Interface
    listen_port: int = Field(ge=1024, le=65535)
    keepalive_s: int = Field(default=25, ge=0, le=3600)
    site: VpnEndpoint
    dc: VpnEndpoint
    verify_targets: tuple[ipaddress.IPv4Address, ...] = Field(min_length=1, max_length=8)

    @model_validator(mode="after")
    def _no_overlaps(self) -> VpnPlan:
        if self.site.role != "site" or self.dc.role != "dc":
            raise ValueError("site/dc: endpoint roles are swapped")
        if self.site.host == self.dc.host or self.site.public_address == self.dc.public_address:
            raise ValueError("site and dc must be two different gateways")
        if self.site.public_key == self.dc.public_key or self.site.private_key_secret == self.dc.private_key_secret:
            raise ValueError("site and dc must have different keys")
        tunnel = self.site.tunnel_address.network
        if self.dc.tunnel_address.network != tunnel or self.site.tunnel_address.ip == self.dc.tunnel_address.ip:
            raise ValueError(f"tunnel addresses {self.site.tunnel_address} and {self.dc.tunnel_address} "
                             "must be two addresses of one network")
        named = [("tunnel", tunnel)] + [(f"site LAN {lan}", lan) for lan in self.site.lan_cidrs] \
            + [(f"DC LAN {lan}", lan) for lan in self.dc.lan_cidrs]  # fmt: skip
        for index, (name_a, net_a) in enumerate(named):
            for name_b, net_b in named[index + 1:]:
                if net_a.overlaps(net_b):
                    raise ValueError(f"{name_a} overlaps {name_b}")
        for end in (self.site, self.dc):
            for name, net in named:
                if end.public_address in net:
                    raise ValueError(f"public address {end.public_address} of {end.host} is inside the {name}")
        for target in self.verify_targets:
            if not any(target in lan for lan in self.dc.lan_cidrs):
                raise ValueError(f"verify target {target} is not in the DC LANs")
        return self

    @property
    def key_names(self) -> tuple[str, str]:
        return self.site.private_key_secret, self.dc.private_key_secret

    def extra_vars(self, private_keys: Mapping[str, SecretStr], state: Literal["present", "absent"]) -> dict[str, Any]:
        """Variables of ``playbooks/site_to_site_vpn.yml``; the only place private keys are revealed.
        ``private_keys`` maps secret names to values; for ``absent`` none is needed."""
        endpoints: dict[str, Any] = {}
        for end, peer in ((self.site, self.dc), (self.dc, self.site)):
            entry: dict[str, Any] = {
                "role": end.role,
                "address": str(end.tunnel_address),
                "lan_address": str(end.lan_address),
                "peer_public_key": peer.public_key,
                "peer_endpoint": f"{peer.public_address}:{self.listen_port}",
                "peer_allowed_ips": list(peer.allowed_ips),
                "keepalive": self.keepalive_s if end.role == "site" else 0,  # the site keeps NAT open
            }
            if state == "present":
                entry["private_key"] = private_keys[end.private_key_secret].get_secret_value()
            endpoints[end.host] = entry
        return {
            "spbe_ticket": self.ticket,
            "spbe_vpn_state": state,
            "spbe_vpn_site": self.site_name,
            "spbe_vpn_interface": self.interface,
            "spbe_vpn_listen_port": self.listen_port,
            "spbe_vpn_endpoints": endpoints,
            "spbe_vpn_verify_targets": [str(t) for t in self.verify_targets],
        }
