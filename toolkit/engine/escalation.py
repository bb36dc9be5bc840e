"""Escalation: a step past its standard time, or a ticket past its total SLA, is reported to the
supervisor once: a comment on the ticket and a notification through the configured `Notifier`.

"Once" must survive restarts and several ``spbe serve`` processes, so each escalation is claimed in the
`EscalationClaims` store the services hand over (``state.escalations``: in the embedded default a table of
``state.db``, keyed by ticket and escalation key) before anything is sent, and marked when the
notification went out. A claim whose notification never completed (the process died, the mail server
was down) is taken again after a lease (`CLAIM_LEASE`), so the escalation is delivered at least once and,
in the normal case, exactly once; the ticket comment is idempotent by its dedupe key.

Who is told: the step's ``supervisor`` role from the catalog (the SOPs' "pengawasan internal ...
oleh atasan langsung secara berjenjang"), or, for a step without one, the role book's ``escalation-fallback`` role; a
breached total SLA goes to the roles that ``watch-sla``. The pure part (`due`) only reads the workflow's answer.

When: the workflow's deadlines, counted on the office calendar of the ticket's service
(`toolkit.worktime`): a step the SOP gives in *jam kerja* is late only once that much office time has
passed, so nothing escalates over a weekend, a national holiday or a cuti bersama day that the SOP does not
count. The comment gives the times in the office's zone (WITA, WIB).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from toolkit.documents import zone_context
from toolkit.domain.catalog.models import TimeUnit
from toolkit.domain.catalog.roles import RoleBook, RoleTrait
from toolkit.domain.tickets.models import EventKind, NewEvent, Ticket, TicketStatus
from toolkit.domain.workflow import WorkflowState
from toolkit.engine.progress import progress
from toolkit.errors import ToolkitError, UnavailableError
from toolkit.ports.notifier import Delivery, Notification, Notifier, Recipient
from toolkit.ports.state import EscalationClaims
from toolkit.services import Services
from toolkit.worktime.calendars import calendars_for

log = logging.getLogger("spbe.escalation")
CLAIM_LEASE = timedelta(minutes=2)


class Escalation(BaseModel):
    model_config = ConfigDict(frozen=True)
    ticket_id: str
    key: str
    kind: Literal["step_late", "sla_breached"]
    step_id: str | None
    title: str
    limit: timedelta
    unit: TimeUnit = TimeUnit.KALENDER
    started_at: datetime
    due_at: datetime
    overdue: timedelta
    roles: tuple[str, ...]


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)
    escalation: Escalation
    delivery: Delivery | None
    error: str | None = None


def due(roles: RoleBook, service: Any, ticket: Ticket, state: WorkflowState, now: datetime) -> list[Escalation]:
    """What should be escalated now (already-escalated ones included: the store filters those). ``roles``:
    the catalog's role book, naming the fallback supervisor and who watches the SLA."""
    if ticket.status in (TicketStatus.CLOSED, TicketStatus.DEFERRED):
        return []
    found: list[Escalation] = []
    current = state.current
    if current is not None:
        step_state = state.state_of(current.id)
        limit = current.standard_time
        due_at = step_state.deadline
        if step_state.late and limit is not None and step_state.started_at is not None and due_at is not None:
            found.append(Escalation(
                ticket_id=ticket.id, key=f"step:{current.id}", kind="step_late", step_id=current.id,
                title=current.title, limit=limit, unit=current.standard_time_unit, started_at=step_state.started_at,
                due_at=due_at,
                overdue=now - due_at,
                roles=(current.supervisor or next(iter(roles.with_trait(RoleTrait.ESCALATION_FALLBACK))),)))
    if state.sla.breached:
        variant = next((v for v in service.sla.variants if v.id == state.sla.variant_id), None)
        limit = variant.duration if variant is not None else state.sla.deadline - ticket.created_at
        found.append(Escalation(
            ticket_id=ticket.id, key=f"sla:{state.sla.variant_id}", kind="sla_breached", step_id=None,
            title=state.sla.label, limit=limit, unit=variant.unit if variant is not None else TimeUnit.KALENDER,
            started_at=ticket.created_at, due_at=state.sla.deadline,
            overdue=now - state.sla.deadline, roles=roles.ordered_with_trait(RoleTrait.WATCHES_SLA)))
    return found


def _recipients(app: Services, roles: tuple[str, ...]) -> tuple[Recipient, ...]:
    found: dict[str, Recipient] = {}
    for role in roles:
        for person in app.directory.people_with_role(role):
            found.setdefault(person.username, Recipient(username=person.username, name=person.name,
                                                        email=person.email, role=role))
    return tuple(found.values())


_UNIT_WORDS = {TimeUnit.KALENDER: None, TimeUnit.HARI_KERJA: "hari kerja", TimeUnit.JAM_KERJA: "jam kerja"}


def _escalate(app: Services, store: EscalationClaims, notifier: Notifier, ticket: Ticket, esc: Escalation,
              now: datetime, service: Any = None) -> Outcome | None:
    me = f"{socket.gethostname()}:{os.getpid()}"
    if not store.claim(ticket.id, esc.key, me, now, CLAIM_LEASE):
        return None
    recipients = _recipients(app, esc.roles)
    zone = calendars_for(app.settings.worktime).zone_of(service)
    context = {"tiket": {"id": ticket.id, "judul": ticket.title}, "zona_waktu": zone_context(zone), "eskalasi": {
        "jenis": esc.kind, "judul": esc.title, "batas_s": esc.limit.total_seconds(), "satuan": _UNIT_WORDS[esc.unit],
        "mulai": esc.started_at,
        "tenggat": esc.due_at, "terlambat_s": max(esc.overdue.total_seconds(), 0.0),
        "peran": [app.renderer.role_name(r) for r in esc.roles], "penerima": [r.name for r in recipients]}}
    body = app.masker(str(app.renderer.render("comments", "eskalasi", context)))
    app.tickets.post(ticket.id, NewEvent(kind=EventKind.ESCALATED, actor="spbe", text=body, step_id=esc.step_id,
                                         dedupe_key=f"{ticket.id}:escalation:{esc.key}",
                                         data={"escalation": esc.key, "kind": esc.kind, "roles": list(esc.roles),
                                               "due_at": esc.due_at.isoformat()}))
    delivery: Delivery | None = None
    if recipients:
        subject = f"[{ticket.id}] Eskalasi: " + ("langkah melewati waktu baku" if esc.kind == "step_late"
                                                  else "jangka waktu layanan terlampaui")
        delivery = notifier.send(Notification(ticket_id=ticket.id, key=f"{ticket.id}:{esc.key}", subject=subject,
                                              body=body, recipients=recipients, step_id=esc.step_id))
    store.done(ticket.id, esc.key, delivery.channel if delivery else "none", now)
    app.audit.append("engine", "ticket.escalate", ticket.id,
                     {"auth": "engine", "key": esc.key, "kind": esc.kind, "roles": list(esc.roles),
                      "delivered": list(delivery.delivered) if delivery else [],
                      "skipped": list(delivery.skipped) if delivery else [],
                      "channel": delivery.channel if delivery else None})
    return Outcome(escalation=esc, delivery=delivery)


def check_once(app: Services, now: datetime | None = None, notifier: Notifier | None = None) -> list[Outcome]:
    """Escalate everything due now that was not escalated before; returns what was escalated now."""
    now = now or app.clock.now()
    store = app.state.escalations
    notifier = notifier or app.notifier
    calendars = calendars_for(app.settings.worktime)
    outcomes: list[Outcome] = []
    for status in (TicketStatus.OPEN, TicketStatus.IN_PROGRESS):
        for ticket in app.tickets.list_tickets(status=status):
            try:
                service = app.catalog.get(ticket.service_id)
                state = progress(service, ticket, app.tickets.timeline(ticket.id), app.queue, app.policy, now=now,
                                 calendar=calendars.for_service(service))
                for esc in due(app.catalog.roles, service, ticket, state, now):
                    outcome = _escalate(app, store, notifier, ticket, esc, now, service)
                    if outcome is not None:
                        outcomes.append(outcome)
            except UnavailableError as exc:  # the claim stays unfinished and is retried after its lease
                log.warning("escalation for %s deferred: %s", ticket.id, app.masker(str(exc)))
            except ToolkitError as exc:
                log.warning("escalation for %s failed: %s", ticket.id, app.masker(str(exc)))
                app.audit.append("engine", "ticket.escalate_failed", ticket.id,
                                 {"auth": "engine", "error": app.masker(str(exc))})
    return outcomes
