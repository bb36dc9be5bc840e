"""Distributed engine benchmarks (issue 19): Celery + a private Redis, worker processes `spbe serve --role worker`.

    python -m benchmarks.distributed_bench [--processes 1,2,4,8] [--per-worker 20] [--latency-runs 10]
                                           [--store sqlite|postgres|both]

1. Throughput with an I/O-bound action (sleeps 200 ms, like an SSH round trip) at 1, 2, 4 and 8 worker
   processes (solo pool, one job at a time each): target >= 0.8 x linear (linear = P / 0.2 s jobs/s). The
   tickets are approved first with the broker unused (the jobs wait in the store); the clock starts when the
   trigger's sweep publishes them all (`republish_overdue`, the path a lost message takes) and stops when every
   job succeeded and every result is on its ticket (the outbox is empty). The workers are started and answer a
   Celery ping before the clock starts: a worker's start-up is not part of the figure.
2. Approval -> first action start, p50, through the distributed path (approve -> enqueue -> publish -> a worker
   claims by id -> the action starts): target <= 300 ms. The clock starts just before `approve` and stops at
   the time the action wrote when it started.

Besides the figures: the workers' CPU time per job (user + system of the worker processes, from /proc),
which is what a host's capacity depends on; the machine is shared, so wall figures are "measured under load".
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.figures import print_figures
from tests.support.principals import as_lab
from tests.support.smtp_sink import free_port
from toolkit.actions.base import ActionContext, ActionPlan, ActionResult, BaseAction, RunContext
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.ports.jobs import JobState
from toolkit.settings import load_settings

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SLEEP_S = 0.2


class SleepAction(BaseAction):
    """The bench catalog's ``test.noop`` step made I/O-bound: 200 ms asleep; its start time in a file."""

    name = "test.noop"
    idempotent = True

    def plan(self, ctx: ActionContext) -> ActionPlan:
        return ActionPlan(action=self.name)

    def execute(self, ctx: ActionContext, plan: ActionPlan, run: RunContext) -> ActionResult:
        fd = os.open(ctx.settings.state_dir / "starts.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, f"{ctx.ticket.id} {time.time():.6f}\n".encode())
        finally:
            os.close(fd)
        time.sleep(SLEEP_S)
        return ActionResult(ok=True, summary="slept", comment="Selesai.")


SLEEP = SleepAction()


def _env(state_dir: Path, broker: str, store: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"SPBE_STATE_DIR": str(state_dir), "SPBE_CATALOG_DIR": str(HERE / "catalog"),
                "SPBE_EXTRA_ACTIONS": '["benchmarks.distributed_bench:SLEEP"]', "SPBE_DEPLOYMENT": "lab",
                "SPBE_WORKERS__WARM_INVENTORY": "false", "SPBE_ENGINE__KIND": "celery", "SPBE_BROKER_URL": broker,
                "SPBE_ENGINE__REPUBLISH_AFTER_S": "3600",
                "PYTHONPATH": f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}",
                **store})
    return env


def _cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds of the processes and their children that ended (from /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


class Bench:
    """A private Redis, the worker processes of one measurement, and (PostgreSQL) a fresh database for each."""

    def __init__(self, cluster: Any = None) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="spbe-dbench-"))
        self.port = free_port()
        self.broker = f"redis://127.0.0.1:{self.port}/0"
        self.redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                       "--appendonly", "no", "--dir", str(self.tmp)], stdout=subprocess.DEVNULL)
        self.cluster = cluster
        self.store: dict[str, str] = {}
        self.workers: list[subprocess.Popen[bytes]] = []

    def fresh_store(self) -> None:
        """Every store on a new PostgreSQL database (nothing left from the previous measurement), or SQLite."""
        if self.cluster is not None:
            self.store = _on_postgres(self.cluster.dsn(self.cluster.fresh_database()))

    def app(self, state_dir: Path, kind: str = "celery", republish_after_s: str = "3600") -> App:
        state_dir.mkdir(mode=0o700, exist_ok=True)  # the action's start times go there (on PostgreSQL nothing else)
        os.environ.update({k: v for k, v in _env(state_dir, self.broker, self.store).items() if k.startswith("SPBE_")})
        os.environ["SPBE_ENGINE__KIND"] = kind
        os.environ["SPBE_ENGINE__REPUBLISH_AFTER_S"] = republish_after_s
        return App(load_settings())

    def start_workers(self, state_dir: Path, count: int) -> None:
        argv = [sys.executable, "-m", "toolkit.cli.main", "serve", "--role", "worker", "--pool", "solo",
                "--workers", "1"]
        self.workers = [subprocess.Popen(argv, env=_env(state_dir, self.broker, self.store),
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(count)]
        from integrations.celery.app import make_celery

        celery = make_celery(load_settings())
        deadline = time.monotonic() + 180
        while len(celery.control.ping(timeout=1.0) or []) < count:
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not start")
        celery.close()

    def stop_workers(self) -> None:
        for proc in self.workers:
            proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            proc.wait(timeout=60)

    def close(self) -> None:
        self.redis.kill()
        self.redis.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _approved(app: App, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        ticket = desk.open_ticket(app, "bench", as_lab("andi"), "Uji kinerja", {"instansi": "Dinas Uji"}, [])
        desk.approve(app, ticket.id, as_lab("kadis"), "uji kinerja")
        ids.append(ticket.id)
    return ids


def throughput(bench: Bench, processes: int, per_worker: int) -> tuple[float, float]:
    """(jobs/s, worker CPU s per job) of ``processes`` workers over ``processes * per_worker`` jobs."""
    from toolkit.engine.distributed import republish_overdue

    state_dir = bench.tmp / f"p{processes}"
    bench.fresh_store()
    setup = bench.app(state_dir, kind="local")  # approvals enqueue; nothing is published yet
    n_jobs = processes * per_worker
    _approved(setup, n_jobs)
    setup.close()
    bench.start_workers(state_dir, processes)
    cpu0 = _cpu_of([w.pid for w in bench.workers])
    app = bench.app(state_dir, republish_after_s="0.000001")  # every queued job is "overdue": publish all
    t0 = time.perf_counter()
    republish_overdue(app)
    while app.queue.list_jobs(state=JobState.QUEUED, limit=1) or app.queue.list_jobs(state=JobState.RUNNING, limit=1) \
            or app.queue.outbox_pending_count() > 0:  # cheap reads: this loop shares the cores with the workers
        time.sleep(0.01)
    _no_failures(app)
    assert len(app.queue.list_jobs(state=JobState.SUCCEEDED, limit=n_jobs + 1)) == n_jobs
    wall = time.perf_counter() - t0
    cpu = _cpu_of([w.pid for w in bench.workers]) - cpu0
    app.close()
    bench.stop_workers()
    return n_jobs / wall, cpu / n_jobs


def _no_failures(app: App) -> None:
    failed = app.queue.list_jobs(state=JobState.FAILED, limit=1)
    if failed:
        raise SystemExit(f"job {failed[0].id} failed: {failed[0].error}")


def approval_latency(bench: Bench, runs: int) -> list[float]:
    state_dir = bench.tmp / "latency"
    bench.fresh_store()
    app = bench.app(state_dir)
    bench.start_workers(state_dir, 2)
    latencies = []
    for _ in range(runs):
        ticket = desk.open_ticket(app, "bench", as_lab("andi"), "Uji kinerja", {"instansi": "Dinas Uji"}, [])
        started = time.time()
        desk.approve(app, ticket.id, as_lab("kadis"), "uji kinerja")
        starts = state_dir / "starts.log"
        while True:
            lines = [ln.split() for ln in (starts.read_text().splitlines() if starts.exists() else [])]
            hit = [float(t) for tid, t in lines if tid == ticket.id]
            if hit:
                latencies.append(hit[0] - started)
                break
            _no_failures(app)
            time.sleep(0.002)
        time.sleep(SLEEP_S + 0.1)
    app.close()
    bench.stop_workers()
    return latencies


def _on_postgres(dsn: str) -> dict[str, str]:
    """Every store on it (the desk, the queue, the state, the audit chain), as on several hosts (docs/deploy.md)."""
    return {**{f"SPBE_{store}__KIND": "postgres" for store in ("TICKETS", "QUEUE", "STATE", "AUDIT")},
            "SPBE_SECRETS__POSTGRES_DSN__REF": "env:SPBE_BENCH_PG_DSN", "SPBE_BENCH_PG_DSN": dsn}


def _cluster(kind: str) -> Any:
    if kind == "sqlite":
        return None
    from tests.support.postgres import PostgresCluster

    cluster = PostgresCluster()
    cluster.start()
    return cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,2,4,8")
    parser.add_argument("--per-worker", type=int, default=20)
    parser.add_argument("--latency-runs", type=int, default=10)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="sqlite")
    args = parser.parse_args()
    rows = []
    for kind in (["sqlite", "postgres"] if args.store == "both" else [args.store]):
        cluster = _cluster(kind)
        bench = Bench(cluster)
        try:
            for p in [int(x) for x in args.processes.split(",")]:
                rate, cpu = throughput(bench, p, args.per_worker)
                linear = p / SLEEP_S
                rows.append((f"\\[{kind}] throughput, 200 ms action, {p} worker process(es)", ">= 0.8 x linear",
                             f"{rate:.1f} jobs/s = {rate / linear:.2f} x linear ({linear:.0f}); "
                             f"worker CPU {cpu * 1000:.0f} ms/job"))
            lat = approval_latency(bench, args.latency_runs)
            rows.append((f"\\[{kind}] approval -> first action, p50 (distributed)", "<= 300 ms",
                         f"{statistics.median(lat) * 1000:.0f} ms (max {max(lat) * 1000:.0f} ms, n={len(lat)})"))
        finally:
            bench.close()
            if cluster is not None:
                cluster.stop()
    print_figures("Distributed engine (Celery + Redis), measured under load", rows)


if __name__ == "__main__":
    main()
