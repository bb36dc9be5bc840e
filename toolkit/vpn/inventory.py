"""The VPN gateways as the inventory declares them, and the durable tunnel slots handed out on them.

Inventory groups (the lab writes them; a real deployment lists its own gateways the same way):

- ``vpn_site_gateways``: agency-site gateways the data-center team manages, each with
  ``spbe_vpn_public_address`` (how the data center reaches it; the applicant gives this address on the
  ticket, which is how a ticket finds its gateway) and ``spbe_vpn_lan_address`` (its address on the LAN);
- ``vpn_dc_gateways``: the data-center gateway with ``spbe_vpn_public_address``, ``spbe_vpn_lan_address``,
  ``spbe_vpn_lan_cidrs`` (the DC networks an agency reaches), ``spbe_vpn_tunnel_pool`` (cut into /30s, one
  per tunnel), ``spbe_vpn_listen_port_base`` and ``spbe_vpn_verify_targets`` (DC addresses pinged through
  a new tunnel).

A slot (tunnel /30, interface ``wg<slot>``, UDP port base + slot) is allocated when the VPN job runs, once
per ticket and step, in one transaction of the `TunnelAllocations` store (SQLite: ``BEGIN IMMEDIATE``), so
two tickets never get the same tunnel (whichever worker process runs them) and a re-run gets the same one
back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit import ansible_inventory
from toolkit.errors import ConfigurationError, ConflictError, NotFoundError
from toolkit.ports.state import TunnelAllocations
from toolkit.ports.state_records import TunnelSlot

SITE_GROUP = "vpn_site_gateways"
DC_GROUP = "vpn_dc_gateways"


class SiteGateway(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    public_address: ipaddress.IPv4Address
    lan_address: ipaddress.IPv4Address


class DcGateway(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    public_address: ipaddress.IPv4Address
    lan_address: ipaddress.IPv4Address
    lan_cidrs: tuple[ipaddress.IPv4Network, ...] = Field(min_length=1)
    tunnel_pool: ipaddress.IPv4Network
    listen_port_base: int = Field(default=51820, ge=1024, le=65000)
    verify_targets: tuple[ipaddress.IPv4Address, ...] = Field(min_length=1)

    @property
    def capacity(self) -> int:
        return 2 ** (30 - self.tunnel_pool.prefixlen) if self.tunnel_pool.prefixlen <= 30 else 0

    def tunnel(self, slot: int) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network((int(self.tunnel_pool.network_address) + 4 * slot, 30))


def _group_hosts(inventory: Path, group: str) -> list[tuple[str, dict[str, Any]]]:
    hosts = ansible_inventory.load(inventory).group(group)
    if not hosts:
        raise ConfigurationError(f"inventory {inventory} has no hosts in group '{group}'", group=group)
    return [(host.name, dict(host.vars)) for host in hosts]


def _model(model: type[BaseModel], name: str, hostvars: dict[str, Any], inventory: Path) -> Any:
    values = {key.removeprefix("spbe_vpn_"): value for key, value in hostvars.items() if key.startswith("spbe_vpn_")}
    try:
        return model(name=name, **{k: v for k, v in values.items() if k in model.model_fields})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ConfigurationError(f"inventory {inventory}, host {name}: {problems}", host=name) from None


def site_gateway(inventory: Path, public_address: str) -> SiteGateway:
    """The managed site gateway answering at ``public_address`` (the address the applicant gave)."""
    gateways = [_model(SiteGateway, n, v, inventory) for n, v in _group_hosts(inventory, SITE_GROUP)]
    for gateway in gateways:
        if str(gateway.public_address) == public_address:
            return gateway  # type: ignore[no-any-return]
    raise NotFoundError(
        f"no gateway with public address {public_address} in inventory group '{SITE_GROUP}'",
        address=public_address, known=[str(g.public_address) for g in gateways],
    )


def dc_gateway(inventory: Path) -> DcGateway:
    hosts = _group_hosts(inventory, DC_GROUP)
    if len(hosts) != 1:
        raise ConfigurationError(f"inventory group '{DC_GROUP}' must hold exactly one gateway, not {len(hosts)}")
    return _model(DcGateway, *hosts[0], inventory)  # type: ignore[no-any-return]


def allocate_slot(slots: TunnelAllocations, ticket: str, dc: DcGateway, site_lan: ipaddress.IPv4Network,
                  step: str = "") -> int:
    """The slot of (ticket, step), the same one on every call; refuses a site LAN that overlaps another
    ticket's tunnel on the same gateway, and a full pool. Chosen inside the store's one transaction."""

    def first_free(taken: Sequence[TunnelSlot]) -> int:
        for other in taken:
            if other.site_lan.overlaps(site_lan):
                raise ConflictError(f"site LAN {site_lan} overlaps {other.site_lan}, already tunnelled for ticket "
                                    f"{other.ticket}", ticket=other.ticket)
        used = {other.slot for other in taken}
        free = next((s for s in range(dc.capacity) if s not in used), None)
        if free is None:
            raise ConflictError(f"no free tunnel in {dc.tunnel_pool} on {dc.name}", pool=str(dc.tunnel_pool))
        return free

    return slots.claim(ticket, step, dc.name, site_lan, first_free)
