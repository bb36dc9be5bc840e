"""Returning a request for revision, resubmitting it, and cancelling it.

- **Return** (*dikembalikan*): at the completeness check, its role names what is missing (requirement
  names of the service: fields or attachments) and why. The ticket waits on the applicant
  (``deferred``): the SLA stops, the engine does nothing, the check stays the current step.
- **Resubmit** (*diajukan kembali*): the requester, and only after a return, adds the missing files
  (validated as at opening: content type by libmagic, the catalog's accepted types) and a note; the
  ticket is open again and the koordinator checks it anew. Fields are not edited here: the ticket
  system keeps the request as filed, so a changed field is a new request.
- **Cancel** (*dibatalkan*): the requester or the service's coordinator, only while no approved work
  has started (the current step is at or before the approval); queued jobs of the ticket are cancelled
  and the ticket is closed. After approval, the koordinator closes it through the SOP instead.

Each refusal leaves the ticket as it was; each change is audited with how the principal was proven.
"""

from __future__ import annotations

from collections.abc import Sequence

from toolkit.commands.desk import _audit, _reason, _require_open, _say, _state
from toolkit.domain.catalog.models import StepKind, StepPurpose
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.models import AttachmentUpload, EventKind, NewEvent, Ticket, TicketStatus
from toolkit.domain.tickets.requests import validate_attachments
from toolkit.engine.services import EngineServices
from toolkit.errors import ConflictError, InvalidInputError, PermissionDeniedError
from toolkit.ports.jobs import JobState

RETURNED = "returned_for_revision"
RESUBMITTED = "resubmitted"
CANCELLED = "cancelled"
MAX_MISSING = 50


def _missing(service: object, missing: Sequence[str]) -> list[str]:
    """The requirement names as labels; an unknown name is refused naming it."""
    requirements = service.requirements  # type: ignore[attr-defined]
    labels = {f.name: f.label for f in requirements.fields} | {a.name: a.label for a in requirements.attachments}
    if not missing:
        raise InvalidInputError("returning a request needs what is missing", errors=[("missing", "required")])
    if len(missing) > MAX_MISSING:
        raise InvalidInputError(f"at most {MAX_MISSING} missing requirements", errors=[("missing", "too many")])
    unknown = [name for name in missing if name not in labels]
    if unknown:
        raise InvalidInputError(f"not requirements of this service: {', '.join(repr(n)[:70] for n in unknown[:5])}; "
                                f"expected some of: {', '.join(sorted(labels))}",
                                errors=[("missing", "unknown requirement")])
    return [labels[name] for name in dict.fromkeys(missing)]


def return_for_revision(app: EngineServices, ticket_id: str, principal: Principal, missing: Sequence[str],
                        note: str | None) -> Ticket:
    text_note = _reason(note, "returning a request", "note")
    ticket = app.tickets.get(ticket_id)
    _require_open(ticket)
    service, state = _state(app, ticket)
    step = state.current
    if ticket.status != TicketStatus.OPEN or step is None or step.purpose is not StepPurpose.COMPLETENESS_CHECK:
        raise ConflictError(f"ticket {ticket_id} is not waiting for a completeness check", ticket=ticket_id)
    person = app.policy.authorize_check(principal, step)
    labels = _missing(service, missing)
    text = _say(app, "dikembalikan", petugas=person.name, kekurangan=labels, catatan=text_note)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor=principal.user, text=text, step_id=step.id,
                                         data={RETURNED: {"missing": list(dict.fromkeys(missing)), "note": text_note}}))
    app.tickets.transition(ticket_id, TicketStatus.DEFERRED, principal.user)
    _audit(app, principal, "ticket.return", ticket_id, {"step": step.id, "missing": list(dict.fromkeys(missing))})
    return app.tickets.get(ticket_id)


def _awaiting_resubmission(app: EngineServices, ticket: Ticket) -> bool:
    """Returned, and not resubmitted since (the last of the two markers is a return)."""
    last = None
    for event in app.tickets.timeline(ticket.id):
        data = event.data if isinstance(event.data, dict) else {}
        if RETURNED in data:
            last = RETURNED
        elif RESUBMITTED in data:
            last = RESUBMITTED
    return ticket.status == TicketStatus.DEFERRED and last == RETURNED


def resubmit(app: EngineServices, ticket_id: str, principal: Principal, note: str | None,
             attachments: Sequence[AttachmentUpload] = ()) -> Ticket:
    text_note = _reason(note, "resubmitting a request", "note")
    ticket = app.tickets.get(ticket_id)
    if principal.user != ticket.requester:
        raise PermissionDeniedError(f"only the requester of {ticket_id} may resubmit it", user=principal.user)
    if not _awaiting_resubmission(app, ticket):
        raise ConflictError(f"ticket {ticket_id} was not returned for revision", ticket=ticket_id)
    service = app.catalog.get(ticket.service_id)
    taken = {a.name for a in ticket.attachments}
    clash = [a.name for a in attachments if a.name in taken]
    if clash:
        raise InvalidInputError(f"the ticket already has a file named {clash[0]!r}", errors=[("files", "duplicate")])
    validate_attachments(service, attachments)
    person = app.policy.person(principal)
    for upload in attachments:
        app.tickets.attach(ticket_id, upload, principal.user, dedupe_key=f"{ticket_id}:resubmit:{upload.name}")
    names = [a.name for a in attachments]
    text = _say(app, "diajukan_kembali", nama=person.name, lampiran=names, catatan=text_note)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor=principal.user, text=text,
                                         data={RESUBMITTED: {"attachments": names, "note": text_note}}))
    app.tickets.transition(ticket_id, TicketStatus.OPEN, principal.user)
    _audit(app, principal, "ticket.resubmit", ticket_id, {"attachments": names})
    return app.tickets.get(ticket_id)


def cancel(app: EngineServices, ticket_id: str, principal: Principal, reason: str | None) -> Ticket:
    text_reason = _reason(reason, "cancelling a request")
    ticket = app.tickets.get(ticket_id)
    _require_open(ticket)
    service, state = _state(app, ticket)
    if principal.user != ticket.requester:
        router = service.step_with(StepPurpose.COMPLETENESS_CHECK) or service.step_with(StepPurpose.CLOSING)
        app.policy.authorize_role(principal, [router.actor] if router else [], f"cancel ticket {ticket_id}")
    approval = next((i for i, s in enumerate(service.steps) if s.kind is StepKind.APPROVAL), None)
    current = service.index_of(state.current.id) if state.current is not None else len(service.steps)
    if approval is None or current > approval or ticket.status == TicketStatus.IN_PROGRESS:
        raise ConflictError(f"ticket {ticket_id} is past its approval: the koordinator closes it through the SOP",
                            ticket=ticket_id)
    person = app.policy.person(principal)
    for job in app.queue.list_jobs(ticket_id=ticket_id, limit=1000):
        if job.state in (JobState.QUEUED, JobState.RUNNING):
            app.queue.cancel(job.id)
    text = _say(app, "pembatalan", nama=person.name, alasan=text_reason)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor=principal.user, text=text,
                                         data={CANCELLED: {"reason": text_reason}}))
    app.tickets.transition(ticket_id, TicketStatus.CLOSED, principal.user, dedupe_key=f"{ticket_id}:closed")
    _audit(app, principal, "ticket.cancel", ticket_id, {"reason": text_reason})
    return app.tickets.get(ticket_id)
