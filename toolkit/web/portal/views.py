"""What a portal page shows of a ticket, for one viewer: read-only, computed from the stores and the policy.

Who may see a ticket: its requester, and Diskominfo's people (any role beyond the applicant ones, the
same line `desk.comment` draws). Anyone else gets the same "not found" as for a ticket that does not
exist, so ticket ids cannot be probed. A confidential reporter is hidden from every viewer outside the
roles the SOP trusts (`toolkit.domain.confidentiality`), in the fields, the requester, the attachments'
uploader and the timeline alike.

For the current step the page says who may act on it (the step's role and the people holding it; for an
approval, never the requester) and by when (the step's standard time from when it became current, else
the SLA deadline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from toolkit.domain.catalog.models import Service, Step, StepKind, StepPurpose
from toolkit.domain.confidentiality import redact_events, redact_ticket
from toolkit.domain.principal import ENGINE_USER
from toolkit.domain.tickets.models import AttachmentRef, Ticket, TimelineEvent
from toolkit.domain.workflow import StepState, WorkflowState
from toolkit.engine.progress import progress
from toolkit.engine.services import EngineServices
from toolkit.errors import NotFoundError
from toolkit.web.portal.web import Viewer
from toolkit.worktime.calendars import calendars_for

NOT_FOUND = "tiket tidak ditemukan"
TEXT_TYPES = ("text/", "application/json")


@dataclass(frozen=True)
class Actor:
    role: str
    role_label: str
    people: tuple[str, ...]  # names, for the page
    deadline: datetime | None
    late: bool


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket  # redacted for this viewer
    service: Service
    state: WorkflowState
    fields: list[tuple[str, Any]]  # (label, value) in the catalog's order
    timeline: list[TimelineEvent]
    attachments: list[AttachmentRef]  # what the applicant sent
    documents: list[AttachmentRef]  # what the engine produced (berita acara, reports, plans)
    actor: Actor | None
    mine: bool

    @property
    def current(self) -> Step | None:
        return self.state.current

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.state.steps if s.status.value in ("done", "skipped"))


def may_view(viewer: Viewer, ticket: Ticket) -> bool:
    return ticket.requester == viewer.user or viewer.is_staff


def visible_ticket(app: EngineServices, viewer: Viewer, ticket_id: str) -> Ticket:
    """The ticket, or `NotFoundError` both when it does not exist and when the viewer may not see it."""
    try:
        ticket = app.tickets.get(ticket_id)
    except NotFoundError:
        raise NotFoundError(NOT_FOUND, ticket=ticket_id) from None
    if not may_view(viewer, ticket):
        raise NotFoundError(NOT_FOUND, ticket=ticket_id)
    return ticket


def _actor(app: EngineServices, service: Service, ticket: Ticket, state: WorkflowState) -> Actor | None:
    step = state.current
    if step is None:
        return None
    current: StepState = state.state_of(step.id)
    if step.automated:
        people: tuple[str, ...] = ("sistem (otomatis)",)
    else:
        holders = app.directory.people_with_role(step.actor)
        if step.kind is StepKind.APPROVAL:
            holders = [p for p in holders if p.username != ticket.requester]
        if step.actor in app.policy.applicant_roles:
            holders = [p for p in holders if p.username == ticket.requester]
        people = tuple(p.name for p in holders)
    deadline = state.sla.deadline
    if current.deadline is not None:  # the step's standard time, counted on the office calendar
        deadline = min(deadline, current.deadline)
    return Actor(role=step.actor, role_label=app.catalog.roles.label(step.actor) or step.actor, people=people,
                 deadline=deadline, late=current.late or state.sla.breached)


def ticket_view(app: EngineServices, viewer: Viewer, ticket: Ticket) -> TicketView:
    service = app.catalog.get(ticket.service_id)
    timeline = app.tickets.timeline(ticket.id)
    state = progress(service, ticket, timeline, app.queue, app.policy,
                     calendar=calendars_for(app.settings.worktime).for_service(service))
    roles = viewer.roles
    mine = ticket.requester == viewer.user  # the reporter reads their own report whole
    shown = ticket if mine else redact_ticket(app.catalog.roles, service, ticket, roles)
    labels = {f.name: f.label for f in service.requirements.fields}
    fields = [(labels[name], value) for name, value in
              ((spec.name, shown.fields.get(spec.name)) for spec in service.requirements.fields)
              if name in shown.fields]
    events = timeline if mine else redact_events(app.catalog.roles, service, ticket, timeline, roles)
    documents = [a for a in shown.attachments if a.added_by == ENGINE_USER]
    sent = [a for a in shown.attachments if a.added_by != ENGINE_USER]
    return TicketView(ticket=shown, service=service, state=state, fields=fields, timeline=events,
                      attachments=sent, documents=documents, actor=_actor(app, service, ticket, state),
                      mine=mine)


def text_documents(app: EngineServices, view: TicketView, limit: int = 200_000) -> list[tuple[str, str]]:
    """(name, text) of the engine's text documents (rendered config, diff, plan JSON) to show inline."""
    out = []
    for ref in view.documents:
        if ref.media_type.startswith(TEXT_TYPES) and ref.size <= limit:
            out.append((ref.name, app.tickets.read_attachment(view.ticket.id, ref.name).decode("utf-8", "replace")))
    return out


def waiting_for(app: EngineServices, purpose: StepPurpose | None, kind: StepKind | None,
                viewer: Viewer) -> list[tuple[Ticket, Step, datetime]]:
    """Open tickets whose current step is a completeness check (``purpose``) or an approval (``kind``)
    that this viewer's roles may do, with the SLA deadline; oldest first."""
    out = []
    for ticket_id in app.tickets.active_ticket_ids():
        ticket = app.tickets.get(ticket_id)
        service = app.catalog.get(ticket.service_id)
        state = progress(service, ticket, app.tickets.timeline(ticket.id), app.queue, app.policy,
                         calendar=calendars_for(app.settings.worktime).for_service(service))
        step = state.current
        if step is None or step.actor not in viewer.roles:
            continue
        if (purpose is not None and step.purpose is purpose) or (kind is not None and step.kind is kind):
            if kind is StepKind.APPROVAL and ticket.requester == viewer.user:
                continue
            out.append((redact_ticket(app.catalog.roles, service, ticket, viewer.roles), step, state.sla.deadline))
    return out


def countdown(deadline: datetime, now: datetime) -> timedelta:
    return deadline - now
