"""Which data-center host serves which ticket.

Without this, every Pusat Data ticket would provision the first host of the pool, so a second
ticket would rename and re-firewall the first ticket's server. A host is allocated when the
provisioning job runs (never while planning), once per ticket and step, durably: one transaction of the
`HostAllocations` store (SQLite: ``BEGIN IMMEDIATE``) reads what is taken and takes a free host, so two
workers -- threads or `spbe serve` processes -- never get the same host, and a retry or a second
worker on the same job gets the host it had. A host is given only if its declared capacity covers
the request; when none fits, the step fails with a clear message instead of touching a server in use.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from toolkit import ansible_inventory
from toolkit.errors import ConfigurationError, ConflictError
from toolkit.ports.state import HostAllocations

POOL_GROUP = "pusat_data_pool"


class PoolHost(BaseModel):
    """A provisionable host; capacities come from inventory vars ``spbe_vcpu``, ``spbe_ram_gb`` and
    ``spbe_disk_gb`` and are unchecked when the inventory does not declare them (the lab)."""

    model_config = ConfigDict(frozen=True)
    name: str
    address: str
    vcpu: int | None = None
    ram_gb: int | None = None
    disk_gb: int | None = None

    def fits(self, vcpu: int, ram_gb: int, disk_gb: int) -> bool:
        return all(have is None or have >= want
                   for have, want in ((self.vcpu, vcpu), (self.ram_gb, ram_gb), (self.disk_gb, disk_gb)))


def pool_hosts(inventory: Path) -> list[PoolHost]:
    """The hosts of ``pusat_data_pool`` in inventory order, read with Ansible's own parser (INI and
    YAML alike) through `toolkit.ansible_inventory`."""
    hosts = ansible_inventory.load(inventory).group(POOL_GROUP)
    if not hosts:
        raise ConfigurationError(f"inventory {inventory} has no hosts in group '{POOL_GROUP}'")
    return [PoolHost(name=h.name, address=h.address, vcpu=h.vars.get("spbe_vcpu"), ram_gb=h.vars.get("spbe_ram_gb"),
                     disk_gb=h.vars.get("spbe_disk_gb")) for h in hosts]


def allocate_host(hosts: HostAllocations, ticket_id: str, candidates: list[PoolHost], vcpu: int, ram_gb: int,
                  disk_gb: int, step_id: str = "") -> PoolHost:
    """The host of (ticket, step): the one it already has, else the first free host that fits, taken in
    the store's one transaction (`HostAllocations.claim`)."""
    by_name = {h.name: h for h in candidates}

    def first_fitting(taken: frozenset[str]) -> str:
        free = [h for h in candidates if h.name not in taken]
        fitting = [h for h in free if h.fits(vcpu, ram_gb, disk_gb)]
        if not fitting:
            reason = (f"all {len(candidates)} host(s) are allocated" if not free else
                      f"none of the free host(s) {', '.join(h.name for h in free)} has {vcpu} vCPU, "
                      f"{ram_gb} GB RAM and {disk_gb} GB disk")
            raise ConflictError(f"no host in {POOL_GROUP} for {ticket_id}: {reason}", ticket=ticket_id)
        return fitting[0].name

    held = hosts.claim(ticket_id, step_id, first_fitting)
    if held not in by_name:
        raise ConfigurationError(f"host {held} allocated to {ticket_id} is no longer in the inventory")
    return by_name[held]
