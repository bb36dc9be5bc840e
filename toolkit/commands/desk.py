"""The service desk's human operations: open, check, approve, defer, record a step, close.

Each operation checks who is acting against the SOP's roles before changing anything, writes the
decision to the audit log, records it on the ticket's timeline in Bahasa Indonesia, and then lets
the scheduler enqueue whatever automated step became current. A refused operation leaves the
ticket exactly as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from toolkit.domain.catalog.models import Service, Step, StepKind, StepPurpose
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.models import (
    AttachmentUpload,
    EventKind,
    NewEvent,
    Ticket,
    TicketDraft,
    TicketStatus,
)
from toolkit.domain.tickets.requests import check_free_text, validate_attachments, validate_request, validate_title
from toolkit.domain.workflow import StepStatus, WorkflowState
from toolkit.engine import scheduler
from toolkit.engine.progress import progress
from toolkit.engine.services import EngineServices
from toolkit.errors import ConfigurationError, ConflictError, InvalidInputError, PermissionDeniedError
from toolkit.ports.directory import Person
from toolkit.splp.apis import check_register


def _reason(reason: str | None, what: str, field: str = "reason") -> str:
    """Every decision carries written text, held to the free-text rules under the name the person
    typed it as (``reason``, ``note``, ``comment``). Blank is refused first, so the message says what
    is missing rather than what is malformed. Checked before stripping: ``str.strip`` would quietly
    drop a trailing U+2028 or U+0085."""
    if reason is None or not reason.strip():
        raise InvalidInputError(f"{what} needs a written {field}", errors=[(field, "required")])
    return check_free_text(reason, field)


def _say(app: EngineServices, template: str, **context: Any) -> str:
    return str(app.renderer.render("comments", template, context))


def _state(app: EngineServices, ticket: Ticket) -> tuple[Any, WorkflowState]:
    service = app.catalog.get(ticket.service_id)
    return service, progress(service, ticket, app.tickets.timeline(ticket.id), app.queue, app.policy)


def _closing_step(service: Service) -> Step:
    closing = service.step_with(StepPurpose.CLOSING)
    if closing is None:
        raise ConfigurationError(f"service {service.id} declares no closing step (purpose: closing)")
    return closing


def _audit(app: EngineServices, principal: Principal, action: str, ticket_id: str, data: dict[str, Any]) -> None:
    app.audit.append(principal.user, action, ticket_id, data | principal.audit_data())


def _require_open(ticket: Ticket) -> None:
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(f"ticket {ticket.id} is closed", ticket=ticket.id)


def admit(service: Service, fields: Mapping[str, Any], attachment_kinds: list[str], *,
          register: Path) -> dict[str, Any]:
    """Intake: the request's fields as stored, or the reason it is refused. Everything an approved step
    would refuse for a reason the applicant can fix is refused here, before anyone approves it.
    ``register`` is the SPLP register (settings.splp_register) an API-scoped request is checked against."""
    cleaned = validate_request(service, fields, attachment_kinds)
    check_register(service, cleaned, register=register)
    return cleaned


def open_ticket(app: EngineServices, service_id: str, principal: Principal, title: str, fields: Mapping[str, Any],
                attachments: list[AttachmentUpload]) -> Ticket:
    service = app.catalog.get(service_id)
    if service.complaints is not None:  # a complaint has its own intake rules, whichever door it came through
        from toolkit.complaints.intake import submit

        return submit(app, service, principal, title, fields, attachments)
    app.policy.authorize_open(principal, service)
    requester = principal.user
    title = validate_title(title)
    names = [a.name for a in attachments]
    validate_attachments(service, attachments)
    kinds = [a.kind for a in attachments if a.kind]
    cleaned = admit(service, fields, kinds, register=app.settings.splp_register)
    variant = service.sla.select(cleaned)
    draft = TicketDraft(service_id=service_id, title=title, requester=requester, fields=cleaned,
                        attachments=tuple(attachments), sla_variant=variant.id)
    ticket = app.tickets.create(draft)
    _audit(app, principal, "ticket.open", ticket.id,
           {"service": service_id, "fields": sorted(cleaned), "attachments": names, "sla": variant.id})
    return ticket


def check(app: EngineServices, ticket_id: str, principal: Principal) -> Ticket:
    """The koordinator layanan's completeness check; forwards the ticket to the approver."""
    ticket = app.tickets.get(ticket_id)
    _require_open(ticket)
    if ticket.status == TicketStatus.DEFERRED:  # returned for revision: it waits on the applicant
        raise ConflictError(f"ticket {ticket_id} waits for the applicant to resubmit it", ticket=ticket_id)
    service, state = _state(app, ticket)
    step = state.current
    if step is None or step.purpose is not StepPurpose.COMPLETENESS_CHECK:
        raise ConflictError(f"ticket {ticket_id} is not waiting for a completeness check", ticket=ticket_id)
    person = app.policy.authorize_check(principal, step)
    actor = principal.user
    kinds = [a.kind for a in ticket.attachments if a.kind]
    admit(service, {k: v for k, v in ticket.fields.items() if v is not None}, kinds,
          register=app.settings.splp_register)
    approver = next((s for s in service.steps if s.kind is StepKind.APPROVAL), None)
    text = _say(app, "kelengkapan", tiket={"id": ticket.id}, petugas=person.name,
                penyetuju=approver.actor if approver else "-")
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.CHECKED, actor=actor, text=text, step_id=step.id,
                                         dedupe_key=_decision_key(ticket_id, step.id)))
    _audit(app, principal, "ticket.check", ticket_id, {"step": step.id, "result": "lengkap"})
    return app.tickets.get(ticket_id)


def _approval_step(app: EngineServices, ticket: Ticket, principal: Principal) -> tuple[Step, Person]:
    _require_open(ticket)
    service, state = _state(app, ticket)
    step = state.current
    if step is None or step.kind is not StepKind.APPROVAL:
        raise ConflictError(f"ticket {ticket.id} is not waiting for an approval", ticket=ticket.id,
                            current=step.id if step else None)
    return step, app.policy.authorize_approval(principal, service, ticket, step)


def approve(app: EngineServices, ticket_id: str, principal: Principal, reason: str | None) -> Ticket:
    text_reason = _reason(reason, "an approval")
    ticket = app.tickets.get(ticket_id)
    step, person = _approval_step(app, ticket, principal)
    actor = principal.user
    text = _say(app, "persetujuan", nama=person.name, peran=step.actor, alasan=text_reason)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.APPROVED, actor=actor, text=text, step_id=step.id,
                                         data={"reason": text_reason}, dedupe_key=_decision_key(ticket_id, step.id)))
    if ticket.status != TicketStatus.IN_PROGRESS:
        app.tickets.transition(ticket_id, TicketStatus.IN_PROGRESS, actor)
    _audit(app, principal, "ticket.approve", ticket_id, {"step": step.id, "reason": text_reason})
    scheduler.advance(app, ticket_id)
    return app.tickets.get(ticket_id)


def defer(app: EngineServices, ticket_id: str, principal: Principal, reason: str | None) -> Ticket:
    text_reason = _reason(reason, "a deferral")
    ticket = app.tickets.get(ticket_id)
    step, person = _approval_step(app, ticket, principal)
    actor = principal.user
    text = _say(app, "penundaan", nama=person.name, peran=step.actor, alasan=text_reason)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.DEFERRED, actor=actor, text=text, step_id=step.id,
                                         data={"reason": text_reason}))
    app.tickets.transition(ticket_id, TicketStatus.DEFERRED, actor)
    _audit(app, principal, "ticket.defer", ticket_id, {"step": step.id, "reason": text_reason})
    return app.tickets.get(ticket_id)


def record_step(app: EngineServices, ticket_id: str, principal: Principal, step_id: str, note: str | None) -> Ticket:
    """A human step of the SOP done outside the toolkit (app installation, UAT), recorded with a note."""
    text_note = _reason(note, "recording a step", "note")
    ticket = app.tickets.get(ticket_id)
    _require_open(ticket)
    _, state = _state(app, ticket)
    step = state.current
    if step is None or step.id != step_id:
        raise ConflictError(
            f"step '{step_id}' is not the current step of {ticket_id} (current: {step.id if step else 'none'})",
            ticket=ticket_id)
    if step.kind is not StepKind.HUMAN:
        raise ConflictError(f"step '{step_id}' is a {step.kind} step; use the matching command", ticket=ticket_id)
    if step.purpose is StepPurpose.COMPLETENESS_CHECK:
        raise ConflictError(f"step '{step_id}' is the completeness check: use 'spbe ticket check'", ticket=ticket_id)
    if step.purpose is StepPurpose.CLOSING:
        raise ConflictError(f"step '{step_id}' closes the ticket: use 'spbe ticket close'", ticket=ticket_id)
    if step.purpose is StepPurpose.SCHEDULE_CONFIRMATION:
        raise ConflictError(f"step '{step_id}' is the requester's answer to the schedule: use 'spbe ticket schedule "
                            "confirm'", ticket=ticket_id)
    person = app.policy.authorize_step(principal, step)
    from toolkit.signing.progress import require_evidence  # signatures, an activated certificate

    require_evidence(app, ticket, step)
    actor = principal.user
    text = _say(app, "langkah_selesai", langkah={"id": step.id, "judul": step.title}, nama=person.name,
                catatan=text_note)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.STEP_COMPLETED, actor=actor, text=text, step_id=step.id,
                                         data={"note": text_note}, dedupe_key=_decision_key(ticket_id, step.id)))
    _audit(app, principal, "step.complete", ticket_id, {"step": step.id, "note": text_note})
    scheduler.advance(app, ticket_id)
    return app.tickets.get(ticket_id)


def close(app: EngineServices, ticket_id: str, principal: Principal, note: str | None) -> Ticket:
    """Closing is the koordinator's step; only notifications may remain after it. Re-entrant: if an
    earlier close recorded the step but could not move the status, closing again finishes it."""
    text_note = _reason(note or "Seluruh tahapan layanan telah selesai.", "closing", "note")
    ticket = app.tickets.get(ticket_id)
    _require_open(ticket)
    service, state = _state(app, ticket)
    closing = _closing_step(service)
    person = app.policy.authorize_step(principal, closing)
    actor = principal.user
    done = state.state_of(closing.id).status == StepStatus.DONE
    if not done and (state.current is None or state.current.id != closing.id):
        current = state.current.id if state.current else "none"
        raise ConflictError(f"ticket {ticket_id} cannot be closed yet; current step: {current}", ticket=ticket_id)
    if not done:
        text = _say(app, "langkah_selesai", langkah={"id": closing.id, "judul": closing.title}, nama=person.name,
                    catatan=text_note)
        app.tickets.post(ticket_id, NewEvent(kind=EventKind.STEP_COMPLETED, actor=actor, text=text,
                                             step_id=closing.id, data={"note": text_note},
                                             dedupe_key=_decision_key(ticket_id, closing.id)))
        _audit(app, principal, "ticket.close", ticket_id, {"step": closing.id, "note": text_note})
    app.tickets.transition(ticket_id, TicketStatus.CLOSED, actor, dedupe_key=f"{ticket_id}:closed")
    scheduler.advance(app, ticket_id)
    return app.tickets.get(ticket_id)


def _decision_key(ticket_id: str, step_id: str) -> str:
    """One decision per step: two people (or two clicks) deciding at once record it once."""
    return f"{ticket_id}:{step_id}:decision"


def comment(app: EngineServices, ticket_id: str, principal: Principal, text: str) -> None:
    body = _reason(text, "a comment", "comment")
    ticket = app.tickets.get(ticket_id)
    _require_open(ticket)
    person = app.policy.person(principal)
    actor = principal.user
    staff = person.roles - app.policy.applicant_roles
    if actor != ticket.requester and not staff:
        raise PermissionDeniedError(f"{actor} may comment only on their own tickets", user=actor)
    origin = {"via": principal.via} if principal.via else {}  # a desk's own comment is not mirrored back to it
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor=actor, text=body, data=origin))
    _audit(app, principal, "ticket.comment", ticket_id, {"chars": len(body)})


def assign(app: EngineServices, ticket_id: str, principal: Principal, assignee: str) -> Ticket:
    """Routing a ticket to a person is the coordinator's: the role of the service's completeness check
    (or, for a service without one, of its closing step)."""
    ticket = app.tickets.get(ticket_id)
    _require_open(ticket)
    service = app.catalog.get(ticket.service_id)
    router = service.step_with(StepPurpose.COMPLETENESS_CHECK) or _closing_step(service)
    app.policy.authorize_role(principal, [router.actor], "assign tickets")
    app.policy.person(assignee)
    _audit(app, principal, "ticket.assign", ticket_id, {"assignee": assignee})
    return app.tickets.assign(ticket_id, assignee, principal.user)
