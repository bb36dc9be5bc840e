"""Allocation: what the devices show and what earlier tickets hold is never handed out again."""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path

import pytest

from integrations.state.allocations import SegmentAllocator
from tests.network import netlab
from toolkit.errors import ConflictError, InvalidInputError
from toolkit.network.allocation import (
    DeviceObservation,
    SiteObservation,
    allocate_segment,
    ports_needed,
    prefix_for,
)

INVENTORY = netlab.lab_sites()


def _observed(vlans: tuple[int, ...] = (1,), port_vlans: dict[str, int] | None = None) -> SiteObservation:
    return SiteObservation(site="dinkes", devices=(
        DeviceObservation(device="sw-dinkes-01", vlans=vlans, port_vlans=port_vlans or {}),))


@pytest.mark.parametrize(("users", "prefix"), [(1, 29), (4, 29), (5, 28), (20, 27), (100, 25), (500, 22)])
def test_subnet_is_sized_for_the_users_with_headroom(users: int, prefix: int) -> None:
    assert prefix_for(users) == prefix
    hosts = 2 ** (32 - prefix) - 2
    assert hosts >= users + 1


def test_ports_needed() -> None:
    assert [ports_needed(n, 8) for n in (1, 8, 9, 80)] == [1, 1, 2, 10]


def test_first_free_everything(tmp_path: Path) -> None:
    allocator = SegmentAllocator(tmp_path / "alloc.db")
    got = allocate_segment(allocator, "T-1", INVENTORY, _observed(), users=10)
    assert got.vlan_id == 101  # 100 is reserved in the pool
    assert got.subnet == ipaddress.IPv4Network("10.20.1.0/28")  # 10.20.0.0/24 is reserved
    assert got.ports == {"sw-dinkes-01": ("FastEthernet0/1", "FastEthernet0/2")}


def test_device_state_is_respected(tmp_path: Path) -> None:
    allocator = SegmentAllocator(tmp_path / "alloc.db")
    observed = _observed(vlans=(1, 101, 102), port_vlans={"FastEthernet0/1": 101, "FastEthernet0/2": 1})
    got = allocate_segment(allocator, "T-1", INVENTORY, observed, users=10)
    assert got.vlan_id == 103
    assert got.ports["sw-dinkes-01"] == ("FastEthernet0/2", "FastEthernet0/3")


def test_second_ticket_gets_different_resources_and_rerun_is_stable(tmp_path: Path) -> None:
    allocator = SegmentAllocator(tmp_path / "alloc.db")
    first = allocate_segment(allocator, "T-1", INVENTORY, _observed(), users=10)
    second = allocate_segment(allocator, "T-2", INVENTORY, _observed(), users=30)
    assert second.vlan_id != first.vlan_id
    assert not second.subnet.overlaps(first.subnet)
    assert not set(second.ports["sw-dinkes-01"]) & set(first.ports["sw-dinkes-01"])
    with SegmentAllocator(tmp_path / "alloc.db") as reopened:
        again = allocate_segment(reopened, "T-1", INVENTORY, _observed(), users=99)
    assert again == first


def test_not_enough_ports_is_a_conflict_and_allocates_nothing(tmp_path: Path) -> None:
    allocator = SegmentAllocator(tmp_path / "alloc.db")
    with pytest.raises(ConflictError, match="10 free access port"):
        allocate_segment(allocator, "T-1", INVENTORY, _observed(), users=200)
    assert allocator.get("T-1") is None


def test_unknown_site(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="unknown site"), SegmentAllocator(tmp_path / "a.db") as allocator:
        allocate_segment(allocator, "T-1", INVENTORY, SiteObservation(site="nowhere"), users=1)


def test_concurrent_allocations_never_share(tmp_path: Path) -> None:
    path = tmp_path / "alloc.db"
    SegmentAllocator(path).close()
    results: dict[str, object] = {}

    def take(ticket: str) -> None:
        try:
            with SegmentAllocator(path) as allocator:  # a store per thread, as two processes would have
                results[ticket] = allocate_segment(allocator, ticket, INVENTORY, _observed(), users=8)
        except ConflictError as exc:
            results[ticket] = exc

    threads = [threading.Thread(target=take, args=(f"T-{i}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    allocations = [r for r in results.values() if not isinstance(r, Exception)]
    assert len(allocations) == 10  # one port each, ten ports in the pool
    assert len({a.vlan_id for a in allocations}) == 10  # type: ignore[attr-defined]
    ports = [p for a in allocations for p in a.ports["sw-dinkes-01"]]  # type: ignore[attr-defined]
    assert len(set(ports)) == 10
