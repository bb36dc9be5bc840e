"""Benchmark: push a change to 1, 50 and N simulated Cisco IOS switches through the real push path.

Starts its own switch lab (``--count`` fake-switches cores served by one process on loopback) in a
temporary directory, then times one change pushed to 1 switch, to 50 and to all ``--count`` in parallel
(``--workers``, default one per switch up to 64), each ``--repeat`` times, interleaved (a new VLAN every time, so every
run really pushes); and once to 50 one after another. Every push does the same work per device, in one
SSH session: backup, diff, conflict checks, the config lines in checked batches, verification read
back from the device. Prints figure, target (issue 15) and measured value (medians), with the CPU
seconds of this process (the client) and of the switch simulator, since on 2 cores they decide the
larger runs: the "CPU floor" row is their sum divided by the cores, the shortest wall time that CPU
allows however little anything waits.

``--profile`` first prints where one 1-switch push spends its time, phase by phase, as its session
timed them (`DeviceSession.profile`), and how many SSH sessions the switch saw for it.

    python -m benchmarks.network_bench [--count 50|500] [--workers N] [--repeat 5] [--profile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from lab import network_inventory
from lab.models import SwitchLabState
from lab.switches import SwitchLab, session_events
from toolkit.network import build_change, load_inventory
from toolkit.network.fanout import FanoutOptions, FanoutReport, NetworkRunner
from toolkit.network.inventory import NetworkInventory
from toolkit.network.refs import RefResolver, ResolvedDevice
from toolkit.network.session import DeviceSession, SessionOptions

PORT = "FastEthernet0/1"
TARGETS_S = {1: 0.3, 50: 0.6, 500: 3.0}  # issue 15, item 2


def _inventory(state: SwitchLabState, folder: Path, site_cap: int) -> NetworkInventory:
    """The bench site in the lab's form (placeholders), resolved on the running switches by the lab."""
    # One simulator process answers every switch: with hundreds of sessions at once on a busy machine
    # a prompt may take longer than the 10 s a real switch gets.
    timing = {"cisco_ios": {"prompt_timeout_s": 120, "command_timeout_s": 120, "config_timeout_s": 120}}
    data = network_inventory.one_site(state.switches, state.name, "bench", [PORT], timing=timing,
                                      max_sessions=site_cap)
    path = folder / "bench.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_inventory(path)


def _push(runner: NetworkRunner, inv: NetworkInventory, names: list[str], vlan_id: int) -> tuple[float, FanoutReport]:
    plan = build_change(inv, site="bench", vlan_id=vlan_id, vlan_name=f"BENCH-{vlan_id}", description="bench",
                        subnet=f"10.20.{vlan_id - 200}.0/24", apps=["simpeg"], access_ports={n: [PORT] for n in names},
                        gateway_device=names[0])  # fmt: skip
    started = time.perf_counter()
    report = runner.push(plan)
    elapsed = time.perf_counter() - started
    if not report.ok:
        failed = [(r.device, r.error.message if r.error else r.outcome) for r in report.results
                  if not r.ok and (r.error is None or r.error.kind != "RolledBack")]  # the cause, not the undone
        raise SystemExit(f"push of VLAN {vlan_id} failed: {failed[:5]}")
    return elapsed, report


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (the switch simulator), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Run:
    """Wall time of one push, with the client's and the simulator's CPU seconds spent meanwhile."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.wall = self.client = self.server = 0.0
        self.report: FanoutReport | None = None

    def push(self, runner: NetworkRunner, inv: NetworkInventory, names: list[str], vlan_id: int) -> _Run:
        client, server = time.process_time(), _cpu_s(self.pid)
        self.wall, self.report = _push(runner, inv, names, vlan_id)
        self.client = time.process_time() - client
        self.server = _cpu_s(self.pid) - server
        return self


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _profile(console: Console, runner: NetworkRunner, inv: NetworkInventory, state: SwitchLabState, name: str,
             vlan_id: int) -> None:  # fmt: skip
    """One 1-switch push, phase by phase as its session timed them, and the sessions the switch saw."""
    sessions: list[DeviceSession] = []

    def connect(device: ResolvedDevice, options: SessionOptions) -> DeviceSession:
        session = DeviceSession(device, options)
        sessions.append(session)
        return session

    runner._connect = connect
    mark = len(session_events(state))
    wall, _ = _push(runner, inv, [name], vlan_id)
    opened = sum(1 for _, switch, delta in session_events(state)[mark:] if delta == 1 and switch == name)
    runner._connect = DeviceSession
    table = Table(title=f"where one push to 1 switch goes: {wall * 1000:.1f} ms, {len(sessions)} session(s) "
                        f"opened by the client, {opened} seen by the switch")  # fmt: skip
    for column in ("phase", "ms", "share"):
        table.add_column(column)
    in_session = 0.0
    for session in sessions:
        for phase, seconds in session.profile:
            in_session += seconds
            table.add_row(phase, f"{seconds * 1000:.1f}", f"{seconds / wall:.0%}")
    rest = wall - in_session
    table.add_row("outside the session: render, diff, parse, backup file, fan-out", f"{rest * 1000:.1f}",
                  f"{rest / wall:.0%}")  # fmt: skip
    console.print(table)


class _Sessions:
    """``count`` bare sessions in parallel (connect, prepare, enable, exit): the part of a push's CPU that
    is SSH and login alone, whatever the push does inside."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.wall = self.client = self.server = 0.0

    def run(self, devices: list[ResolvedDevice], options: SessionOptions, workers: int) -> _Sessions:
        def one(device: ResolvedDevice) -> None:
            with DeviceSession(device, options):
                pass

        client, server, started = time.process_time(), _cpu_s(self.pid), time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, devices))
        self.wall = time.perf_counter() - started
        self.client = time.process_time() - client
        self.server = _cpu_s(self.pid) - server
        return self


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.network_bench")
    parser.add_argument("--count", type=int, default=50, help="switches in the lab; pushes to 1, 50 and all")
    parser.add_argument("--workers", type=int, default=0,
                        help="sessions at once (default: one per switch up to 64; more threads cost the client "
                             "more CPU than they save on 2 cores: 500 switches took 4.8 s CPU with 64, 9.6 s with "
                             "500)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=5, help="runs of each size")
    parser.add_argument("--profile", action="store_true", help="print where one 1-switch push spends its time")
    parser.add_argument("--no-sequential", action="store_true", help="skip the one-after-another run")
    args = parser.parse_args(argv)
    workers = args.workers or min(args.count, 64)
    sizes = sorted({1, min(50, args.count), args.count})
    console = Console()
    runs: dict[int, list[_Run]] = {size: [] for size in sizes}
    sequential: _Run | None = None
    bare: _Sessions | None = None
    with tempfile.TemporaryDirectory(prefix="spbe-netbench-") as tmp:
        folder = Path(tmp)
        lab = SwitchLab(folder / "labs", "netbench", count=args.count, start_timeout_s=60 + args.count / 5)
        started = time.perf_counter()
        state = lab.up()
        lab_up = time.perf_counter() - started
        try:
            inv = _inventory(state, folder, site_cap=workers)
            names = [s.name for s in state.switches]
            session = SessionOptions(known_hosts=state.known_hosts, conn_timeout=60, auth_timeout=60,
                                     banner_timeout=60, read_timeout=120)  # fmt: skip

            def runner(threads: int) -> NetworkRunner:
                return NetworkRunner(inv, RefResolver(), state_dir=folder / "state", session_options=session,
                                     options=FanoutOptions(max_workers=threads, max_devices=args.count))  # fmt: skip

            _push(runner(1), inv, names[1:2], 299)  # warm-up: imports, first key exchange, template compile
            vlan = 300
            if args.profile:
                _profile(console, runner(1), inv, state, names[0], vlan)
                vlan += 1
            for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits every size alike
                for size in sizes:
                    runs[size].append(_Run(state.pid).push(runner(min(workers, size)), inv, names[:size], vlan))
                    vlan += 1
            resolved = [RefResolver().device(d) for d in inv.devices()]
            bare = _Sessions(state.pid).run(resolved, runner(1).session_options, workers)
            if not args.no_sequential:
                sequential = _Run(state.pid).push(runner(1), inv, names[:50], vlan)
        finally:
            lab.down()
    cores = os.cpu_count() or 1
    table = Table(title=f"network push: {args.count} simulated switches (one simulator process), {workers} workers, "
                        f"site cap {workers}, median of {args.repeat} runs ({cores} cores)")  # fmt: skip
    for column in ("figure", "target", "measured"):
        table.add_column(column)
    table.add_row("switch lab start", "-", f"{lab_up:.2f} s")
    for size in sizes:
        wall = _median([r.wall for r in runs[size]])
        target = TARGETS_S.get(size)
        verdict = "" if target is None else (" OK" if wall <= target else " MISSED")
        what = "1 switch" if size == 1 else f"{size} switches in parallel"
        table.add_row(f"push to {what} (backup+diff+push+verify)", f"<= {target:.1f} s" if target else "-",
                      f"{wall:.2f} s{verdict} (runs {', '.join(f'{r.wall:.2f}' for r in runs[size])})")  # fmt: skip
        client = _median([r.client for r in runs[size]])
        server = _median([r.server for r in runs[size]])
        table.add_row(f"  CPU client / simulator ({size})", "-",
                      f"{client:.2f} s / {server:.2f} s = {(client + server) / size * 1000:.1f} ms per switch")
        table.add_row(f"  CPU floor on {cores} cores ({size})", "-", f"{(client + server) / cores:.2f} s")
        last = runs[size][-1].report
        if size > 1 and last is not None:
            per_device = sorted(r.duration_s for r in last.results)
            table.add_row(f"  per-device time, last run ({size}): median / max", "-",
                          f"{per_device[len(per_device) // 2]:.2f} s / {per_device[-1]:.2f} s")  # fmt: skip
    if bare is not None:
        table.add_row(f"{args.count} bare sessions in parallel (SSH + login + exit, no push)", "-",
                      f"{bare.wall:.2f} s; CPU client / simulator {bare.client:.2f} s / {bare.server:.2f} s, "
                      f"floor on {cores} cores {(bare.client + bare.server) / cores:.2f} s")  # fmt: skip
    if sequential is not None:
        parallel = _median([r.wall for r in runs[min(50, args.count)]])
        table.add_row(f"push to {min(50, args.count)} switches, sequential", "-", f"{sequential.wall:.2f} s")
        table.add_row("speed-up of parallel over sequential", "> 1", f"{sequential.wall / parallel:.1f}x")
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
