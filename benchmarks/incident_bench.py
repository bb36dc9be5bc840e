"""Benchmark: sealing and verifying evidence bundles, and one escalation check over many open tickets.

Sealing and verification hash every byte of a bundle, so their cost grows with its size; the check of
late steps runs in `spbe serve` every ``escalation_interval_s`` (60 s by default) and must stay far below it.
No lab is needed: the bundle's files are written locally, the tickets are on the embedded desk.

    python -m benchmarks.incident_bench [--files 200] [--size-kb 256] [--tickets 100]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

from benchmarks.figures import print_figures
from tests.support.principals import as_lab
from toolkit.at_rest import Sealer
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.engine.escalation import check_once
from toolkit.evidence import bundle as bundles
from toolkit.evidence.manifest import Collector, Person, Request, SourceHost
from toolkit.evidence.verify import verify
from toolkit.settings import load_settings
from toolkit.vault import generate_key

SEALER = Sealer(SecretStr(generate_key()))
LETTER = AttachmentUpload(name="surat.pdf", media_type="application/pdf", content=b"%PDF-1.4\n",
                          kind="surat_permohonan")
FIELDS = {"pelapor_nama": "Bench", "pelapor_kontak": "bench@example.go.id", "instansi": "Dinas Bench",
          "objek_terdampak": "pd-app-01", "deskripsi": "Uji beban eskalasi."}


def _bundle(state: Path, files: int, size_kb: int) -> tuple[Path, float]:
    bundle_id, path = bundles.new_bundle(state, "BENCH-1", datetime.now(UTC))
    specs = []
    for i in range(files):
        target = path / "files" / "logs" / f"log{i:04d}.log"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(os.urandom(size_kb * 1024))
        specs.append(bundles.FileSpec(path=f"logs/log{i:04d}.log", kind="log", source=f"/var/log/log{i}"))
    started = time.perf_counter()
    bundles.seal(path, bundle_id=bundle_id, ticket_id="BENCH-1", host=SourceHost(name="h", address="10.0.0.1"),
                 collected_at=datetime.now(UTC), collected_by=Person(username="rina", name="Rina"),
                 collector=Collector(node="bench", tool="spbe", method="bench"),
                 request=Request(logs=(), hash_paths=()), files=specs, evidence_ledger=bundles.ledger(state),
                 sealer=SEALER)  # encrypted at rest, as in production
    return path, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size-kb", type=int, default=256)
    parser.add_argument("--tickets", type=int, default=100)
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        path, sealed = _bundle(state, args.files, args.size_kb)
        megabytes = args.files * args.size_kb / 1024
        rows.append((f"seal bundle ({args.files} files, {megabytes:.0f} MiB)", "< 5 s", f"{sealed:.2f} s"))
        started = time.perf_counter()
        assert verify(path, bundles.ledger(state), SEALER).ok
        verified = time.perf_counter() - started
        rows.append((f"verify bundle ({megabytes:.0f} MiB, with ledger)", "< 5 s", f"{verified:.2f} s"))
        archive = bundles.pack(path, state / "bundle.tar.gz", SEALER)
        started = time.perf_counter()
        assert verify(archive, bundles.ledger(state), SEALER).ok
        rows.append(("verify packed .tar.gz (unpack + verify)", "< 10 s", f"{time.perf_counter() - started:.2f} s"))

        app = App(load_settings(state_dir=state / "desk"))
        opened = [desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), f"Insiden {i}", FIELDS, [LETTER])
                  for i in range(args.tickets)]
        later = opened[-1].created_at + timedelta(minutes=20)
        started = time.perf_counter()
        first = check_once(app, now=later)
        rows.append((f"escalation check, {args.tickets} late tickets (first: escalates each)", "< 60 s interval",
                     f"{time.perf_counter() - started:.2f} s ({len(first)} escalated)"))
        started = time.perf_counter()
        again = check_once(app, now=later + timedelta(minutes=1))
        rows.append((f"escalation check, {args.tickets} tickets, nothing new", "< 60 s interval",
                     f"{time.perf_counter() - started:.2f} s ({len(again)} escalated)"))
    print_figures("Incident: evidence and escalation", rows)


if __name__ == "__main__":
    main()
