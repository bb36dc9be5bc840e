"""What a person may see: tickets, their files and jobs, asked of the one policy.

The CLI on the control node is trusted with every ticket (its operator has the state directory); a
front door is not: an applicant reaches only their own tickets. A ticket the viewer may not see is
answered exactly like one that does not exist (`NotFoundError`), so ticket ids cannot be probed, and
the refusal is audited. A confidential reporter stays hidden from every viewer the SOP does not trust
with them (`toolkit.domain.confidentiality`): fields, requester, timeline actors, and the files the
reporter uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toolkit.domain import install_schedule
from toolkit.domain.catalog.models import Service
from toolkit.domain.confidentiality import hidden_users, redact_events, redact_ticket
from toolkit.domain.principal import ENGINE_USER, Principal
from toolkit.domain.tickets.models import AttachmentRef, Ticket, TicketStatus, TimelineEvent
from toolkit.domain.workflow import WorkflowState
from toolkit.engine.progress import progress
from toolkit.engine.services import EngineServices
from toolkit.errors import NotFoundError, PermissionDeniedError
from toolkit.ports.jobs import Job, JobState
from toolkit.worktime.calendars import calendars_for


@dataclass(frozen=True)
class TicketFilter:
    status: TicketStatus | None = None
    service_id: str | None = None
    agency: str | None = None  # the request's ``instansi`` field, case-insensitive substring
    assignee: str | None = None
    text: str | None = None  # id or title, case-insensitive substring


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket  # redacted for this viewer
    service: Service
    state: WorkflowState
    timeline: list[TimelineEvent]
    attachments: list[AttachmentRef]  # what the applicant attached (hidden ones left out)
    documents: list[AttachmentRef]  # what spbe produced (berita acara, reports, plans)
    outbox_pending: int
    jadwal: dict[str, Any] | None = None  # the installation schedule in force (`install_schedule.summary`)


def _roles(app: EngineServices, principal: Principal) -> frozenset[str]:
    try:
        return frozenset(app.policy.person(principal).roles)
    except NotFoundError:
        return frozenset()


def redacted(app: EngineServices, service: Service, ticket: Ticket, principal: Principal) -> Ticket:
    if principal.user == ticket.requester:
        return ticket  # the reporter knows who they are
    return redact_ticket(app.catalog.roles, service, ticket, _roles(app, principal))


def visible_ticket(app: EngineServices, ticket_id: str, principal: Principal) -> tuple[Service, Ticket]:
    """The ticket (unredacted, for the commands) if ``principal`` may see it; else `NotFoundError`, audited."""
    ticket = app.tickets.get(ticket_id)
    service = app.catalog.get(ticket.service_id)
    if not app.policy.may_view(principal, service, ticket):
        app.audit.append(principal.user, "ticket.view_refused", ticket_id, principal.audit_data())
        raise NotFoundError(f"no ticket {ticket_id}", ticket=ticket_id)
    return service, ticket


def _hidden_files(app: EngineServices, service: Service, ticket: Ticket, principal: Principal) -> frozenset[str]:
    if principal.user == ticket.requester:
        return frozenset()
    return hidden_users(app.catalog.roles, service, ticket, _roles(app, principal))


def show(app: EngineServices, ticket_id: str, principal: Principal) -> TicketView:
    service, ticket = visible_ticket(app, ticket_id, principal)
    timeline = app.tickets.timeline(ticket_id)
    trusted = app.policy.trusted(service, ticket, timeline)
    state = progress(service, ticket, timeline, app.queue, app.policy, trusted=trusted,
                     calendar=calendars_for(app.settings.worktime).for_service(service))  # the office calendar
    hidden = _hidden_files(app, service, ticket, principal)
    shown = timeline if principal.user == ticket.requester else redact_events(
        app.catalog.roles, service, ticket, timeline, _roles(app, principal))
    files = [a for a in ticket.attachments if a.added_by not in hidden]
    return TicketView(ticket=redacted(app, service, ticket, principal), service=service, state=state,
                      timeline=shown, attachments=[a for a in files if a.added_by != ENGINE_USER],
                      documents=[a for a in files if a.added_by == ENGINE_USER],
                      outbox_pending=app.queue.outbox_pending_count(ticket_id),
                      jadwal=install_schedule.summary(service, trusted.events))


def list_tickets(app: EngineServices, principal: Principal, where: TicketFilter, offset: int,
                 limit: int) -> tuple[int, list[Ticket]]:
    """(how many match, this page), newest first, only tickets ``principal`` may see, each redacted."""
    tickets = app.tickets.list_tickets(status=where.status, service_id=where.service_id)
    services = {s.id: s for s in app.catalog.services()}
    text = where.text.casefold() if where.text else None
    agency = where.agency.casefold() if where.agency else None
    out = []
    for ticket in tickets:
        service = services.get(ticket.service_id)
        if service is None or not app.policy.may_view(principal, service, ticket):
            continue
        if where.assignee is not None and ticket.assignee != where.assignee:
            continue
        if agency is not None and agency not in str(ticket.fields.get("instansi") or "").casefold():
            continue
        if text is not None and text not in ticket.id.casefold() and text not in ticket.title.casefold():
            continue
        out.append(redacted(app, service, ticket, principal))
    out.sort(key=lambda t: (t.created_at, t.id), reverse=True)
    return len(out), out[offset:offset + limit]


def attachment(app: EngineServices, ticket_id: str, name: str, principal: Principal,
               documents_only: bool = False) -> tuple[AttachmentRef, bytes]:
    """A file of a visible ticket; a file the viewer may not see is as absent as a missing one."""
    service, ticket = visible_ticket(app, ticket_id, principal)
    hidden = _hidden_files(app, service, ticket, principal)
    ref = next((a for a in ticket.attachments if a.name == name and a.added_by not in hidden
                and (not documents_only or a.added_by == ENGINE_USER)), None)
    if ref is None:
        raise NotFoundError(f"ticket {ticket_id} has no file {name!r}", ticket=ticket_id)
    app.audit.append(principal.user, "ticket.download", ticket_id, {"name": name} | principal.audit_data())
    return ref, app.tickets.read_attachment(ticket_id, name)


def _staff(app: EngineServices, principal: Principal, what: str) -> None:
    if not app.policy.is_staff(principal):
        raise PermissionDeniedError(f"{what} is for the service desk's staff; {principal.user} is an applicant",
                                    user=principal.user)


def jobs(app: EngineServices, principal: Principal, state: JobState | None, ticket_id: str | None,
         limit: int) -> list[Job]:
    """Jobs of the tickets ``principal`` may see (staff only: jobs name hosts and errors)."""
    _staff(app, principal, "listing jobs")
    if ticket_id is not None:
        visible_ticket(app, ticket_id, principal)
    found = app.queue.list_jobs(state=state, ticket_id=ticket_id, limit=limit)
    seen: dict[str, bool] = {}
    out = []
    for job in found:
        if job.ticket_id not in seen:
            ticket = app.tickets.get(job.ticket_id)
            seen[job.ticket_id] = app.policy.may_view(principal, app.catalog.get(ticket.service_id), ticket)
        if seen[job.ticket_id]:
            out.append(job)
    return out


def job(app: EngineServices, job_id: int, principal: Principal) -> Job:
    _staff(app, principal, "reading a job")
    found = app.queue.get(job_id)
    try:
        visible_ticket(app, found.ticket_id, principal)
    except NotFoundError:
        raise NotFoundError(f"no job {job_id}", job=job_id) from None
    return found


def job_logs(app: EngineServices, job_id: int, principal: Principal, after: int = 0) -> list[tuple[int, str]]:
    job(app, job_id, principal)
    return app.queue.logs(job_id, after)
