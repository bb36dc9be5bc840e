"""spbe's timeline, written back to the outside desk: comments, decisions, step results, documents, status.

Each desk has its own cursor over the ticket store's event feed (`TicketSystem.events_since`), so a desk that
is down holds back only its own mirror: the cursor stays before the first event not written, and the next
run retries from there with exponential backoff (5 s doubling to 10 minutes). Nothing is lost however long
the desk is away, and nothing is written twice: every write carries a marker (``spbe-<ticket>-<seq>``), and
the port's contract makes each client look for it before writing (a desk that answered late may already have
it), so the mirror does not ask again: one less request per write.

Not mirrored: events that came from this desk (a comment copied from it would come back as an echo), the
engine's internal bookkeeping (step started), and events of tickets the desk does not hold. The texts are
the timeline's own (Bahasa Indonesia, rendered from `templates/comments`), which never carry a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from toolkit.desks.hub import Desk, DeskHub
from toolkit.domain.tickets.models import EventKind, TicketStatus, TimelineEvent
from toolkit.engine.services import EngineServices
from toolkit.errors import NotFoundError, UnavailableError

log = logging.getLogger(__name__)

NOTES = {EventKind.COMMENT, EventKind.CHECKED, EventKind.APPROVED, EventKind.DEFERRED, EventKind.STEP_COMPLETED,
         EventKind.STEP_FAILED, EventKind.STEP_SKIPPED, EventKind.NOTIFICATION, EventKind.ESCALATED}
BACKOFF_FIRST_S, BACKOFF_MAX_S = 5.0, 600.0


@dataclass
class MirrorResult:
    desk: str
    written: list[str] = field(default_factory=list)  # markers written now, or found already there (late answer)
    waiting: str | None = None  # why the mirror stopped (the desk is unavailable); retried later


def marker(event: TimelineEvent) -> str:
    return f"spbe-{event.ticket_id}-{event.seq}"


class DeskMirror:
    def __init__(self, services: EngineServices, hub: DeskHub, batch: int = 200) -> None:
        self.services, self.hub, self.batch = services, hub, batch

    def run_once(self) -> list[MirrorResult]:
        return [self.run_desk(desk) for desk in self.hub.desks.values()]

    def run_desk(self, desk: Desk) -> MirrorResult:
        records, now = self.hub.records, self.services.clock.now()
        result = MirrorResult(desk=desk.name)
        seq, failures, next_at = records.mirror_state(desk.name)
        if next_at is not None and now < next_at:
            result.waiting = f"backing off until {next_at.isoformat()}"
            return result
        while True:
            events = self.services.tickets.events_since(seq, self.batch)
            if not events:
                return result
            for event in events:
                try:
                    self._one(desk, event, result)
                except UnavailableError as exc:
                    delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** failures)
                    records.mirror_failed(desk.name, now + timedelta(seconds=delay), str(exc))
                    result.waiting = str(exc)
                    log.warning("desk %s: mirror waits %.0f s: %s", desk.name, delay, exc)
                    return result
                seq = event.seq
                records.mirrored(desk.name, seq)

    def _one(self, desk: Desk, event: TimelineEvent, result: MirrorResult) -> None:
        link = self.hub.records.issue_for(event.ticket_id)
        if link is None or link[0] != desk.name:
            return
        key = link[1]
        via = str(event.data.get("via", ""))
        if via.startswith(f"ticket-system:{desk.name}:") and event.kind is EventKind.COMMENT:
            return  # it came from this desk
        mark = marker(event)
        if event.kind in NOTES:
            self._write(desk, key, mark, result, lambda: desk.client.add_note(key, event.text, mark))
        elif event.kind is EventKind.ATTACHMENT:
            name = str(event.data.get("name", event.text))
            try:
                content = self.services.tickets.read_attachment(event.ticket_id, name)
            except NotFoundError:
                return
            media = str(event.data.get("media_type") or "application/octet-stream")
            self._write(desk, key, mark, result, lambda: desk.client.attach(key, name, media, content, mark))
        elif event.kind is EventKind.STATUS:
            try:
                target = TicketStatus(str(event.data.get("to")))
            except ValueError:
                return
            status = desk.mapping.statuses.get(target)
            # Not when the desk says it already (a decision taken there moved it, e.g. to Dikembalikan).
            if status is not None and desk.client.issue(key).status not in desk.mapping.statuses_meaning(target):
                self._write(desk, key, mark, result,
                            lambda: desk.client.set_status(key, status, mark, event.text))

    @staticmethod
    def _write(desk: Desk, key: str, mark: str, result: MirrorResult, write: Callable[[], object]) -> None:
        write()  # idempotent by the marker: the client finds an earlier write and returns its id
        result.written.append(mark)
