"""Two `spbe serve` processes on one state directory, allocating from the same pools at once.

Allocation happens when a job runs, in one ``BEGIN IMMEDIATE`` SQLite transaction per allocator, so
no pool host, VLAN, subnet, access port or tunnel slot is handed out twice, whichever process (and
worker thread) runs the ticket; and a ticket's allocations are its own on every later call.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import TEST_ACTIONS, TEST_CATALOG, engine_env, spbe_argv
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.ports.jobs import JobState
from toolkit.settings import load_settings

pytestmark = pytest.mark.slow  # processes of their own (spbe serve, a browser, mypy): the full suite runs these

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


class _Serve:
    """`spbe serve` in a subprocess, its log read as it comes (to know when it is up, and to show it)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(spbe_argv("serve", "--workers", "2", "--duration", "90"), env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def up(self) -> bool:
        assert self.proc.poll() is None, "\n".join(self.lines[-20:])
        return any("worker(s)" in line for line in self.lines)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


def _wait(until: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_two_serve_processes_never_allocate_the_same_thing_twice(tmp_path: Path) -> None:
    state_dir, catalog, inventory = tmp_path / "state", _catalog(tmp_path), tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY), encoding="utf-8")
    actions = (*TEST_ACTIONS, "tests.support.actions:ALLOCATOR")
    app = App(load_settings(state_dir=state_dir, catalog_dir=catalog, inventory=inventory, extra_actions=actions))
    env = engine_env(state_dir, SPBE_CATALOG_DIR=str(catalog), SPBE_INVENTORY=str(inventory),
                     SPBE_EXTRA_ACTIONS='["' + '","'.join(actions) + '"]')
    servers = [_Serve(env) for _ in range(2)]
    tickets: list[str] = []

    def allocated() -> list[dict[str, object]]:
        jobs = [j for t in tickets for j in app.queue.list_jobs(ticket_id=t) if j.step_id == "aksi-pertama"]
        failed = [j.error for j in jobs if j.state == JobState.FAILED]
        assert not failed, failed
        return [j.result["facts"] for j in jobs if j.state == JobState.SUCCEEDED and j.result]

    try:
        _wait(lambda: all(s.up() for s in servers), "both spbe serve processes start")  # then the work comes in
        for _ in range(TICKETS):
            ticket = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji alokasi",
                                      {"instansi": "Dinas Uji", "jeda_detik": 1}, [])
            desk.check(app, ticket.id, as_lab("sari"))
            desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui.")
            tickets.append(ticket.id)
        _wait(lambda: len(allocated()) == TICKETS and all(s.up() for s in servers), "every ticket allocated")
    finally:
        for server in servers:
            server.stop()
    facts = allocated()
    assert len({f["pid"] for f in facts}) == 2, "both processes took part"
    hosts = [f["host"] for f in facts if f["host"] is not None]
    assert len(hosts) == POOL and len(set(hosts)) == POOL, hosts
    for key in ("vlan_id", "subnet", "tunnel_slot"):
        values = [f[key] for f in facts]
        assert len(set(values)) == TICKETS, (key, Counter(values))
    ports = [p for f in facts for p in f["ports"]]  # type: ignore[attr-defined]
    assert len(ports) == len(set(ports)) == TICKETS
