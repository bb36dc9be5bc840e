"""Eight worker threads running inventory-reading jobs at once: no error, the same answer everywhere.

The demo's serve.log had ``worker w1: AttributeError: module 'ansible.plugins.inventory.ini' has no
attribute 'InventoryModule'``: two workers inside Ansible's plugin loader at once. Every inventory read
now goes through `toolkit.ansible_inventory` (a subprocess per parse, one parse per file version).
"""

from __future__ import annotations

import threading
from pathlib import Path

import yaml

from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.engine.worker import work_once
from toolkit.ports.jobs import JobState
from toolkit.settings import load_settings

INVENTORY = {"all": {"children": {
    "pusat_data_pool": {"hosts": {f"pd-{i:02}": {"ansible_host": f"10.20.0.{10 + i}"} for i in range(1, 5)},
                        "vars": {"spbe_csirt_mgmt_cidrs": ["10.99.0.0/24"]}},
    "vpn_site_gateways": {"hosts": {"gw-dinkes": {
        "ansible_host": "127.0.0.1", "spbe_vpn_public_address": "203.0.113.10",
        "spbe_vpn_lan_address": "192.168.10.1"}}},
    "vpn_dc_gateways": {"hosts": {"gw-dc": {
        "ansible_host": "127.0.0.1", "spbe_vpn_public_address": "198.51.100.1", "spbe_vpn_lan_address": "10.100.0.1",
        "spbe_vpn_lan_cidrs": ["10.100.0.0/24"], "spbe_vpn_tunnel_pool": "172.31.255.0/28",
        "spbe_vpn_verify_targets": ["10.100.0.10"]}}},
}}}  # fmt: skip
WORKERS = 8


def _catalog(tmp_path: Path) -> Path:
    """The engine tests' service with its first action step reading the inventory."""
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    text = (TEST_CATALOG / "uji-mesin.yaml").read_text(encoding="utf-8")
    (catalog / "uji-mesin.yaml").write_text(text.replace("action: test.counter,", "action: test.inventory_read,", 1),
                                            encoding="utf-8")
    return catalog


def test_eight_workers_read_the_inventory_at_once(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY), encoding="utf-8")
    settings = load_settings(state_dir=tmp_path / "state", catalog_dir=_catalog(tmp_path), inventory=inventory,
                             extra_actions=(*TEST_ACTIONS, "tests.support.actions:INVENTORY_READER"))
    app = App(settings)
    tickets = []
    for _ in range(WORKERS):
        ticket = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji inventaris", {"instansi": "Dinas Uji"}, [])
        desk.check(app, ticket.id, as_lab("sari"))
        desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui.")
        tickets.append(ticket.id)
    start = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        start.wait()
        try:
            work_once(app, f"w{index}")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert errors == []
    jobs = [j for t in tickets for j in app.queue.list_jobs(ticket_id=t) if j.step_id == "aksi-pertama"]
    assert len(jobs) == WORKERS and {j.state for j in jobs} == {JobState.SUCCEEDED}, [j.error for j in jobs]
    assert len({j.worker for j in jobs}) == WORKERS, "each job ran in its own worker thread"
    facts = [j.result["facts"] for j in jobs if j.result]
    assert facts[0] == {"pool": [[f"pd-{i:02}", f"10.20.0.{10 + i}"] for i in range(1, 5)], "dc_gateway": "gw-dc",
                        "site_gateway": "gw-dinkes", "csirt_cidrs": ["10.99.0.0/24"]}
    assert all(f == facts[0] for f in facts)
