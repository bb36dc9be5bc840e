"""Benchmark: configure 50 simulated Cisco IOS switches through the real push path (backup, diff, push, verify).

Starts its own switch lab (50 fake-switches cores on loopback) in a temporary directory, then
times one change pushed to 1 switch and the same kind of change to all 50 with bounded concurrency
(``--workers``, default 50), each ``--repeat`` times (a new VLAN every time, so every run really
pushes), and once to all 50 one after another. Every push does the same work per device: backup,
diff, conflict checks, the config lines one by one with each answer checked, verification read
back from the device. Prints a table of figure, target and measured value (medians); the target
from issue 3 is 50 switches in at most 2x the time of one. CPU seconds of this process (the
client) and of the switch simulator are shown per run, since on 2 cores they decide the result.

    python -m benchmarks.network_bench [--count 50] [--workers 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from lab import network_inventory
from lab.models import SwitchLabState
from lab.switches import SwitchLab
from toolkit.network import build_change, load_inventory
from toolkit.network.fanout import FanoutOptions, FanoutReport, NetworkRunner
from toolkit.network.inventory import NetworkInventory
from toolkit.network.refs import RefResolver
from toolkit.network.session import SessionOptions

PORT = "FastEthernet0/1"


def _inventory(state: SwitchLabState, folder: Path) -> NetworkInventory:
    """The bench site in the lab's form (placeholders), resolved on the running switches by the lab."""
    refs = {"username": state.switches[0].username, "password_ref": "lab:switches/password",
            "secret_ref": "lab:switches/secret"}  # fmt: skip
    devices = [{"name": s.name, "platform": "cisco_ios", "role": "access", "host": f"lab:{s.name}",
                "port": f"lab:{s.name}", "credentials": refs, "trunk_ports": ["GigabitEthernet0/1"]}
               for s in state.switches]  # fmt: skip
    data: dict[str, Any] = {
        "sites": [{"id": "bench", "name": "Bench", "opd": "Bench", "devices": devices,
                   "access_ports": [{"device": s.name, "interfaces": [PORT]} for s in state.switches]}],
        "vlan_pool": {"start": 100, "end": 999}, "ip_pool": {"supernet": "10.20.0.0/16"},
        "apps": [{"id": "simpeg", "name": "SIMPEG", "addresses": ["10.10.0.10/32"],
                  "services": [{"protocol": "tcp", "port": 443}]}],
    }  # fmt: skip
    path = folder / "bench.yml"
    path.write_text(yaml.safe_dump(network_inventory.resolve(data, state.switches, state.name)), encoding="utf-8")
    return load_inventory(path)


def _push(runner: NetworkRunner, inv: NetworkInventory, names: list[str], vlan_id: int) -> tuple[float, FanoutReport]:
    plan = build_change(inv, site="bench", vlan_id=vlan_id, vlan_name=f"BENCH-{vlan_id}", description="bench",
                        subnet=f"10.20.{vlan_id - 200}.0/24", apps=["simpeg"], access_ports={n: [PORT] for n in names},
                        gateway_device=names[0])  # fmt: skip
    started = time.perf_counter()
    report = runner.push(plan)
    elapsed = time.perf_counter() - started
    if not report.ok:
        failed = [(r.device, r.error.message if r.error else r.outcome) for r in report.results if not r.ok]
        raise SystemExit(f"push of VLAN {vlan_id} failed: {failed[:5]}")
    return elapsed, report


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (the switch simulator), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Run:
    """Wall time of one push, with the client's and the simulator's CPU seconds spent meanwhile."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.wall = self.client = self.server = 0.0

    def push(self, runner: NetworkRunner, inv: NetworkInventory, names: list[str], vlan_id: int) -> FanoutReport:
        client, server = time.process_time(), sum(_cpu_s(p) for p in self.pids)
        self.wall, report = _push(runner, inv, names, vlan_id)
        self.client = time.process_time() - client
        self.server = sum(_cpu_s(p) for p in self.pids) - server
        return report


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.network_bench")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the 1-switch and the parallel push")
    parser.add_argument("--no-sequential", action="store_true", help="skip the one-after-another run (~40 s)")
    args = parser.parse_args(argv)
    console = Console()
    ones: list[_Run] = []
    alls: list[_Run] = []
    sequential: _Run | None = None
    with tempfile.TemporaryDirectory(prefix="spbe-netbench-") as tmp:
        folder = Path(tmp)
        lab = SwitchLab(folder / "labs", "netbench", count=args.count)
        started = time.perf_counter()
        state = lab.up()
        lab_up = time.perf_counter() - started
        try:
            inv = _inventory(state, folder)
            names = [s.name for s in state.switches]
            session = SessionOptions(known_hosts=state.known_hosts, conn_timeout=60, auth_timeout=60,
                                     banner_timeout=60, read_timeout=120)  # fmt: skip
            pids = [state.pid]

            def runner(workers: int) -> NetworkRunner:
                return NetworkRunner(inv, RefResolver(), state_dir=folder / "state", session_options=session,
                                     options=FanoutOptions(max_workers=workers, max_devices=args.count))  # fmt: skip

            _push(runner(1), inv, names[1:2], 299)  # warm-up: imports, first key exchange, template compile
            vlan = 300
            for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits both alike
                ones.append(_Run(pids))
                ones[-1].push(runner(1), inv, names[:1], vlan)
                alls.append(_Run(pids))
                report = alls[-1].push(runner(args.workers), inv, names, vlan + 1)
                vlan += 2
            if not args.no_sequential:
                sequential = _Run(pids)
                sequential.push(runner(1), inv, names, vlan)
        finally:
            lab.down()
    one = _median([r.wall for r in ones])
    parallel = _median([r.wall for r in alls])
    per_device = sorted(r.duration_s for r in report.results)
    ratio = parallel / one
    table = Table(title=f"network push: {args.count} simulated switches, {args.workers} workers, "
                        f"median of {args.repeat} runs ({os.cpu_count()} cores)")  # fmt: skip
    for column in ("figure", "target", "measured"):
        table.add_column(column)
    table.add_row("switch lab start", "-", f"{lab_up:.2f} s")
    table.add_row("push to 1 switch (backup+diff+push+verify)", "-",
                  f"{one:.2f} s (runs {', '.join(f'{r.wall:.2f}' for r in ones)})")  # fmt: skip
    table.add_row(f"push to {args.count} switches, parallel", f"<= {2 * one:.2f} s (2x one)",
                  f"{parallel:.2f} s (runs {', '.join(f'{r.wall:.2f}' for r in alls)})")  # fmt: skip
    table.add_row(f"{args.count} switches / 1 switch", "<= 2.0x", f"{ratio:.2f}x {'OK' if ratio <= 2 else 'MISSED'}")
    table.add_row(f"CPU of a {args.count}-switch push: client / simulator", "-",
                  f"{_median([r.client for r in alls]):.2f} s / {_median([r.server for r in alls]):.2f} s")  # fmt: skip
    table.add_row("CPU of a 1-switch push: client / simulator", "-",
                  f"{_median([r.client for r in ones]):.3f} s / {_median([r.server for r in ones]):.3f} s")  # fmt: skip
    if sequential is not None:
        table.add_row(f"push to {args.count} switches, sequential", "-", f"{sequential.wall:.2f} s")
        table.add_row("speed-up over sequential", "> 1", f"{sequential.wall / parallel:.1f}x")
    table.add_row("per-device time in the last parallel run (median / max)", "-",
                  f"{per_device[len(per_device) // 2]:.2f} s / {per_device[-1]:.2f} s")  # fmt: skip
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
