"""Deliver queued results to the ticket system, at least once, shown exactly once.

Items are retried with exponential backoff while the ticket system is unavailable; the ticket
system's dedupe keys turn a repeated delivery (crash between post and mark) into a no-op.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from toolkit.engine.app import App
from toolkit.errors import ToolkitError, UnavailableError
from toolkit.jobs import OutboxItem, OutboxKind, backoff
from toolkit.tickets.models import AttachmentUpload, EventKind, NewEvent, TicketStatus

log = logging.getLogger("spbe.outbox")


def event_item(ticket_id: str, dedupe_key: str, kind: EventKind, text: str, *, actor: str = "spbe",
               step_id: str | None = None, data: dict[str, Any] | None = None) -> OutboxItem:
    return OutboxItem(ticket_id=ticket_id, kind=OutboxKind.EVENT, dedupe_key=dedupe_key,
                      payload={"kind": kind.value, "actor": actor, "text": text, "step_id": step_id,
                               "data": data or {}})


def attachment_item(ticket_id: str, dedupe_key: str, path: Path, name: str, media_type: str,
                    kind: str | None, actor: str = "spbe") -> OutboxItem:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return OutboxItem(ticket_id=ticket_id, kind=OutboxKind.ATTACHMENT, dedupe_key=dedupe_key,
                      payload={"path": str(path), "name": name, "media_type": media_type, "kind": kind,
                               "actor": actor, "sha256": digest})


def transition_item(ticket_id: str, dedupe_key: str, status: TicketStatus, actor: str) -> OutboxItem:
    return OutboxItem(ticket_id=ticket_id, kind=OutboxKind.TRANSITION, dedupe_key=dedupe_key,
                      payload={"status": status.value, "actor": actor})


def _deliver_one(app: App, item: OutboxItem) -> None:
    payload = item.payload
    if item.kind == OutboxKind.EVENT:
        app.tickets.post(item.ticket_id, NewEvent(dedupe_key=item.dedupe_key, **payload))
    elif item.kind == OutboxKind.ATTACHMENT:
        content = Path(payload["path"]).read_bytes()
        if hashlib.sha256(content).hexdigest() != payload["sha256"]:
            raise ToolkitError(f"artifact {payload['name']} changed on disk since the job finished")
        upload = AttachmentUpload(name=payload["name"], media_type=payload["media_type"], content=content,
                                  kind=payload["kind"])
        app.tickets.attach(item.ticket_id, upload, payload["actor"], dedupe_key=item.dedupe_key)
    else:
        app.tickets.transition(item.ticket_id, TicketStatus(payload["status"]), payload["actor"],
                               dedupe_key=item.dedupe_key)


def deliver_due(app: App, limit: int = 100) -> tuple[int, int]:
    """Deliver what is due now; returns (delivered, deferred). Stops at the first unavailability,
    since the rest would fail the same way and order on a ticket matters."""
    delivered = deferred = 0
    workers = app.settings.workers
    for pending in app.queue.outbox_due(datetime.now(UTC), limit):
        try:
            _deliver_one(app, pending.item)
        except UnavailableError as exc:
            app.queue.outbox_retry_later(pending.id, app.masker(str(exc)),
                                         datetime.now(UTC) + backoff(pending.attempts, workers.outbox_retry_base,
                                                                     workers.outbox_retry_max))
            deferred += 1
            break
        except (ToolkitError, OSError) as exc:
            log.warning("outbox item %s for %s failed: %s", pending.id, pending.item.ticket_id, app.masker(str(exc)))
            app.queue.outbox_retry_later(pending.id, app.masker(str(exc)),
                                         datetime.now(UTC) + backoff(pending.attempts + 3, workers.outbox_retry_base,
                                                                     workers.outbox_retry_max))
            deferred += 1
            continue
        app.queue.outbox_delivered(pending.id)
        app.audit.append("engine", "outbox.delivered", pending.item.ticket_id,
                         {"auth": "engine",
                          "outbox": pending.id, "kind": pending.item.kind.value, "key": pending.item.dedupe_key})
        delivered += 1
    return delivered, deferred
