"""Benchmark: the yearly evaluation (`spbe report evaluasi`) over 5 000 and 100 000 generated tickets (issue 18):
the time to compute the figures (SQL over the stores) and to render the document (charts, Markdown, PDF through
the letter kit), and the peak memory; targets <= 10 s and <= 500 MB for 100 000.

The year is generated once per size and seed into a state dir (`toolkit.evaluation.generator`, kept under
``--work`` for the next run); each measurement runs in a fresh child process, so its peak RSS
(``ru_maxrss``: Python and SQLite's own allocations) is the evaluation's alone and not the generator's, and
imports are not counted (loaded before the clock starts, as in a running ``spbe``). CPU time
(``time.process_time``) is the figure to compare on this shared 2-core machine; wall time is printed beside it.

    python -m benchmarks.evaluation_bench [--sizes 5000,100000] [--seed 18] [--work /tmp/spbe-evaluation-bench]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.figures import print_figures

TARGET_S = 10.0
TARGET_MB = 500.0
YEAR = 2026


def _generate(state_dir: Path, size: int, seed: int) -> dict[str, Any]:
    from integrations.state.sqlite import SqliteState
    from integrations.tickets.embedded import EmbeddedTicketStore
    from toolkit.domain.catalog.loader import load_catalog
    from toolkit.evaluation.generator import seed_history, year_end, year_inputs
    from toolkit.settings import Settings
    from toolkit.sqlite_tx import STATE_DB, connect
    from toolkit.worktime.calendars import calendars_for

    settings = Settings(state_dir=state_dir)
    EmbeddedTicketStore(settings=settings).close()
    SqliteState(settings=settings).close()
    catalog = load_catalog()
    started, cpu = time.monotonic(), time.process_time()
    inputs = year_inputs(catalog)
    summary = seed_history(state_dir / "tickets.db", state_dir / STATE_DB, inputs.services,
                           calendars_for(settings.worktime), year=YEAR, tickets=size, seed=seed, now=year_end(YEAR),
                           connect=connect, complaints=inputs.complaints, applicant_roles=inputs.applicant_roles)
    return {**summary.model_dump(), "cpu_s": time.process_time() - cpu, "wall_s": time.monotonic() - started}


def measure(state_dir: Path) -> dict[str, Any]:
    """In the child: compute, then render the PDF and the HTML, each timed; the peak RSS at the end."""
    from toolkit.bootstrap import App
    from toolkit.evaluation.generator import year_end
    from toolkit.evaluation.render import render_html, render_markdown, render_pdf
    from toolkit.evaluation.report import evaluate_period
    from toolkit.settings import load_settings
    from toolkit.worktime.calendars import calendars_for

    app = App(load_settings(state_dir=state_dir))
    calendars = calendars_for(app.settings.worktime)
    kop = app.settings.documents.kop
    model, catalog, pdf = app.evaluation, app.catalog, app.letters.pdf  # built before the clock: as in spbe serve
    calendars.for_zone().holidays(YEAR)
    times: dict[str, Any] = {}
    cpu, wall = time.process_time(), time.monotonic()
    report = evaluate_period(model, catalog, calendars, year=YEAR, now=year_end(YEAR))
    times["compute_cpu_s"], times["compute_wall_s"] = time.process_time() - cpu, time.monotonic() - wall
    cpu, wall = time.process_time(), time.monotonic()
    markdown = render_markdown(report, app.settings.templates_dir, kop, catalog.roles.labels())
    document = render_pdf(markdown, pdf)
    times["pdf_cpu_s"], times["pdf_wall_s"] = time.process_time() - cpu, time.monotonic() - wall
    cpu, wall = time.process_time(), time.monotonic()
    page = render_html(render_markdown(report, app.settings.templates_dir, kop, catalog.roles.labels()),
                       app.settings.templates_dir, kop)
    times["html_cpu_s"], times["html_wall_s"] = time.process_time() - cpu, time.monotonic() - wall
    app.close()
    return {**times, "requests": sum(s.outcomes.total for s in report.services), "pdf_bytes": len(document),
            "html_bytes": len(page), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5000,100000")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--work", type=Path, default=Path("/tmp/spbe-evaluation-bench"))  # noqa: S108 - a cache
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child's entry
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return
    rows: list[tuple[str, str, str]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        state_dir = args.work / f"n{size}-s{args.seed}"
        if not (state_dir / "tickets.db").exists():
            made = _generate(state_dir, size, args.seed)
            rows.append((f"generate {size} tickets (seed {args.seed})", "-",
                         f"{made['cpu_s']:.1f} CPU-s ({made['wall_s']:.1f} s wall under load)"))
        child = subprocess.run([sys.executable, "-m", "benchmarks.evaluation_bench", "--measure", str(state_dir)],
                               capture_output=True, text=True, check=True)
        got = json.loads(child.stdout.strip().splitlines()[-1])
        total = got["compute_cpu_s"] + got["pdf_cpu_s"]
        big = size >= 100_000
        rows += [
            (f"{size}: compute the figures (SQL)", "-",
             f"{got['compute_cpu_s']:.2f} CPU-s ({got['compute_wall_s']:.2f} s wall)"),
            (f"{size}: render the PDF (charts, Markdown, WeasyPrint)", "-",
             f"{got['pdf_cpu_s']:.2f} CPU-s ({got['pdf_wall_s']:.2f} s wall)"),
            (f"{size}: render the HTML", "-", f"{got['html_cpu_s']:.2f} CPU-s"),
            (f"{size}: compute + render the PDF", f"<= {TARGET_S:.0f} s" if big else "-",
             f"{total:.2f} CPU-s ({got['compute_wall_s'] + got['pdf_wall_s']:.2f} s wall)"),
            (f"{size}: peak memory (RSS of the process)", f"<= {TARGET_MB:.0f} MB" if big else "-",
             f"{got['peak_rss_mb']:.0f} MB"),
        ]
    print_figures("Yearly evaluation (spbe report evaluasi); wall measured under load on a shared 2-core machine",
                  rows)


if __name__ == "__main__":
    main()
