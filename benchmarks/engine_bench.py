"""Engine benchmarks of the foundation issue, printed as a table of figure, target and measured.

    python -m benchmarks.engine_bench [--jobs 5000] [--latency-runs 20] [--overhead-runs 5] [--only NAME]

1. approval -> first action start, p50 (embedded mode, trivial playbook): target <= 20 ms.
   `spbe serve`'s server runs in this process (trigger, outbox and the settings' worker threads); the
   clock starts just before `approve` is called and stops at the job's recorded start (claim) time.
2. engine overhead vs ansible-runner called directly on the same playbook: target <= 10 %.
3. queue throughput with a no-op action over N jobs, with the workers `spbe serve` uses (the `Server`,
   ``settings.workers.count`` threads): target >= 1000 jobs/s. The clock runs from the server's start
   until every job has succeeded and every result is delivered to its ticket (the outbox is empty).
   The trigger's cursor starts past the approvals and its periodic sweeps are set as just done: the
   figure is the workers' and the outbox's, not a sweep of N open tickets. The per-job breakdown below
   the table comes from a second run of N jobs, instrumented: by phase, the thread CPU time per job
   (`time.thread_time`: what the phase costs the one GIL, whatever the machine's load) and the thread time
   (wall, including waits for the GIL, locks and I/O), both exclusive of the phases called inside and summed
   over threads, so the thread times add up to more than the wall time; what the phases leave of the process
   CPU time (loops, wake-ups, the job's log lines and metrics); and transactions per job per database file
   (only the audit log's commits fsync). The machine is shared: compare CPU per job, not jobs/s.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tests.support.principals import as_lab
from toolkit.actions.ansible.runner import PlaybookRun, run_playbook
from toolkit.audit import AuditLog
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.engine import batch, outbox, scheduler, server, worker
from toolkit.engine.metrics import job_counts
from toolkit.engine.server import CURSOR, Server, run_ticket
from toolkit.ports.jobs import JobState
from toolkit.settings import load_settings

HERE = Path(__file__).resolve().parent
ACTIONS = ("tests.support.actions:NOOP", "benchmarks.bench_actions:PLAYBOOK")


def make_app(state_dir: Path, **overrides: Any) -> App:
    return App(load_settings(state_dir=state_dir, catalog_dir=HERE / "catalog", extra_actions=ACTIONS,
                             inventory=HERE / "inventory.ini", **overrides))


def opened(app: App, aksi: str) -> str:
    return desk.open_ticket(app, "bench", as_lab("andi"), "Uji kinerja", {"instansi": "Dinas Uji", "aksi": aksi}, []).id


def approval_latency(runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        serving = Server(app, workers=app.settings.workers.count)
        thread = threading.Thread(target=serving.run, daemon=True)
        thread.start()
        latencies = []
        try:
            for _ in range(runs):
                ticket_id = opened(app, "playbook")
                started = datetime.now(UTC)
                desk.approve(app, ticket_id, as_lab("kadis"), "uji kinerja")
                while True:
                    jobs = app.queue.list_jobs(ticket_id=ticket_id)
                    if jobs and jobs[0].started_at is not None:
                        latencies.append((jobs[0].started_at - started).total_seconds())
                        break
                    time.sleep(0.002)
                while app.queue.list_jobs(ticket_id=ticket_id)[0].state == JobState.RUNNING:
                    time.sleep(0.05)
        finally:
            serving.stop.set()
            thread.join(timeout=60)
    return latencies


def engine_overhead(runs: int) -> tuple[float, float]:
    direct, engine = [], []
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        for i in range(runs):
            t0 = time.perf_counter()
            summary = run_playbook(PlaybookRun(playbook=HERE / "playbooks" / "trivial.yml",
                                               inventory=HERE / "inventory.ini", limit="localhost",
                                               private_data_dir=Path(tmp) / f"direct{i}", timeout_s=120))
            direct.append(time.perf_counter() - t0)
            assert summary.status == "successful", summary
            ticket_id = opened(app, "playbook")
            desk.approve(app, ticket_id, as_lab("kadis"), "uji kinerja")
            t0 = time.perf_counter()
            jobs = run_ticket(app, ticket_id)
            engine.append(time.perf_counter() - t0)
            assert [j.state for j in jobs] == [JobState.SUCCEEDED], [j.error for j in jobs]
    return statistics.mean(direct), statistics.mean(engine)


class Phases:
    """Thread time per phase, exclusive of the phases called inside it, and transactions per database file."""

    def __init__(self) -> None:
        self.ms: Counter[str] = Counter()
        self.cpu_ms: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.tx: Counter[str] = Counter()
        self._local = threading.local()
        self._lock = threading.Lock()
        self.counting = False

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack = self._local.__dict__.setdefault("stack", [])
            stack.append([0.0, 0.0])
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent, used = time.perf_counter() - t0, time.thread_time() - c0
                inner, inner_cpu = stack.pop()
                if stack:
                    stack[-1][0] += spent
                    stack[-1][1] += used
                if self.counting:
                    with self._lock:
                        self.ms[name] += (spent - inner) * 1000
                        self.cpu_ms[name] += (used - inner_cpu) * 1000
                        self.calls[name] += 1
        return timed

    def trace(self, name: str) -> Callable[[str], None]:
        def traced(sql: str) -> None:
            if self.counting and sql.startswith("BEGIN"):
                kind = "write" if sql.startswith("BEGIN IMMEDIATE") else "read"
                with self._lock:
                    self.tx[f"{name}, {kind}"] += 1
        return traced


@contextmanager
def instrumented(phases: Phases, app: App) -> Iterator[None]:
    """Time the phases of a job (by wrapping the functions the workers call) and count transactions (a trace
    callback on every SQLite connection opened meanwhile): for the per-job breakdown, not for correctness."""
    real_connect = sqlite3.connect

    def connect(path: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = real_connect(path, *args, **kwargs)
        conn.set_trace_callback(phases.trace(Path(str(path)).name))
        return conn

    noop = app.actions.get("test.noop")
    assert noop is not None
    patches: list[tuple[Any, str, Any]] = [
        (sqlite3, "connect", connect),
        (app.queue, "claim_batch", phases.wrap("claim", app.queue.claim_batch)),
        (batch, "prepare", phases.wrap("check plan, build the action's context", worker.prepare)),
        (noop, "execute", phases.wrap("action", noop.execute)),
        (app.queue, "finish_many", phases.wrap("finish + outbox rows (a batch in one transaction)",
                                               app.queue.finish_many)),
        (scheduler, "advance", phases.wrap("advance ticket", scheduler.advance)),
        (server, "deliver_due", phases.wrap("outbox delivery", outbox.deliver_due)),
        (AuditLog, "append_many", phases.wrap("audit appends", AuditLog.append_many)),
        # Called from the phases above, and taken out of their time: the ticket store and the work directory.
        (app.tickets, "get", phases.wrap("ticket store reads (get, timeline, snapshot)", app.tickets.get)),
        (app.tickets, "timeline", phases.wrap("ticket store reads (get, timeline, snapshot)", app.tickets.timeline)),
        (app.tickets, "snapshot", phases.wrap("ticket store reads (get, timeline, snapshot)", app.tickets.snapshot)),
        (app.tickets, "snapshots", phases.wrap("ticket store reads, a batch's (snapshots, last_seqs)",
                                               app.tickets.snapshots)),
        (app.tickets, "last_seq", phases.wrap("ticket store reads (get, timeline, snapshot)", app.tickets.last_seq)),
        (app.tickets, "last_seqs", phases.wrap("ticket store reads, a batch's (snapshots, last_seqs)",
                                               app.tickets.last_seqs)),
        (app.tickets, "post", phases.wrap("ticket store post (the results)", app.tickets.post)),
        (app.tickets, "post_many", phases.wrap("ticket store post (the results)", app.tickets.post_many)),
        (app.queue, "step_results", phases.wrap("queue step results read", app.queue.step_results)),
        (app.queue, "step_results_many", phases.wrap("queue step results read", app.queue.step_results_many)),
        (app, "artifacts_dir", phases.wrap("the job's work dir (mkdir, chmod)", app.artifacts_dir)),
    ]
    saved = [(obj, attr, obj.__dict__.get(attr, getattr(obj, attr))) for obj, attr, _ in patches]
    for obj, attr, value in patches:
        setattr(obj, attr, value)
    try:
        yield
    finally:
        for obj, attr, value in saved:
            setattr(obj, attr, value)


def _skip_to_now(app: App, serving: Server) -> None:
    """The trigger starts past the approvals (each already advanced its ticket) and owes no sweep yet."""
    cursor = app.queue.get_cursor(CURSOR)
    while events := app.tickets.events_since(cursor):
        cursor = events[-1].seq
    app.queue.set_cursor(CURSOR, cursor)
    for name in serving._last:
        serving._last[name] = serving.monotonic()


def _unfinished(app: App) -> bool:
    """A job queued or running, or a result not delivered: three indexed reads of a row or a count of the
    few left (counting every job by state, 20 times a second, cost the measured process ~5 % of its CPU)."""
    return any(app.queue.list_jobs(state=state, limit=1) for state in (JobState.QUEUED, JobState.RUNNING)) \
        or app.queue.outbox_pending_count() > 0


def throughput(n_jobs: int, phases: Phases | None = None, **overrides: Any) -> tuple[float, int, float, int]:
    """Jobs per second, jobs succeeded, CPU seconds, worker threads; with ``phases``, the run is instrumented
    for the breakdown (wrappers and a trace callback on every statement: a little slower). ``overrides`` are
    settings (benchmarks/store_bench.py runs it with the queue on PostgreSQL)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), **overrides)
        workers = app.settings.workers.count
        with instrumented(phases, app) if phases is not None else nullcontext():
            for _ in range(n_jobs):
                desk.approve(app, opened(app, "noop"), as_lab("kadis"), "uji kinerja")
            assert job_counts(app.queue).get("queued") == n_jobs
            serving = Server(app, workers=workers)
            _skip_to_now(app, serving)
            if phases is not None:
                phases.counting = True
            cpu0, t0 = time.process_time(), time.perf_counter()
            thread = threading.Thread(target=serving.run, daemon=True)
            thread.start()
            while _unfinished(app):
                time.sleep(0.05)  # the check itself reads the queue (and takes the GIL): not too often
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            if phases is not None:
                phases.counting = False
            serving.stop.set()
            thread.join(timeout=60)
        succeeded = job_counts(app.queue).get("succeeded", 0)
    return n_jobs / elapsed, succeeded, cpu, workers


def breakdown_table(n_jobs: int, rate: float, phases: Phases, cpu: float) -> Table:
    table = Table(title=f"per-job breakdown, {n_jobs} no-op jobs (a second, instrumented run: {rate:.0f} jobs/s)")
    table.add_column("phase")
    table.add_column("thread CPU ms per job (exclusive)", justify="right")
    table.add_column("thread ms per job (exclusive)", justify="right")
    table.add_column("calls per job", justify="right")
    for name, ms in phases.cpu_ms.most_common():
        table.add_row(name, f"{ms / n_jobs:.3f}", f"{phases.ms[name] / n_jobs:.3f}",
                      f"{phases.calls[name] / n_jobs:.2f}")
    outside = (cpu * 1000 - sum(phases.cpu_ms.values())) / n_jobs
    table.add_row("outside these phases (loops, threads, wake-ups, job log lines, metrics)", f"{outside:.3f}", "", "")
    table.add_row("process CPU per job", f"{cpu * 1000 / n_jobs:.3f}", "", "")
    table.add_row("wall time per job", "", f"{1000 / rate:.3f}", "")
    for name, count in sorted(phases.tx.items()):
        fsync = " (synchronous=FULL: fsync)" if name.startswith("audit.db, write") else ""
        table.add_row(f"transactions, {name}{fsync}", "", "", f"{count / n_jobs:.2f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--latency-runs", type=int, default=20)
    parser.add_argument("--overhead-runs", type=int, default=5)
    parser.add_argument("--only", choices=("latency", "overhead", "throughput"))
    parser.add_argument("--no-breakdown", action="store_true", help="skip the second, instrumented throughput run")
    args = parser.parse_args()
    console = Console()
    table = Table(title="spbe engine benchmarks")
    for col in ("figure", "target", "measured", "ok"):
        table.add_column(col)

    if args.only in (None, "latency"):
        lat = approval_latency(args.latency_runs)
        p50 = statistics.median(lat) * 1000
        p95 = sorted(lat)[max(0, int(len(lat) * 0.95) - 1)] * 1000
        table.add_row(f"approval -> first action start, p50 ({len(lat)} runs)", "<= 20 ms", f"{p50:.0f} ms",
                      "yes" if p50 <= 20 else "NO")
        table.add_row("approval -> first action start, p95", "(info)", f"{p95:.0f} ms", "")

    if args.only in (None, "overhead"):
        direct, engine = engine_overhead(args.overhead_runs)
        overhead = (engine - direct) / direct * 100
        table.add_row(f"engine overhead vs ansible-runner direct ({args.overhead_runs} runs)", "<= 10 %",
                      f"{overhead:.1f} % ({engine:.2f} s vs {direct:.2f} s)", "yes" if overhead <= 10 else "NO")

    breakdown = None
    if args.only in (None, "throughput"):
        rate, succeeded, cpu, workers = throughput(args.jobs)
        table.add_row(f"queue throughput, no-op action ({args.jobs} jobs, {workers} workers, until delivered)",
                      ">= 1000 jobs/s", f"{rate:.0f} jobs/s ({succeeded} succeeded)",
                      "yes" if rate >= 1000 and succeeded == args.jobs else "NO")
        table.add_row("process CPU per job (same run)", "(info)", f"{cpu * 1000 / args.jobs:.2f} ms", "")
        if not args.no_breakdown:
            phases = Phases()
            rate, _, cpu, _ = throughput(args.jobs, phases)
            breakdown = breakdown_table(args.jobs, rate, phases, cpu)
    console.print(table)
    if breakdown is not None:
        console.print(breakdown)


if __name__ == "__main__":
    main()
