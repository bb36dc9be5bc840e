"""Choose a free VLAN, free access ports and a subnet sized for the users of one agency segment.

The analysis step (SOP Jaringan Intra step 4) must not hand out what is already in use: neither what
the devices show (a VLAN or a port someone configured by hand) nor what an earlier ticket was given
and not yet pushed. Device reads arrive as `SiteObservation` data; earlier tickets' choices are held
durably by the `SegmentAllocations` store, one row per ticket, chosen and taken inside its one
transaction (SQLite: ``BEGIN IMMEDIATE``) so two workers analysing two tickets at once never pick the
same VLAN, subnet or port. Re-running the analysis of a ticket returns the ticket's own allocation unchanged.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from toolkit.errors import ConflictError, InvalidInputError
from toolkit.network.inventory import NetworkInventory, Site
from toolkit.ports.state import SegmentAllocations
from toolkit.ports.state_records import SegmentAllocation


class DeviceObservation(BaseModel):
    """What one device showed: its VLAN ids and the access VLAN of each interface it reported."""

    model_config = ConfigDict(frozen=True)
    device: str
    vlans: tuple[int, ...] = ()
    port_vlans: dict[str, int] = Field(default_factory=dict, description="interface -> access VLAN")


class SiteObservation(BaseModel):
    model_config = ConfigDict(frozen=True)
    site: str
    devices: tuple[DeviceObservation, ...] = ()

    def used_vlans(self) -> set[int]:
        return {vlan for device in self.devices for vlan in device.vlans}

    def busy_ports(self, device: str) -> set[str]:
        """Ports already given to a VLAN other than the default VLAN 1 are not free."""
        for observed in self.devices:
            if observed.device == device:
                return {port for port, vlan in observed.port_vlans.items() if vlan != 1}
        return set()


Allocation = SegmentAllocation  # the state port's record: one ticket's share of the pools


def prefix_for(users: int, headroom: float = 0.25) -> int:
    """Smallest prefix whose host addresses cover the users, the gateway and some headroom (≥ /29)."""
    if users < 1:
        raise InvalidInputError("jumlah_user must be at least 1", errors=[("jumlah_user", "must be ≥ 1")])
    needed = math.ceil(users * (1 + headroom)) + 1  # + the gateway
    bits = max(3, math.ceil(math.log2(needed + 2)))  # + network and broadcast
    return 32 - bits


def ports_needed(users: int, users_per_port: int) -> int:
    return max(1, math.ceil(users / users_per_port))


def allocate_segment(store: SegmentAllocations, ticket_id: str, inventory: NetworkInventory,
                     observation: SiteObservation, *, users: int, users_per_port: int = 8) -> Allocation:
    """The ticket's allocation: the one it already has, else the first free VLAN, subnet and ports, chosen
    against every other ticket's inside the store's one transaction (`SegmentAllocations.claim`)."""
    try:
        site = inventory.site(observation.site)
    except KeyError:
        raise InvalidInputError(f"unknown site {observation.site!r}",
                                errors=[("lokasi", "not a site of the network inventory")]) from None

    def first_free(others: Sequence[Allocation]) -> Allocation:
        return Allocation(ticket_id=ticket_id, site=site.id, vlan_id=_free_vlan(inventory, observation, others),
                          subnet=_free_subnet(inventory, others, prefix_for(users)),
                          ports=_free_ports(site, observation, others, ports_needed(users, users_per_port)),
                          users=users, allocated_at=datetime.now(UTC))

    return store.claim(ticket_id, first_free)


def _free_vlan(inventory: NetworkInventory, observation: SiteObservation, others: Sequence[Allocation]) -> int:
    taken = observation.used_vlans() | {a.vlan_id for a in others}
    pool = inventory.vlan_pool
    for vlan in range(pool.start, pool.end + 1):
        if pool.allows(vlan) and vlan not in taken:
            return vlan
    raise ConflictError(f"no free VLAN in the pool {pool.start}-{pool.end}", site=observation.site)


def _subnets(supernet: ipaddress.IPv4Network, prefix: int) -> Iterator[ipaddress.IPv4Network]:
    if prefix < supernet.prefixlen:
        return iter(())
    return supernet.subnets(new_prefix=prefix)


def _free_subnet(inventory: NetworkInventory, others: Sequence[Allocation], prefix: int) -> ipaddress.IPv4Network:
    pool = inventory.ip_pool
    blocked = list(pool.reserved) + [a.subnet for a in others]
    for candidate in _subnets(pool.supernet, prefix):
        if not any(candidate.overlaps(b) for b in blocked):
            return candidate
    raise ConflictError(f"no free /{prefix} left in the IP pool {pool.supernet}")


def _free_ports(site: Site, observation: SiteObservation, others: Sequence[Allocation],
                count: int) -> dict[str, tuple[str, ...]]:
    """Ports from the site's access pools, first device first, skipping busy and allocated ones."""
    allocated: dict[str, set[str]] = {}
    for other in others:
        for device, names in other.ports.items():
            allocated.setdefault(device, set()).update(names)
    chosen: dict[str, tuple[str, ...]] = {}
    remaining = count
    free_total = 0
    for pool in site.access_ports:
        busy = observation.busy_ports(pool.device) | allocated.get(pool.device, set())
        free = [name for name in pool.interfaces if name not in busy]
        free_total += len(free)
        if remaining and free:
            take = free[:remaining]
            chosen[pool.device] = tuple(take)
            remaining -= len(take)
    if remaining:
        raise ConflictError(f"site {site.id} has {free_total} free access port(s), {count} needed",
                            site=site.id, needed=count, free=free_total)
    return chosen


def ports_summary(ports: Mapping[str, tuple[str, ...]]) -> str:
    return "; ".join(f"{device}: {', '.join(names)}" for device, names in ports.items())
