"""The colocation inventory (racks, power budgets, the switch ports handed to colocated equipment) and the
choices made from it: a contiguous run of free rack units within a rack's power budget, and a VLAN, subnet
and ports for the equipment's segment.

The inventory is a deployment's file (``settings.colocation_inventory``; ``inventory/colocation/example.yml``
shows its shape; `spbe lab up` writes the lab's). Its ports must be in the network inventory's access-port
pool of the site (the network push refuses any other port); VLAN, subnet and ports are taken through the
same `SegmentAllocations` store as Jaringan Intra's, so neither service picks what the other holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from toolkit.domain import yaml_doc
from toolkit.errors import ConfigurationError, ConflictError
from toolkit.network.allocation import SiteObservation, _free_subnet, _free_vlan, prefix_for
from toolkit.network.inventory import ID_RE, NetworkInventory, describe_errors
from toolkit.ports.state_records import RackSpace, SegmentAllocation


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Rack(_Frozen):
    id: str = Field(pattern=ID_RE)
    units: int = Field(ge=1, le=60, description="height in rack units (U), numbered 1..units")
    power_watt: int = Field(ge=1, le=100_000, description="the rack's power budget")
    reserved_units: tuple[int, ...] = Field(default=(), description="patch panels, the top-of-rack switch")

    @model_validator(mode="after")
    def _units(self) -> Rack:
        bad = [u for u in self.reserved_units if not 1 <= u <= self.units]
        if bad:
            raise ValueError(f"reserved_units: {bad} outside 1-{self.units}")
        return self


class PortPool(_Frozen):
    device: str = Field(pattern=ID_RE)
    interfaces: tuple[str, ...] = Field(min_length=1)


class ColocationInventory(_Frozen):
    site: str = Field(pattern=ID_RE, description="the network inventory's site of the ports (the data center)")
    apps: tuple[str, ...] = Field(min_length=1, description="data-center apps the equipment may reach (its ACL)")
    ports: tuple[PortPool, ...] = Field(min_length=1)
    racks: tuple[Rack, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ColocationInventory:
        ids = [r.id for r in self.racks]
        if len(set(ids)) != len(ids):
            raise ValueError("racks: a rack id is listed twice")
        return self

    def rack(self, rack_id: str) -> Rack | None:
        return next((r for r in self.racks if r.id == rack_id), None)

    def check_against(self, network: NetworkInventory) -> None:
        """The site, devices, interfaces and apps must be the network inventory's (device CLI names are
        checked by the platform's interface pattern, so nothing odd ever reaches a switch)."""
        from toolkit.network.inventory import INTERFACE_PATTERNS

        try:
            site = network.site(self.site)
        except KeyError:
            raise ConfigurationError(f"colocation inventory: site {self.site!r} is not in the network inventory") \
                from None
        for pool in self.ports:
            try:
                device = site.device(pool.device)
            except KeyError:
                raise ConfigurationError(f"colocation inventory: {pool.device!r} is not a device of site "
                                         f"{self.site!r}") from None
            for name in pool.interfaces:
                if not INTERFACE_PATTERNS[device.platform].fullmatch(name) or name not in site.pool(device.name):
                    raise ConfigurationError(f"colocation inventory: {name!r} is not an access interface of "
                                             f"{device.name} ({device.platform}) in the site's access-port pool")
        known = {a.id for a in network.apps}
        unknown = [a for a in self.apps if a not in known]
        if unknown:
            raise ConfigurationError(f"colocation inventory: apps {unknown} are not in the network inventory")


def load_colocation(path: Path | None) -> ColocationInventory:
    if path is None:
        raise ConfigurationError("no colocation inventory configured (settings: colocation_inventory)")
    try:
        data = yaml_doc.safe_load(Path(path).read_text(encoding="utf-8"))
        return ColocationInventory.model_validate(data)
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot be read: {exc.strerror}", file=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{Path(path).name}: not valid YAML: {exc}", file=str(path)) from None
    except ValidationError as exc:
        problems = describe_errors(exc, "(top)")
        raise ConfigurationError("; ".join(f"{Path(path).name}: {k}: {m}" for k, m in problems),
                                 file=str(path), errors=problems) from None


def choose_space(inventory: ColocationInventory, ticket_id: str, units: int, power_watt: int,
                 preferred: str | None, others: Sequence[RackSpace]) -> RackSpace:
    """The lowest free run of ``units`` contiguous units in the first rack (the preferred one only, when
    named) whose power budget still covers ``power_watt``."""
    racks = [inventory.rack(preferred)] if preferred else list(inventory.racks)
    reasons = []
    for rack in racks:
        if rack is None:
            raise ConflictError(f"rack {preferred!r} is not a colocation rack")
        mine = [o for o in others if o.rack == rack.id]
        spare = rack.power_watt - sum(o.power_watt for o in mine)
        if spare < power_watt:
            reasons.append(f"{rack.id}: {spare} W of power left")
            continue
        taken = set(rack.reserved_units) | {u for o in mine for u in o.unit_range}
        for start in range(1, rack.units - units + 2):
            if not any(u in taken for u in range(start, start + units)):
                return RackSpace(ticket_id=ticket_id, rack=rack.id, unit_start=start, units=units,
                                 power_watt=power_watt, allocated_at=datetime.now(UTC))
        reasons.append(f"{rack.id}: no {units} contiguous free units")
    raise ConflictError(f"no rack space for {ticket_id}: " + "; ".join(reasons), ticket=ticket_id)


def choose_segment(network: NetworkInventory, inventory: ColocationInventory, ticket_id: str, ports: int,
                   observation: SiteObservation, others: Sequence[SegmentAllocation]) -> SegmentAllocation:
    """A VLAN and subnet free on the switches and in every other ticket's allocation, and ``ports`` free
    colocation ports (not configured on the device, not held by another ticket), first pool first."""
    held: dict[str, set[str]] = {}
    for other in others:
        for device, names in other.ports.items():
            held.setdefault(device, set()).update(names)
    chosen: dict[str, tuple[str, ...]] = {}
    remaining = ports
    for pool in inventory.ports:
        busy = observation.busy_ports(pool.device) | held.get(pool.device, set())
        free = [name for name in pool.interfaces if name not in busy][:remaining]
        if free:
            chosen[pool.device] = tuple(free)
            remaining -= len(free)
        if not remaining:
            break
    if remaining:
        raise ConflictError(f"{ports - remaining} free colocation port(s), {ports} needed", ticket=ticket_id)
    return SegmentAllocation(ticket_id=ticket_id, site=inventory.site,
                             vlan_id=_free_vlan(network, observation, others),
                             subnet=_free_subnet(network, others, prefix_for(ports)), ports=chosen, users=ports,
                             allocated_at=datetime.now(UTC))
