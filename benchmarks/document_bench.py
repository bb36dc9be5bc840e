"""Benchmark: rendering a berita acara as the ``document.render`` action does (Markdown, number, PDF).

    python -m benchmarks.document_bench [--samples 20] [--count 200]

1. One document: p50 (and worst) of the whole making of a berita acara instalasi server (3 pages A4: the
   context, its number from the store, the Markdown, the PDF laid out by WeasyPrint), wall and CPU time of this
   process. Target p50 <= 500 ms of CPU.
2. ``--count`` documents in a batch (each its own ticket, so each takes a new number): total wall and CPU time
   and documents per second. Target 200 in <= 100 s of CPU (one process; layouts are serialised per process,
   so a second worker thread adds nothing here).
3. Where a document's time goes: number, Markdown, PDF (layout and PDF writing), each p50 CPU.

`render_one` is the unit: it makes one document exactly as the action does (`Letters.render_document`), so a
signing benchmark can call it and add its own step after it. The sample ticket, jobs and people are
tests/support's; the state directory is a temporary one. CPU time is `time.process_time` (this process only):
on a shared machine the wall figures are noisy, the CPU ones are not.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.figures import print_figures
from tests.support.document_samples import make_ticket, repository_renderer
from tests.support.pdf import APPLICANT, ba_context, letters_for
from toolkit.documents import TemplateRenderer
from toolkit.letters.kit import Letters, RenderedDocument
from toolkit.settings import load_settings

TEMPLATE = "berita_acara_instalasi_server"
SIGNING_ORDER = ("tim-pusat-data",)


def render_one(letters: Letters, renderer: TemplateRenderer, ticket_id: str) -> RenderedDocument:
    """One berita acara for ``ticket_id`` (a new number the first time, the same one again after)."""
    context = ba_context(letters, ticket=make_ticket(id=ticket_id))
    return letters.render_document(renderer, TEMPLATE, context, applicant_role=APPLICANT, signing_order=SIGNING_ORDER)


def _timed(call: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _parts(letters: Letters, renderer: TemplateRenderer, ticket_id: str) -> dict[str, float]:
    """CPU ms of each part of `render_one`, done one after the other as `Letters.render_document` does."""
    context = ba_context(letters, ticket=make_ticket(id=ticket_id))
    made: list[str] = []
    number = _timed(lambda: context["nomor_dokumen"]("BA-INSTALASI-SERVER"))[1]
    markdown = _timed(lambda: made.append(renderer.render("documents", TEMPLATE, context)))[1]
    pdf = _timed(lambda: letters.pdf.render(made[0], context, applicant_role=APPLICANT,
                                                  signing_order=SIGNING_ORDER))[1]
    return {"number (state.db)": number, "Markdown": markdown, "PDF (layout + write)": pdf}


def _p50(values: list[float]) -> str:
    median = statistics.median(values)
    return f"{median:.1f} ms" if median < 10 else f"{median:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(state_dir=Path(tmp) / "state")
        letters = letters_for(settings)  # what App.letters builds: layout, fonts, logo once
        renderer = repository_renderer()
        render_one(letters, renderer, "PD-2026-9000")  # warm: templates compiled, fonts loaded
        one = [_timed(lambda i=i: render_one(letters, renderer, f"PD-2026-{i:04d}")) for i in range(args.samples)]
        walls, cpus = [w for w, _ in one], [c for _, c in one]
        rows.append(("one berita acara (3 pages): p50", "CPU <= 500 ms",
                     f"wall {_p50(walls)} (worst {max(walls):.0f}), CPU {_p50(cpus)}"))

        wall, cpu = _timed(lambda: [render_one(letters, renderer, f"PD-2027-{i:04d}") for i in range(args.count)])
        rows.append((f"{args.count} documents in a batch", f"CPU <= {args.count / 2:.0f} s",
                     f"wall {wall / 1000:.1f} s, CPU {cpu / 1000:.1f} s, {args.count / (wall / 1000):.1f} documents/s"))

        parts: dict[str, list[float]] = {"number (state.db)": [], "Markdown": [], "PDF (layout + write)": []}
        for i in range(args.samples):
            for name, cpu_ms in _parts(letters, renderer, f"PD-2028-{i:04d}").items():
                parts[name].append(cpu_ms)
        for name, values in parts.items():
            rows.append((f"  of which {name}: p50 CPU", "", _p50(values)))
        issued = letters.numbers.issued("BA-INSTALASI-SERVER")
        assert len({n for _, n, _, _ in issued}) == len(issued), "a number was issued twice"
        letters.close()
    print_figures("Documents: berita acara as Markdown and PDF", rows)


if __name__ == "__main__":
    main()
