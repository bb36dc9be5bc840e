"""Host allocation per ticket, over a real Ansible inventory file parsed by Ansible, in the SQLite store."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from integrations.state.allocations import HostPool
from toolkit.errors import ConfigurationError, ConflictError
from toolkit.host_pool import allocate_host, pool_hosts

INVENTORY = """
[pusat_data_pool]
pd-01 ansible_host=10.20.0.11 spbe_vcpu=4 spbe_ram_gb=8 spbe_disk_gb=100
pd-02 ansible_host=10.20.0.12 spbe_vcpu=16 spbe_ram_gb=64 spbe_disk_gb=1000

[monitoring]
monitor ansible_connection=local
"""


@pytest.fixture
def hosts(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "hosts.ini"
    path.write_text(INVENTORY)
    return pool_hosts(path)


def test_inventory_is_read_with_capacities(hosts):
    assert [(h.name, h.address, h.vcpu, h.ram_gb) for h in hosts] == [
        ("pd-01", "10.20.0.11", 4, 8), ("pd-02", "10.20.0.12", 16, 64)]


def test_a_ticket_keeps_its_host_and_others_get_another(tmp_path, hosts):
    pool = HostPool(tmp_path / "alloc.db")
    first = allocate_host(pool, "T-1", hosts, 2, 4, 40)
    assert first.name == "pd-01"
    assert allocate_host(pool, "T-1", hosts, 2, 4, 40).name == "pd-01"
    assert allocate_host(pool, "T-2", hosts, 2, 4, 40).name == "pd-02"
    with pytest.raises(ConflictError, match="all 2 host"):
        allocate_host(pool, "T-3", hosts, 2, 4, 40)
    pool.release("T-1")
    assert allocate_host(pool, "T-3", hosts, 2, 4, 40).name == "pd-01"


def test_capacity_is_respected(tmp_path, hosts):
    pool = HostPool(tmp_path / "alloc.db")
    assert allocate_host(pool, "T-big", hosts, 8, 32, 500).name == "pd-02"
    with pytest.raises(ConflictError, match="has 8 vCPU"):
        allocate_host(pool, "T-big-2", hosts, 8, 32, 500)


def test_concurrent_allocations_never_share_a_host(tmp_path, hosts):
    pool = HostPool(tmp_path / "alloc.db")
    got: list[str] = []
    errors: list[Exception] = []

    def take(ticket: str) -> None:
        try:
            got.append(allocate_host(pool, ticket, hosts, 1, 1, 10).name)
        except ConflictError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(f"T-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == ["pd-01", "pd-02"] and len(errors) == 4


def test_missing_inventory_or_group_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        pool_hosts(tmp_path / "nope.ini")
    path = tmp_path / "empty.ini"
    path.write_text("[monitoring]\nmonitor\n")
    with pytest.raises(ConfigurationError, match="pusat_data_pool"):
        pool_hosts(path)


def test_a_host_is_held_per_ticket_and_step(tmp_path, hosts):
    pool = HostPool(tmp_path / "alloc.db")
    first = allocate_host(pool, "T-1", hosts, 1, 1, 10, step_id="instalasi-server")
    assert allocate_host(pool, "T-1", hosts, 1, 1, 10, step_id="instalasi-server") == first, "a retry gets it back"
    assert pool.allocation("T-1", "instalasi-server") == first.name
    assert allocate_host(pool, "T-1", hosts, 1, 1, 10, step_id="instalasi-server-kedua").name != first.name
    pool.close()

