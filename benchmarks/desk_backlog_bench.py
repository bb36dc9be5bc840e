"""Desk backlog benchmark of issue 16: a backlog of desk events drained by the poller, each acted on once.

    python -m benchmarks.desk_backlog_bench [--issues 200] [--notes 49]

The reference "Aplikasi Helpdesk SPBE" (lab/reference_desk.py, in this process, on loopback) holds ``--issues``
Pusat Data requests, each with its letter and ``--notes`` notes by the koordinator: issues x (1 + notes) desk
events (10 000 by default). The clock runs from the first poll until a poll finds nothing new; every event must
have become exactly one spbe event (a ticket opened, a comment on its timeline), which the benchmark checks.
Target: >= 200 events/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from lab.reference_desk import ReferenceDesk
from toolkit.bootstrap import App
from toolkit.domain.tickets.models import EventKind
from toolkit.settings import load_settings

MAPPING = Path(__file__).resolve().parents[1] / "lab" / "desks" / "rest.yml"
FIELDS = {"Layanan": "pusat-data", "Instansi": "Dinas Kesehatan", "Perihal": "Permohonan hosting",
          "Produk": "hosting-aplikasi", "Nama aplikasi": "simpus", "Nama host": "simpus-app", "Jumlah vCPU": "2",
          "Memori (GB)": "4", "Penyimpanan (GB)": "40", "Email kontak": "it@dinkes.example.go.id"}
LETTER = b"%PDF-1.4\n% Surat permohonan\n%%EOF\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--notes", type=int, default=49)
    args = parser.parse_args()
    desk = ReferenceDesk().start()
    try:
        for n in range(args.issues):
            ticket = desk.open("andi", "spbe-uji", f"Permohonan {n}", "", FIELDS | {"Nama host": f"app-{n}"})
            desk.add_file(ticket, "andi", "surat-permohonan.pdf", "application/pdf", LETTER)
            desk.add_file(ticket, "andi", "persetujuan-aplikasi.pdf", "application/pdf", LETTER)  # SOP 002 step 4
            for k in range(args.notes):
                desk.record(ticket, "sari", note=f"Catatan {k} untuk permohonan {n}.")
        events = args.issues * (1 + args.notes)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "desks"
            folder.mkdir()
            mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
            mapping["options"]["base_url"] = desk.url
            (folder / "rest.yml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
            (Path(tmp) / "token").write_text(desk.tokens["spbe"], encoding="utf-8")
            app = App(load_settings(state_dir=Path(tmp) / "state", desks_dir=folder, secrets={
                "desk-rest": {"ref": f"file:{Path(tmp) / 'token'}"},
                "desk-rest-webhook": {"ref": f"file:{Path(tmp) / 'token'}"}}))
            poller = app.desks.get("rest").poller
            t0 = time.perf_counter()
            taken = polls = 0
            while True:
                result = poller.poll_once()
                polls += 1
                assert not result.failed, result.failed
                acted = [r for o in result.issues for r in o.outcomes.values()]
                taken += sum(r.startswith("done:") for r in acted)
                if not acted:
                    break
            elapsed = time.perf_counter() - t0
            tickets = app.tickets.list_tickets()
            comments = sum(1 for t in tickets for e in app.tickets.timeline(t.id) if e.kind is EventKind.COMMENT)
            once = len(tickets) == args.issues and comments == args.issues * args.notes and taken == events
            app.close()
    finally:
        desk.stop()
    table = Table(title="Desk backlog (issue 16)")
    for column in ("figure", "target", "measured"):
        table.add_column(column)
    table.add_row(f"{events} desk events drained by poll, each acted on once", ">= 200 events/s",
                  f"{events / elapsed:.0f} events/s ({elapsed:.1f} s, {polls} polls; acted once: {once})")
    Console().print(table)
    if not once:
        raise SystemExit(f"not every event was acted on exactly once: {len(tickets)} tickets, {comments} comments")


if __name__ == "__main__":
    main()
