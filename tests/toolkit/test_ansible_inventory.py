"""Inventories read by `ansible-inventory` in a subprocess: Ansible's own parsing, safe from any thread."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from toolkit import ansible_inventory
from toolkit.errors import ConfigurationError, NotFoundError

INVENTORY = """
[pusat_data_pool]
pd-01 ansible_host=10.20.0.11 spbe_vcpu=4
pd-02 ansible_host=10.20.0.12 spbe_vcpu=16

[monitoring]
monitor ansible_connection=local

[datacenter:children]
pusat_data_pool
monitoring

[datacenter:vars]
spbe_csirt_mgmt_cidrs=["10.99.0.0/24"]
"""


def _write(path: Path, text: str = INVENTORY) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_hosts_groups_and_variables_as_ansible_sees_them(tmp_path: Path) -> None:
    inventory = ansible_inventory.load(_write(tmp_path / "hosts.ini"))
    assert [h.name for h in inventory.group("pusat_data_pool")] == ["pd-01", "pd-02"]
    assert [h.name for h in inventory.group("datacenter")] == ["pd-01", "pd-02", "monitor"]
    pd01 = inventory.host("pd-01")
    assert pd01.address == "10.20.0.11" and pd01.vars["spbe_vcpu"] == 4
    assert pd01.vars["spbe_csirt_mgmt_cidrs"] == ["10.99.0.0/24"], "group variables are merged in"
    assert inventory.group("nope") == []
    with pytest.raises(NotFoundError):
        inventory.host("pd-99")


def test_group_vars_beside_the_file_count_and_a_change_is_seen(tmp_path: Path) -> None:
    path = _write(tmp_path / "hosts.ini")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "pusat_data_pool.yml").write_text("spbe_ram_gb: 8\n", encoding="utf-8")
    assert ansible_inventory.load(path).host("pd-02").vars["spbe_ram_gb"] == 8
    time.sleep(0.01)
    (tmp_path / "group_vars" / "pusat_data_pool.yml").write_text("spbe_ram_gb: 32\n", encoding="utf-8")
    assert ansible_inventory.load(path).host("pd-02").vars["spbe_ram_gb"] == 32
    _write(path, INVENTORY.replace("pd-02 ansible_host=10.20.0.12", "pd-03 ansible_host=10.20.0.13"))
    assert [h.name for h in ansible_inventory.load(path).group("pusat_data_pool")] == ["pd-01", "pd-03"]


def test_a_missing_or_broken_inventory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        ansible_inventory.load(tmp_path / "nope.ini")
    with pytest.raises(ConfigurationError, match="cannot be parsed"):
        ansible_inventory.load(_write(tmp_path / "broken.ini", "[pool\npd-01 x=\"\n"))


@pytest.mark.slow  # several processes or a whole-tree scan: the full suite runs it, the fast tier does not
def test_eight_threads_parsing_at_once_get_identical_results(tmp_path: Path) -> None:
    """What broke with Ansible's Python API in worker threads ("module 'ansible.plugins.inventory.ini'
    has no attribute 'InventoryModule'"): eight fresh inventories parsed at the same moment."""
    original = _write(tmp_path / "hosts.ini")
    paths = []
    for i in range(8):
        (tmp_path / f"copy{i}").mkdir()
        paths.append(Path(shutil.copy(original, tmp_path / f"copy{i}" / "hosts.ini")))
    start = threading.Barrier(8)
    results: dict[int, object] = {}
    errors: list[BaseException] = []

    def parse(index: int) -> None:
        start.wait()
        try:
            inventory = ansible_inventory.load(paths[index])
            results[index] = (inventory.hosts, inventory.groups)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=parse, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(results) == 8 and all(r == results[0] for r in results.values())
