"""The default `Notifier`: a ``notification`` event on the ticket's timeline, addressed by name.

Idempotent by the notification's key (the ticket store's dedupe key), so a retried delivery shows once.
"""

from __future__ import annotations

from typing import Any

from toolkit.adapter_options import AdapterOptions
from toolkit.domain.tickets.models import EventKind, NewEvent
from toolkit.ports.notifier import Delivery, Notification
from toolkit.ports.tickets import TicketSystem


class TimelineNotifier:
    channel = "timeline"
    Options = AdapterOptions  # none of its own: it writes to the ticket store the app already has

    def __init__(self, *, settings: Any, tickets: TicketSystem) -> None:
        self._tickets = tickets

    def send(self, notification: Notification) -> Delivery:
        names = ", ".join(f"{r.name} ({r.role})" if r.role else r.name for r in notification.recipients)
        text = f"Kepada: {names}\n\n**{notification.subject}**\n\n{notification.body}"
        self._tickets.post(notification.ticket_id, NewEvent(
            kind=EventKind.NOTIFICATION, actor="spbe", text=text, step_id=notification.step_id,
            dedupe_key=f"notify:{notification.key}",
            data={"channel": self.channel, "to": [r.username for r in notification.recipients]}))
        return Delivery(channel=self.channel, delivered=tuple(r.username for r in notification.recipients))
