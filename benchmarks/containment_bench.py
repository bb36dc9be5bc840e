"""Benchmark: from approval of a containment to isolation verified by traffic (issue 5: at most 5 s).

Starts its own lab with the incident part (affected host with web server, attacker and CSIRT namespaces),
opens an insiden-siber ticket and has it verified, then per round: the CSIRT's decision (``isolate_host``
called: policy, record, playbook over SSH) until the attacker's HTTP GET fails while the CSIRT host still
gets the SSH banner, then the release until the attacker reaches the web server again. The first round
also pays for the SSH master connection; the table shows every round's median and worst. A second series
runs with Ansible pipelining off, to show what the optimisation buys.

    python -m benchmarks.containment_bench [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lab import probe
from lab.manager import LabManager
from lab.models import LabIncident
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.containment import host as host_mod
from toolkit.containment.models import ContainmentKind, IsolateHostRequest, ReleaseRequest
from toolkit.containment.service import ContainmentService
from toolkit.domain.principal import AuthMethod
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.settings import load_settings

TARGET_S = 5.0


def _wait(check: Callable[[], bool], timeout_s: float = 10.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError("traffic did not reach the expected state")
        time.sleep(0.01)
    return time.monotonic()


def _isolated(ir: LabIncident) -> bool:
    attacker = probe.http_get(ir.attacker_netns, ir.affected_address, ir.web_port, 0.3)
    csirt = probe.ssh_banner(ir.csirt_netns, ir.affected_address, 22, 1.0)
    return not attacker.ok and csirt.ok


def _open(ir: LabIncident) -> bool:
    return probe.http_get(ir.attacker_netns, ir.affected_address, ir.web_port, 0.3).ok


def _ticket(app: App) -> str:
    files = [AttachmentUpload(name="layar.png", media_type="image/png", content=b"\x89PNG", kind="tangkapan_layar"),
             AttachmentUpload(name="log.txt", media_type="text/plain", content=b"log", kind="log_sistem"),
             AttachmentUpload(name="ktp.pdf", media_type="application/pdf", content=b"%PDF", kind="kartu_identitas")]
    ticket = desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Benchmark penahanan", {
        "pelapor_nama": "Lina", "pelapor_kontak": "lina@example.go.id", "objek_terdampak": "ir-web-01",
        "deskripsi": "benchmark", "ada_backup": True}, files)
    desk.approve(app, ticket.id, as_lab("sari"), "Terverifikasi")
    return ticket.id


def _series(app: App, ir: LabIncident, ticket: str, rounds: int) -> tuple[list[float], list[float], list[float]]:
    contain, playbook, release = [], [], []
    service = ContainmentService(app)
    for _ in range(rounds):
        assert _open(ir)
        started = time.monotonic()  # the CSIRT's approval of the containment
        record = service.isolate_host(IsolateHostRequest(ticket_id=ticket, actor="rina", auth=AuthMethod.LAB_AS,
                                                         host="ir-web-01"))
        contain.append(_wait(lambda: _isolated(ir)) - started)
        playbook.append(float(record.applied["duration_s"]))
        started = time.monotonic()
        service.release(ReleaseRequest(ticket_id=ticket, actor="rina", auth=AuthMethod.LAB_AS,
                                       kind=ContainmentKind.ISOLATE_HOST,
                                       target="ir-web-01"))
        release.append(_wait(lambda: _open(ir)) - started)
    return contain, playbook, release


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="spbe-contain-bench-") as tmp:
        manager = LabManager(Path(tmp) / "lab", "bench-ir", switches=0, vpn=False, incident=True,
                             with_prometheus=False)
        state = manager.up()
        try:
            assert state.incident is not None
            ir = state.incident
            settings = load_settings(state.config_file, state_dir=Path(tmp) / "state")  # the lab's spbe.toml
            app = App(settings)
            ticket = _ticket(app)
            fast = _series(app, ir, ticket, args.rounds)
            saved = dict(host_mod.FAST_ENV)
            host_mod.FAST_ENV.clear()
            try:
                slow = _series(app, ir, ticket, max(2, args.rounds // 2))
            finally:
                host_mod.FAST_ENV.update(saved)
        finally:
            manager.down()
    table = Table(title="containment: approval -> isolation verified by traffic (lab, 2 cores)")
    for column in ("figure", "target", "median", "worst", "ok"):
        table.add_column(column)

    def row(name: str, values: list[float], target: float | None) -> None:
        worst = max(values)
        ok = "-" if target is None else ("yes" if worst <= target else "NO")
        table.add_row(name, f"<= {target:.1f} s" if target else "-", f"{statistics.median(values):.2f} s",
                      f"{worst:.2f} s", ok)

    row("approval -> isolated by traffic (pipelining on)", fast[0], TARGET_S)
    row("  of which the isolation playbook", fast[1], None)
    row("release -> attacker reaches the web server again", fast[2], None)
    row("approval -> isolated by traffic (pipelining off)", slow[0], TARGET_S)
    row("  of which the isolation playbook", slow[1], None)
    console.print(table)
    return 0 if max(fast[0]) <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
