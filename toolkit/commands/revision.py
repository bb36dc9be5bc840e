"""Returning a request for revision (the koordinator's "kembalikan") and the applicant's resubmission.

The SOPs' completeness check either forwards a request to the approver (`desk.check`) or sends it back
to the applicant with what is missing. Returning is done by whoever may do the check (the same policy
call), needs a written note, is posted on the timeline and moves the ticket to *deferred* (ditunda): the
SLA clock pauses while the applicant works on it (`toolkit.engine.progress.deferred_time`) and the
engine's sweep leaves it alone. Resubmitting is the requester's, with a note and optionally the missing
attachments (validated as at opening); the ticket is open again and waits for the check.
"""

from __future__ import annotations

from toolkit.commands.desk import _audit, _reason, _require_open, _state
from toolkit.domain.catalog.models import StepPurpose
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.models import AttachmentUpload, EventKind, NewEvent, Ticket, TicketStatus
from toolkit.domain.tickets.requests import validate_attachments
from toolkit.engine.services import EngineServices
from toolkit.errors import ConflictError, PermissionDeniedError

RETURNED = "returned_for_revision"
RESUBMITTED = "resubmitted"


def return_for_revision(app: EngineServices, ticket_id: str, principal: Principal, note: str | None) -> Ticket:
    text = _reason(note, "returning a request", "note")
    ticket = app.tickets.get(ticket_id)
    _require_open(ticket)
    _, state = _state(app, ticket)
    step = state.current
    if step is None or step.purpose is not StepPurpose.COMPLETENESS_CHECK or ticket.status != TicketStatus.OPEN:
        raise ConflictError(f"ticket {ticket_id} is not waiting for a completeness check", ticket=ticket_id)
    person = app.policy.authorize_check(principal, step)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor=principal.user, step_id=step.id,
                                         text=f"Permohonan dikembalikan kepada pemohon untuk dilengkapi oleh "
                                              f"{person.name}.\n\nCatatan: {text}", data={RETURNED: True}))
    app.tickets.transition(ticket_id, TicketStatus.DEFERRED, principal.user)
    _audit(app, principal, "ticket.return", ticket_id, {"step": step.id, "note": text})
    return app.tickets.get(ticket_id)


def resubmit(app: EngineServices, ticket_id: str, principal: Principal, note: str | None,
             attachments: list[AttachmentUpload]) -> Ticket:
    text = _reason(note, "resubmitting a request", "note")
    ticket = app.tickets.get(ticket_id)
    _require_open(ticket)
    if ticket.requester != principal.user:
        raise PermissionDeniedError(f"only the requester of {ticket_id} may resubmit it", user=principal.user)
    timeline = app.tickets.timeline(ticket_id)
    returned = next((e for e in reversed(timeline) if e.data.get(RETURNED) is True), None)
    if ticket.status != TicketStatus.DEFERRED or returned is None:
        raise ConflictError(f"ticket {ticket_id} was not returned for revision", ticket=ticket_id)
    service = app.catalog.get(ticket.service_id)
    validate_attachments(service, [*ticket.attachments, *attachments])
    for upload in attachments:
        app.tickets.attach(ticket_id, upload, principal.user)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor=principal.user, text=text,
                                         data={RESUBMITTED: True}))
    app.tickets.transition(ticket_id, TicketStatus.OPEN, principal.user)
    _audit(app, principal, "ticket.resubmit", ticket_id, {"note": text, "attachments": [a.name for a in attachments]})
    return app.tickets.get(ticket_id)
