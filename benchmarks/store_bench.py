"""The store benchmarks of issue 19: the same no-op workload on SQLite and on PostgreSQL, in one run.

    python -m benchmarks.store_bench [--jobs 10000] [--processes 1,2,4] [--batch 16] [--only queue|engine]

1. Engine throughput, no-op action, N jobs: `spbe serve`'s `Server` in this process (engine_bench.throughput:
   approvals made first, the clock runs until every job succeeded and every result is on its ticket), with
   the queue on SQLite, then on PostgreSQL. One process: the engine's Python per job (the ticket store, the
   audit chain, the plan check) is what bounds it, not the queue; the figure shows what the queue adds.
2. Queue throughput, no-op jobs, N jobs: P worker processes doing what a worker does with the queue (claim a
   batch, finish it with a log line and an outbox row per job) until it is empty: target >= 1 000 jobs/s on
   PostgreSQL. CPU per job: the workers' (their rusage) and, on PostgreSQL, the server's (its processes' CPU
   from /proc, the exited ones included through the postmaster's reaped-children times).

The PostgreSQL is a private cluster started here (tests/support/postgres.py: fsync off, as in the tests: the
figures are the store's CPU and locking, not a disk's fsync rate). The machine is shared: compare the CPU per
job; wall-clock figures are measured under load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks import engine_bench
from benchmarks.engine_bench import throughput
from benchmarks.figures import print_figures
from tests.support.postgres import PostgresCluster, postgres_missing
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import EventKind
from toolkit.engine.server import Server
from toolkit.ports.jobs import JobFinish, JobPlan, JobSpec, JobState, event_item
from toolkit.settings import AdapterSettings, SecretRef, load_settings

REPO = Path(__file__).resolve().parent.parent
DSN_ENV = "SPBE_BENCH_PG_DSN"


def _server_cpu(cluster: PostgresCluster) -> float:
    """CPU seconds of the cluster's processes so far: the postmaster, its reaped children, its live ones."""
    tick = os.sysconf("SC_CLK_TCK")
    master = int((cluster.data / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == master:
            total += sum(int(f) for f in fields[11:15]) / tick  # utime stime cutime cstime
        elif ppid == master:
            total += sum(int(f) for f in fields[11:13]) / tick
    return total


def _settings_for(kind: str, state_dir: Path) -> dict[str, Any]:
    if kind == "sqlite":
        return {"state_dir": state_dir}
    return {"state_dir": state_dir, "queue": AdapterSettings(kind="postgres", options={"pool_max": 4}),
            "secrets": {"postgres_dsn": SecretRef(ref=f"env:{DSN_ENV}")}}


def _fresh(kind: str, cluster: PostgresCluster | None) -> None:
    if kind == "postgres" and cluster is not None:
        os.environ[DSN_ENV] = cluster.dsn(cluster.fresh_database("bench"))


# -- 2. the queue alone, P processes ----------------------------------------------------------------
def worker_child(batch: int, go: Path) -> None:
    """One worker process: claim and finish until the queue is empty (settings from the environment). Prints
    its CPU seconds from the start signal to its last finish, the wall instant of that finish and its jobs."""
    app = App(load_settings())
    queue = app.queue
    queue.get_cursor("warm-up")  # the pool's first connection, before the clock starts
    while not go.exists():
        time.sleep(0.001)
    cpu0, last, done = time.process_time(), time.time(), 0
    name = f"bench-{os.getpid()}"
    idle = 0
    while idle < 2:
        jobs = queue.claim_batch(name, 60.0, batch)
        if not jobs:
            idle += 1
            time.sleep(0.01)
            continue
        idle = 0
        queue.finish_many([JobFinish(j.id, j.lease_token or "", JobState.SUCCEEDED, {"ok": True}, None,
                                     [event_item(j.ticket_id, f"done:{j.id}", EventKind.COMMENT, "selesai")],
                                     ["no-op"]) for j in jobs])
        done += len(jobs)
        last = time.time()
    print(time.process_time() - cpu0, last, done)
    app.close()


def queue_throughput(kind: str, n_jobs: int, processes: int, batch: int,
                     cluster: PostgresCluster | None) -> tuple[float, float, float, int]:
    """(jobs/s from the start signal to the last finish, worker CPU ms per job, server CPU ms per job,
    jobs succeeded)."""
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        _fresh(kind, cluster)
        app = App(load_settings(**_settings_for(kind, state_dir)))
        for i in range(n_jobs):
            app.queue.enqueue(JobSpec(ticket_id=f"T-{i}", step_id="s", action="test.noop", idempotent=True,
                                      idempotency_key=f"T-{i}:s", planned=JobPlan()))
        env = {**os.environ, "PYTHONPATH": str(REPO), "SPBE_STATE_DIR": str(state_dir)}
        if kind == "postgres":
            env |= {"SPBE_QUEUE__KIND": "postgres", "SPBE_SECRETS__POSTGRES_DSN__REF": f"env:{DSN_ENV}"}
        go = Path(tmp) / "go"
        procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.store_bench", "--child", str(batch), str(go)],
                                  env=env, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
        time.sleep(3.0)  # past their imports and their first connection
        server0 = _server_cpu(cluster) if kind == "postgres" and cluster is not None else 0.0
        t0 = time.time()
        go.touch()
        reports = [proc.communicate()[0].split() for proc in procs]
        server = (_server_cpu(cluster) - server0) if kind == "postgres" and cluster is not None else 0.0
        elapsed = max(float(r[1]) for r in reports) - t0
        workers_cpu = sum(float(r[0]) for r in reports)
        succeeded = len(app.queue.list_jobs(state=JobState.SUCCEEDED, limit=n_jobs + 1))
        app.close()
    return n_jobs / elapsed, workers_cpu * 1000 / n_jobs, server * 1000 / n_jobs, succeeded


# -- 3. the whole engine, every store on PostgreSQL, P processes ------------------------------------
ALL_STORES = ("tickets", "queue", "state", "audit")


def _all_on_postgres_env(state_dir: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPBE_STATE_DIR": str(state_dir),
           "SPBE_CATALOG_DIR": str(engine_bench.HERE / "catalog"),
           "SPBE_EXTRA_ACTIONS": json.dumps(list(engine_bench.ACTIONS)),
           "SPBE_INVENTORY": str(engine_bench.HERE / "inventory.ini"),
           "SPBE_SECRETS__POSTGRES_DSN__REF": f"env:{DSN_ENV}"}
    return env | {f"SPBE_{store.upper()}__KIND": "postgres" for store in ALL_STORES}


def engine_child(go: Path) -> None:
    """One `spbe serve --role worker` (its `Server`, the settings' worker threads and its outbox thread),
    started and warmed before the signal; runs until nothing is queued, running or undelivered. Prints its
    CPU seconds from the signal and the wall instant it saw the work done."""
    app = App(load_settings())
    app.warm_for_jobs()
    serving = Server(app, workers=app.settings.workers.count, roles=frozenset({"worker"}))
    while not go.exists():
        time.sleep(0.001)
    cpu0 = time.process_time()
    thread = threading.Thread(target=serving.run, daemon=True)
    thread.start()
    while engine_bench._unfinished(app):
        time.sleep(0.05)
    end = time.time()
    print(time.process_time() - cpu0, end, flush=True)
    serving.stop.set()
    thread.join(timeout=60)
    app.close()


def engine_processes(n_jobs: int, processes: int, cluster: PostgresCluster) -> tuple[float, int, float, float]:
    """(jobs/s from the signal until every job succeeded and its result is on the ticket, jobs succeeded,
    engine CPU ms per job over the processes, database server CPU ms per job). Approvals are made first
    (through the command layer, on PostgreSQL); the processes start, warm up and wait for the signal."""
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp) / "state"
        _fresh("postgres", cluster)
        env = _all_on_postgres_env(state_dir)
        os.environ.update({k: v for k, v in env.items() if k.startswith("SPBE_")})
        app = App(load_settings())
        for _ in range(n_jobs):
            desk.approve(app, engine_bench.opened(app, "noop"), as_lab("kadis"), "uji kinerja")
        go = Path(tmp) / "go"
        procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.store_bench", "--engine-child", str(go)],
                                  env=env, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
        time.sleep(8.0)  # past their imports, the warm-up and their first connections
        server0 = _server_cpu(cluster)
        t0 = time.time()
        go.touch()
        reports = [proc.communicate()[0].split() for proc in procs]
        server = _server_cpu(cluster) - server0
        elapsed = max(float(r[1]) for r in reports) - t0
        cpu = sum(float(r[0]) for r in reports)
        succeeded = len(app.queue.list_jobs(state=JobState.SUCCEEDED, limit=n_jobs + 1))
        app.close()
    return n_jobs / elapsed, succeeded, cpu * 1000 / n_jobs, server * 1000 / n_jobs


class _MeteredServer(Server):
    """`Server` noting the database server's CPU when it starts serving: the engine run's server CPU per job
    is then the serving's, not the approvals' made before it (engine_bench.throughput builds the `Server`)."""

    cluster: PostgresCluster | None = None
    server_cpu_at_start = 0.0

    def run(self, *args: Any, **kwargs: Any) -> Any:
        if _MeteredServer.cluster is not None:
            _MeteredServer.server_cpu_at_start = _server_cpu(_MeteredServer.cluster)
        return super().run(*args, **kwargs)


def engine_throughput(kind: str, n_jobs: int, cluster: PostgresCluster) -> tuple[float, int, float, float, int]:
    """(jobs/s, succeeded, process CPU ms per job, database server CPU ms per job while serving, workers)."""
    _fresh(kind, cluster)
    overrides = _settings_for(kind, Path("unused"))
    overrides.pop("state_dir")
    _MeteredServer.cluster = cluster if kind == "postgres" else None
    setattr(engine_bench, "Server", _MeteredServer)  # noqa: B010 - the name engine_bench.throughput builds
    try:
        rate, succeeded, cpu, workers = throughput(n_jobs, **overrides)
    finally:
        setattr(engine_bench, "Server", Server)  # noqa: B010
    server = _server_cpu(cluster) - _MeteredServer.server_cpu_at_start if kind == "postgres" else 0.0
    return rate, succeeded, cpu * 1000 / n_jobs, server * 1000 / n_jobs, workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--only", choices=("queue", "engine", "engine-processes"))
    parser.add_argument("--engine-processes", default="1,2,4", help="processes for the all-PostgreSQL engine")
    parser.add_argument("--child", nargs=2, metavar=("BATCH", "GO"), help=argparse.SUPPRESS)
    parser.add_argument("--engine-child", metavar="GO", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        worker_child(int(args.child[0]), Path(args.child[1]))
        return
    if args.engine_child:
        engine_child(Path(args.engine_child))
        return
    missing = postgres_missing()
    if missing:
        raise SystemExit(missing)
    cluster = PostgresCluster()
    cluster.start()
    rows: list[tuple[str, str, str]] = []
    try:
        for kind in ("sqlite", "postgres") if args.only in (None, "queue") else ():
            for processes in (int(p) for p in args.processes.split(",")):
                rate, worker_ms, server_ms, ok = queue_throughput(kind, args.jobs, processes, args.batch, cluster)
                target = ">= 1000 jobs/s" if kind == "postgres" else "(info)"
                rows.append((f"queue alone on {kind}: {args.jobs} no-op jobs, {processes} worker processes, "
                             f"batches of {args.batch}", target,
                             f"{rate:.0f} jobs/s ({ok} succeeded); CPU per job: workers {worker_ms:.3f} ms"
                             + (f", server {server_ms:.3f} ms" if kind == "postgres" else "")))
        if args.only in (None, "engine"):
            for kind in ("sqlite", "postgres"):
                rate, succeeded, cpu_ms, server_ms, workers = engine_throughput(kind, args.jobs, cluster)
                rows.append((f"engine (spbe serve, one process, {workers} workers) on {kind}: {args.jobs} no-op jobs "
                             "until delivered", "(info)" if kind == "sqlite" else ">= 1000 jobs/s",
                             f"{rate:.0f} jobs/s ({succeeded} succeeded); CPU per job: process {cpu_ms:.3f} ms"
                             + (f", server {server_ms:.3f} ms" if kind == "postgres" else "")))
        if args.only in (None, "engine-processes"):
            for processes in (int(p) for p in args.engine_processes.split(",")):
                rate, succeeded, cpu_ms, server_ms = engine_processes(args.jobs, processes, cluster)
                rows.append((f"engine, every store on postgres (desk, queue, state, audit), {processes} `spbe serve "
                             f"--role worker` processes: {args.jobs} no-op jobs until delivered", ">= 1000 jobs/s",
                             f"{rate:.0f} jobs/s ({succeeded} succeeded); CPU per job: engine {cpu_ms:.3f} ms, "
                             f"server {server_ms:.3f} ms"))
    finally:
        cluster.stop()
    print_figures("spbe store benchmarks (SQLite and PostgreSQL, one run; wall figures measured under load)", rows)


if __name__ == "__main__":
    main()
