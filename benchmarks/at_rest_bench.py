"""What encryption at rest costs (`toolkit.at_rest`): CPU seconds per MB for attachment writes and reads
through the embedded store, and for sealing + packing an evidence bundle.

CPU time (``time.process_time``), not wall time: the machine is shared. Run from a checkout; against a
checkout without encryption (PYTHONPATH=/path/to/older) the same script measures the plaintext baseline.

    python -m benchmarks.at_rest_bench [--mb 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from toolkit.domain.tickets.models import AttachmentUpload, TicketDraft
from toolkit.settings import Settings


def _cpu(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        fn()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def _store_figures(state: Path, size: int, rounds: int) -> tuple[float, float]:
    from integrations.tickets.embedded import EmbeddedTicketStore

    content = os.urandom(size)
    with EmbeddedTicketStore(settings=Settings(state_dir=state)) as store:
        ticket = store.create(TicketDraft(service_id="pusat-data", title="Bench", requester="andi", fields={},
                                          sla_variant="standar"))
        names = iter(range(10_000))
        write = _cpu(lambda: store.attach(ticket.id, AttachmentUpload(name=f"f{next(names)}.bin", content=content),
                                          "sari"), rounds)
        read = _cpu(lambda: store.read_attachment(ticket.id, "f0.bin"), rounds)
    return write, read


def _evidence_figure(state: Path, size: int, rounds: int) -> float:
    from toolkit.evidence import bundle as bundles
    from toolkit.evidence.manifest import Collector, Person, Request, SourceHost

    encrypted = "sealer" in inspect.signature(bundles.seal).parameters
    sealer = None
    if encrypted:
        from toolkit.at_rest import Sealer

        sealer = Sealer.from_settings(Settings(state_dir=state))
    logs = [os.urandom(size // 4) for _ in range(4)]

    def once() -> None:
        bundle_id, path = bundles.new_bundle(state, "SPBE-2026-00001", datetime.now(UTC))
        (path / "files" / "logs").mkdir()
        specs = []
        for number, data in enumerate(logs):
            (path / "files" / "logs" / f"{number}.log").write_bytes(data)
            specs.append(bundles.FileSpec(path=f"logs/{number}.log", kind="log", source=f"/var/log/{number}.log"))
        extra = {"sealer": sealer} if encrypted else {}
        bundles.seal(path, bundle_id=bundle_id, ticket_id="SPBE-2026-00001",
                     host=SourceHost(name="h", address="10.0.0.2"), collected_at=datetime.now(UTC),
                     collected_by=Person(username="rina", name="Rina"),
                     collector=Collector(node="c", tool="t", method="m"), request=Request(logs=(), hash_paths=()),
                     files=specs, evidence_ledger=bundles.ledger(state), **extra)
        bundles.pack(path, state / f"{bundle_id}.tar.gz", *([sealer] if encrypted else []))

    return _cpu(once, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=20, help="attachment and bundle size in MB")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    size = args.mb * 1024 * 1024
    from toolkit.vault import generate_key

    os.environ.setdefault("SPBE_VAULT_KEY", generate_key())
    with tempfile.TemporaryDirectory(prefix="spbe-at-rest-bench-") as scratch:
        write, read = _store_figures(Path(scratch) / "store", size, args.rounds)
        evidence = _evidence_figure(Path(scratch) / "evidence", size, args.rounds)
    print(f"attachment {args.mb} MB: write {write * 1000:.1f} ms CPU ({write / args.mb * 1000:.2f} ms/MB), "
          f"read {read * 1000:.1f} ms CPU ({read / args.mb * 1000:.2f} ms/MB)")
    print(f"evidence bundle {args.mb} MB (4 logs): seal + pack {evidence * 1000:.1f} ms CPU "
          f"({evidence / args.mb * 1000:.2f} ms/MB)")


if __name__ == "__main__":
    main()
