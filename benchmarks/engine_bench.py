"""Engine benchmarks of the foundation issue, printed as a table of figure, target and measured.

    python -m benchmarks.engine_bench [--jobs 5000] [--latency-runs 20] [--overhead-runs 5]

1. approval -> first action start, p50 (embedded mode, trivial playbook): target <= 300 ms.
   `spbe serve`'s server runs in this process (trigger + 2 workers); the clock starts just before
   `approve` is called and stops at the job's recorded start (claim) time.
2. engine overhead vs ansible-runner called directly on the same playbook: target <= 10 %.
3. queue throughput with a no-op action over N jobs (two worker threads): target >= 300 jobs/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.support.principals import as_lab
from toolkit.actions.ansible.runner import PlaybookRun, run_playbook
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.engine.server import Server, run_ticket
from toolkit.engine.worker import work_once
from toolkit.ports.jobs import JobState
from toolkit.settings import load_settings

HERE = Path(__file__).resolve().parent
ACTIONS = ("tests.support.actions:NOOP", "benchmarks.bench_actions:PLAYBOOK")


def make_app(state_dir: Path, **overrides: object) -> App:
    return App(load_settings(state_dir=state_dir, catalog_dir=HERE / "catalog", extra_actions=ACTIONS,
                             inventory=HERE / "inventory.ini", **overrides))


def opened(app: App, aksi: str) -> str:
    return desk.open_ticket(app, "bench", as_lab("andi"), "Uji kinerja", {"instansi": "Dinas Uji", "aksi": aksi}, []).id


def approval_latency(runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), workers={"poll_interval": 0.02})
        server = Server(app, workers=2)
        thread = threading.Thread(target=server.run, daemon=True)
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
            server.stop.set()
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


def throughput(n_jobs: int, workers: int = 2) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        for _ in range(n_jobs):
            desk.approve(app, opened(app, "noop"), as_lab("kadis"), "uji kinerja")
        assert len(app.queue.list_jobs(state=JobState.QUEUED, limit=n_jobs + 1)) == n_jobs
        done = [0] * workers

        def drain(index: int) -> None:
            while work_once(app, f"bench-{index}") is not None:
                done[index] += 1

        threads = [threading.Thread(target=drain, args=(i,)) for i in range(workers)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        succeeded = len(app.queue.list_jobs(state=JobState.SUCCEEDED, limit=n_jobs + 1))
    return sum(done) / elapsed, succeeded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--latency-runs", type=int, default=20)
    parser.add_argument("--overhead-runs", type=int, default=5)
    args = parser.parse_args()
    console = Console()
    table = Table(title="spbe engine benchmarks")
    for col in ("figure", "target", "measured", "ok"):
        table.add_column(col)

    lat = approval_latency(args.latency_runs)
    p50 = statistics.median(lat) * 1000
    p95 = sorted(lat)[max(0, int(len(lat) * 0.95) - 1)] * 1000
    table.add_row(f"approval -> first action start, p50 ({len(lat)} runs)", "<= 300 ms", f"{p50:.0f} ms",
                  "yes" if p50 <= 300 else "NO")
    table.add_row("approval -> first action start, p95", "(info)", f"{p95:.0f} ms", "")

    direct, engine = engine_overhead(args.overhead_runs)
    overhead = (engine - direct) / direct * 100
    table.add_row(f"engine overhead vs ansible-runner direct ({args.overhead_runs} runs)", "<= 10 %",
                  f"{overhead:.1f} % ({engine:.2f} s vs {direct:.2f} s)", "yes" if overhead <= 10 else "NO")

    rate, succeeded = throughput(args.jobs)
    table.add_row(f"queue throughput, no-op action ({args.jobs} jobs, 2 workers)", ">= 300 jobs/s",
                  f"{rate:.0f} jobs/s ({succeeded} succeeded)",
                  "yes" if rate >= 300 and succeeded == args.jobs else "NO")
    console.print(table)


if __name__ == "__main__":
    main()
