"""Two `spbe serve` processes on one state directory, allocating from the same pools at once.

Allocation happens when a job runs, in one ``BEGIN IMMEDIATE`` SQLite transaction per allocator, so
no pool host, VLAN, subnet, access port or tunnel slot is handed out twice, whichever process (and
worker thread) runs the ticket; and a ticket's allocations are its own on every later call.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from pathlib import Path

import yaml

from tests.conftest import TEST_ACTIONS, TEST_CATALOG, engine_env, spbe_argv
from tests.support.principals import as_lab
from toolkit.engine import desk
from toolkit.engine.app import App
from toolkit.jobs import JobState
from toolkit.settings import load_settings

POOL = 4
TICKETS = 8
INVENTORY = {"all": {"children": {
    "pusat_data_pool": {"hosts": {f"pd-{i:02}": {"ansible_host": f"10.20.0.{10 + i}"} for i in range(1, POOL + 1)}},
    "vpn_dc_gateways": {"hosts": {"gw-dc": {
        "ansible_host": "127.0.0.1", "spbe_vpn_public_address": "198.51.100.1", "spbe_vpn_lan_address": "10.100.0.1",
        "spbe_vpn_lan_cidrs": ["10.100.0.0/24"], "spbe_vpn_tunnel_pool": "172.31.255.0/26",
        "spbe_vpn_verify_targets": ["10.100.0.10"]}}},
}}}  # fmt: skip


def _catalog(tmp_path: Path) -> Path:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    text = (TEST_CATALOG / "uji-mesin.yaml").read_text(encoding="utf-8")
    (catalog / "uji-mesin.yaml").write_text(text.replace("action: test.counter,", "action: test.allocate,", 1),
                                            encoding="utf-8")
    return catalog


def test_two_serve_processes_never_allocate_the_same_thing_twice(tmp_path: Path) -> None:
    state_dir, catalog, inventory = tmp_path / "state", _catalog(tmp_path), tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY), encoding="utf-8")
    actions = (*TEST_ACTIONS, "tests.support.actions:ALLOCATOR")
    app = App(load_settings(state_dir=state_dir, catalog_dir=catalog, inventory=inventory, extra_actions=actions))
    tickets = []
    for _ in range(TICKETS):
        ticket = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji alokasi",
                                  {"instansi": "Dinas Uji", "jeda_detik": 1}, [])
        desk.check(app, ticket.id, as_lab("sari"))
        desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui.")
        tickets.append(ticket.id)
    env = engine_env(state_dir, SPBE_CATALOG_DIR=str(catalog), SPBE_INVENTORY=str(inventory),
                     SPBE_EXTRA_ACTIONS='["' + '","'.join(actions) + '"]')
    procs = [subprocess.Popen(spbe_argv("serve", "--workers", "2", "--duration", "60"), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]

    def allocated() -> list[dict[str, object]]:
        jobs = [j for t in tickets for j in app.queue.list_jobs(ticket_id=t) if j.step_id == "aksi-pertama"]
        return [j.result["facts"] for j in jobs if j.state == JobState.SUCCEEDED and j.result]

    try:
        deadline = time.monotonic() + 90
        while len(allocated()) < TICKETS:
            for p in procs:
                assert p.poll() is None, p.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, [j.error for t in tickets for j in app.queue.list_jobs(ticket_id=t)]
            time.sleep(0.2)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=60)
            p.stderr.close()  # type: ignore[union-attr]
    facts = allocated()
    assert len({f["pid"] for f in facts}) == 2, "both processes took part"
    hosts = [f["host"] for f in facts if f["host"] is not None]
    assert len(hosts) == POOL and len(set(hosts)) == POOL, hosts
    for key in ("vlan_id", "subnet", "tunnel_slot"):
        values = [f[key] for f in facts]
        assert len(set(values)) == TICKETS, (key, Counter(values))
    ports = [p for f in facts for p in f["ports"]]  # type: ignore[attr-defined]
    assert len(ports) == len(set(ports)) == TICKETS
