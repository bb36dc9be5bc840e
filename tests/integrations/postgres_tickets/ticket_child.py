"""A process of the cross-process ticket tests: ``python -m tests.integrations.postgres_tickets.ticket_child
create|post GO_FILE [TICKET]``, the ticket store selected by the inherited SPBE_* environment as `App` builds it.

It waits for ``GO_FILE`` (so the processes start together, past their imports), then either opens 50 tickets
(printing their ids) or posts the same dedupe-keyed comment to TICKET 20 times from 4 threads (printing the
seqs it got back): a JSON list on stdout."""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from toolkit.bootstrap import App
from toolkit.domain.tickets.models import EventKind, NewEvent, TicketDraft
from toolkit.settings import load_settings


def main(role: str, go: Path, ticket_id: str = "") -> list[object]:
    app = App(load_settings())
    try:
        tickets = app.tickets
        deadline = time.monotonic() + 60
        while not go.exists():
            if time.monotonic() > deadline:
                raise SystemExit("never told to go")
            time.sleep(0.005)
        if role == "create":
            return [tickets.create(TicketDraft(service_id="pusat-data", title=f"Permohonan {n}", requester="andi",
                                               fields={"n": n}, sla_variant="standar")).id for n in range(50)]
        event = NewEvent(kind=EventKind.COMMENT, actor="spbe", text="Hasil langkah", dedupe_key="outbox:job-7")
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(lambda _: tickets.post(ticket_id, event).seq, range(20)))
    finally:
        app.close()


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]), *sys.argv[3:])))
