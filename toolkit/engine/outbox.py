"""Deliver queued results to the ticket system, at least once, shown exactly once.

Items are retried with exponential backoff while the ticket system is unavailable; the ticket
system's dedupe keys turn a repeated delivery (crash between post and mark) into a no-op.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from toolkit.at_rest import open_artifact
from toolkit.domain.tickets.models import AttachmentUpload, NewEvent, TicketStatus
from toolkit.engine.audit_writer import Item as AuditItem
from toolkit.errors import ToolkitError, UnavailableError
from toolkit.ports.jobs import (
    OutboxItem,
    OutboxKind,
    PendingOutbox,
    attachment_item,
    backoff,
    event_item,
    transition_item,
)
from toolkit.services import Services

# The item builders live beside `OutboxItem` (a use case below the engine queues items too); they stay
# importable from here, where the worker has always found them.
__all__ = ["attachment_item", "deliver_due", "event_item", "transition_item"]

log = logging.getLogger("spbe.outbox")


def _deliver_one(app: Services, item: OutboxItem) -> None:
    payload = item.payload
    if item.kind == OutboxKind.EVENT:
        app.tickets.post(item.ticket_id, NewEvent(dedupe_key=item.dedupe_key, **payload))
    elif item.kind == OutboxKind.ATTACHMENT:
        stored = Path(payload["path"]).read_bytes()
        if hashlib.sha256(stored).hexdigest() != payload["sha256"]:
            raise ToolkitError(f"artifact {payload['name']} changed on disk since the job finished")
        content = open_artifact(stored, app.settings, payload["name"])  # a job file encrypted at rest, in clear
        upload = AttachmentUpload(name=payload["name"], media_type=payload["media_type"], content=content,
                                  kind=payload["kind"])
        app.tickets.attach(item.ticket_id, upload, payload["actor"], dedupe_key=item.dedupe_key)
    else:
        app.tickets.transition(item.ticket_id, TicketStatus(payload["status"]), payload["actor"],
                               dedupe_key=item.dedupe_key)


def _event_run(due: list[PendingOutbox], start: int) -> list[PendingOutbox]:
    """The events from ``start`` on, up to the next item of another kind (order on a ticket is kept)."""
    end = start
    while end < len(due) and due[end].item.kind == OutboxKind.EVENT:
        end += 1
    return due[start:end]


def _post_together(app: Services, run: list[PendingOutbox]) -> bool:
    """Post a run of events in one transaction when the ticket system can (the embedded store's
    ``post_many``). False when it cannot, or when one of them was refused: the caller then delivers them
    one by one, so the refused one is retried alone. `UnavailableError` propagates."""
    post_many: Callable[[list[tuple[str, NewEvent]]], int] | None = getattr(app.tickets, "post_many", None)
    if post_many is None or len(run) < 2:
        return False
    try:
        posts = [(p.item.ticket_id, NewEvent(dedupe_key=p.item.dedupe_key, **p.item.payload)) for p in run]
        post_many(posts)
    except UnavailableError:
        raise
    except (ToolkitError, ValueError, TypeError):
        return False
    return True


def deliver_due(app: Services, limit: int = 100,
                record: Callable[[list[AuditItem]], None] | None = None) -> tuple[int, int]:
    """Deliver what is due now; returns (delivered, deferred). Stops at the first unavailability,
    since the rest would fail the same way and order on a ticket matters. Consecutive events go to the
    ticket system in one call when it offers one (`_post_together`).

    The round's delivered items are marked in one queue transaction and audited in one append (or handed
    to ``record``: `spbe serve`'s `AuditWriter`): a crash before the mark delivers them again, which the
    ticket system's dedupe keys turn into no-ops."""
    delivered: list[PendingOutbox] = []
    deferred = 0
    workers = app.settings.workers
    try:
        due = app.queue.outbox_due(app.clock.now(), limit)
        index, singly_until = 0, 0  # a run that could not go together is delivered one by one
        while index < len(due):
            if index >= singly_until:
                run = _event_run(due, index)
                try:
                    together = _post_together(app, run)
                except UnavailableError as exc:
                    app.queue.outbox_retry_later(run[0].id, app.masker(str(exc)),
                                                 app.clock.now() + backoff(run[0].attempts, workers.outbox_retry_base,
                                                                             workers.outbox_retry_max))
                    deferred += 1
                    break
                if together:
                    delivered.extend(run)
                    index += len(run)
                    continue
                singly_until = index + max(1, len(run))
            pending = due[index]
            index += 1
            try:
                _deliver_one(app, pending.item)
            except UnavailableError as exc:
                app.queue.outbox_retry_later(pending.id, app.masker(str(exc)),
                                             app.clock.now() + backoff(pending.attempts, workers.outbox_retry_base,
                                                                         workers.outbox_retry_max))
                deferred += 1
                break
            except (ToolkitError, OSError) as exc:
                log.warning("outbox item %s for %s failed: %s", pending.id, pending.item.ticket_id,
                            app.masker(str(exc)))
                app.queue.outbox_retry_later(pending.id, app.masker(str(exc)),
                                             app.clock.now() + backoff(pending.attempts + 3, workers.outbox_retry_base,
                                                                         workers.outbox_retry_max))
                deferred += 1
                continue
            delivered.append(pending)
    finally:
        if delivered:
            app.queue.outbox_delivered_many([p.id for p in delivered])
            entries: list[AuditItem] = [
                ("engine", "outbox.delivered", p.item.ticket_id,
                 {"auth": "engine", "outbox": p.id, "kind": p.item.kind.value, "key": p.item.dedupe_key})
                for p in delivered]
            (record or app.audit.append_many)(entries)
    return len(delivered), deferred
