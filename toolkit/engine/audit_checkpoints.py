"""Posting checkpoints to the tickets they cover.

The ticket system is a third place, run by other people, that a writer of our state directory
usually cannot rewrite, and the place where the decisions themselves are. A checkpoint goes to each
ticket that has audit entries after the previous publication, as a comment in Bahasa Indonesia
carrying the signed checkpoint in its data; `toolkit.audit.reconcile` reads them back.

When: `spbe serve` every ``settings.audit.publish_interval_s`` (first after one interval, so short
runs add nothing), and ``spbe audit checkpoint`` on demand. The publication itself is not audited:
an audit entry would move the head and make every round publish again. The cursor of the last
publication is kept in the queue's cursor table; losing it only means re-posting.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from toolkit.audit.reconcile import CHECKPOINT_DATA
from toolkit.documents import zone_context
from toolkit.domain.tickets.models import EventKind, NewEvent
from toolkit.errors import InvalidInputError, NotFoundError
from toolkit.worktime.calendars import calendars_for

if TYPE_CHECKING:
    from toolkit.services import Services

CURSOR = "audit.checkpoint"
ACTOR = "spbe"


class Published(BaseModel):
    model_config = ConfigDict(frozen=True)
    seq: int
    hash: str
    at: str
    tickets: list[str]


def publish_checkpoint(app: Services) -> Published:
    """Write a checkpoint of the head to the checkpoint file and post it to every ticket with audit
    entries since the last publication. An unreachable ticket system raises `UnavailableError`
    before the cursor moves, so the next round posts to those tickets again."""
    last = app.queue.get_cursor(CURSOR)
    cp = app.audit.checkpoint()
    posted: list[str] = []
    if cp.seq <= last:
        return Published(seq=cp.seq, hash=cp.hash, at=cp.at, tickets=posted)
    covered = sorted({e.ticket_id for e in app.audit.entries(after=last) if e.ticket_id and e.seq <= cp.seq})
    calendars = calendars_for(app.settings.worktime)
    texts: dict[str, str] = {}  # per office zone: the time is printed in the ticket's (WITA in Gorontalo)
    for ticket_id in covered:
        try:
            zone = calendars.zone_of(app.catalog.get(app.tickets.get(ticket_id).service_id))
        except (NotFoundError, InvalidInputError):
            continue  # an entry naming no ticket of this system (a vault or gateway reference)
        if zone.name not in texts:
            texts[zone.name] = str(app.renderer.render("comments", "titik_periksa_audit", {
                "titik": {"nomor": cp.seq, "hash": cp.hash, "waktu": datetime.fromisoformat(cp.at)},
                "zona_waktu": zone_context(zone)}))
        text = texts[zone.name]
        event = NewEvent(kind=EventKind.COMMENT, actor=ACTOR, text=text, data={CHECKPOINT_DATA: cp.model_dump()},
                         dedupe_key=f"audit-checkpoint:{cp.seq}:{ticket_id}"[:200])
        try:
            app.tickets.post(ticket_id, event)
        except (NotFoundError, InvalidInputError):
            continue  # an entry naming no ticket of this system (a vault or gateway reference)
        posted.append(ticket_id)
    app.queue.set_cursor(CURSOR, cp.seq)
    return Published(seq=cp.seq, hash=cp.hash, at=cp.at, tickets=posted)
