"""Recording a branch decision of an SOP (see `toolkit.domain.decisions`), with its audit and timeline entry;
and closing a report its verification found is not an incident (`reject`).

Who may decide is the catalog's answer: the actor role of the step that lists the field in
``decides``. A decision is allowed until that step is done or, for a step the branch skipped, until a
later step is done (a branch can be revised while the procedure has not gone past it). The timeline
entry says what changed and, when the decision moves the SLA (outside help adds seven days; no backup
is 72 hours, not 48), the new total, so the ticket records which total applies and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolkit.commands.desk import _decision_key, _reason, _require_open, _say
from toolkit.documents import zone_context
from toolkit.domain import decisions
from toolkit.domain.catalog.models import StepKind
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.confidentiality import reporter_confidential
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.field_types import is_email
from toolkit.domain.tickets.models import EventKind, NewEvent, Ticket, TicketStatus
from toolkit.domain.workflow import StepStatus
from toolkit.engine import scheduler
from toolkit.engine.progress import progress
from toolkit.engine.services import EngineServices
from toolkit.errors import ConflictError, NotFoundError, UnavailableError
from toolkit.ports.directory import Person
from toolkit.ports.notifier import Notification, Recipient
from toolkit.worktime.calendars import calendars_for


def decide(app: EngineServices, ticket_id: str, principal: Principal, raw: Mapping[str, Any],
           reason: str | None) -> Ticket:
    text_reason = _reason(reason, "a decision")
    ticket = app.tickets.get(ticket_id)
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(f"ticket {ticket_id} is closed", ticket=ticket_id)
    service = app.catalog.get(ticket.service_id)
    clean = decisions.validate(service, raw)
    steps = {name: decisions.deciding_step(service, name) for name in clean}  # InvalidInputError first
    person = app.policy.authorize_decision(principal, service, clean)
    actor = principal.user
    timeline = list(app.policy.trusted(service, ticket, app.tickets.timeline(ticket_id)).events)
    before = progress(service, ticket, timeline, app.queue, app.policy)
    for name, step in steps.items():
        if before.state_of(step.id).status == StepStatus.DONE:
            raise ConflictError(f"step {step.id} is done; '{name}' can no longer be changed", ticket=ticket_id)
        passed = [s.step.id for s in before.steps[service.index_of(step.id) + 1:] if s.status == StepStatus.DONE]
        if passed:  # the procedure already went past this branch point (a skipped step is never "done")
            raise ConflictError(f"'{name}' can no longer be changed: step {passed[0]} after {step.id} is done",
                                ticket=ticket_id)
    current = decisions.effective_fields(ticket.fields, timeline)
    changes = [{"label": service.requirements.field(n).label, "sebelum": current.get(n), "sesudah": v}
               for n, v in clean.items()]
    after_fields = current | clean
    variant = service.sla.select(after_fields)
    text = str(app.renderer.render("comments", "keputusan", {
        "nama": person.name, "perubahan": changes, "alasan": text_reason,
        "sla_berubah": variant.id != before.sla.variant_id, "sla": {"id": variant.id, "label": variant.label},
    }))
    data: dict[str, Any] = {decisions.DECISIONS: clean, "reason": text_reason,
                            "steps": sorted({step.id for step in steps.values()}), "sla_variant": variant.id}
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor=actor, text=text, data=data))
    app.audit.append(actor, "ticket.decide", ticket_id,
                     {"decisions": clean, "reason": text_reason, "sla_variant": variant.id} | principal.audit_data())
    scheduler.advance(app, ticket_id)
    return app.tickets.get(ticket_id)


# -- Gorontalo step 2: "jika laporan terverifikasi" ------------------------------------------------------
UNVERIFIED = "incident_unverified"


def _reporter(app: EngineServices, service: Any, ticket: Ticket) -> tuple[str, Recipient]:
    """How the notice addresses the reporter, and where it goes. A confidential reporter (the SOP guarantees
    their secrecy) is "Pelapor" and reached only through the contact they gave when it is an e-mail address."""
    roles = app.catalog.roles
    if reporter_confidential(service):
        role = min(roles.with_trait(RoleTrait.REPORTER))
        contact = str(ticket.fields.get("pelapor_kontak") or "")
        label = roles.label(role) or role
        return label, Recipient(username=role, name=label, email=contact if is_email(contact) else None, role=role)
    try:
        person: Person | None = app.directory.person(ticket.requester)
    except NotFoundError:
        person = None
    name = person.name if person is not None else ticket.requester
    email = (person.email if person is not None else None) or ticket.fields.get("kontak_email")
    return name, Recipient(username=ticket.requester, name=" ".join(name.split()),
                           email=email if is_email(str(email or "")) else None)


def reject(app: EngineServices, ticket_id: str, principal: Principal, reason: str | None) -> Ticket:
    """Close a report the verification found is not an incident, with the reason, and tell the reporter.

    Only at the verification step the catalog names (``incident.verification_step``, where
    ``incident.closes_unverified`` allows it), only by that step's role (for an approval step: never the
    reporter). The decision takes the step's one decision slot (the same dedupe key as an approval), so an
    approval and a rejection racing each other record one of them; the ticket is closed, so nothing is
    approved, decided or enqueued on it afterwards."""
    text_reason = _reason(reason, "closing an unverified report")
    ticket = app.tickets.get(ticket_id)
    _require_open(ticket)
    service = app.catalog.get(ticket.service_id)
    spec = service.incident
    if spec is None or not spec.closes_unverified:
        raise ConflictError(f"service {service.id} does not close reports as not verified", ticket=ticket_id)
    step = service.step(spec.verification_step)
    state = progress(service, ticket, app.tickets.timeline(ticket_id), app.queue, app.policy)
    if state.current is None or state.current.id != step.id:
        current = state.current.id if state.current else "none"
        raise ConflictError(f"ticket {ticket_id} is past its verification step {step.id} (current: {current})",
                            ticket=ticket_id)
    if step.kind is StepKind.APPROVAL:
        person = app.policy.authorize_approval(principal, service, ticket, step)
    else:
        person = app.policy.authorize_step(principal, step)
    actor = principal.user
    text = _say(app, "laporan_tidak_terverifikasi", nama=person.name, peran=step.actor, alasan=text_reason)
    posted = app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor=actor, text=text, step_id=step.id,
                                                  data={UNVERIFIED: {"reason": text_reason}},
                                                  dedupe_key=_decision_key(ticket_id, step.id)))
    if UNVERIFIED not in posted.data:  # an approval (or check) took the slot first
        raise ConflictError(f"step {step.id} of {ticket_id} was already decided", ticket=ticket_id)
    app.tickets.transition(ticket_id, TicketStatus.CLOSED, actor, dedupe_key=f"{ticket_id}:closed")
    app.audit.append(actor, "ticket.reject_unverified", ticket_id,
                     {"step": step.id, "reason": text_reason} | principal.audit_data())
    _tell_reporter(app, service, ticket, step.id, text_reason)
    return app.tickets.get(ticket_id)


def _tell_reporter(app: EngineServices, service: Any, ticket: Ticket, step_id: str, reason: str) -> None:
    """The notice through the configured notifier (the ticket's timeline by default, or mail). The decision is
    already on the ticket and in the audit log; a channel that is down is recorded, not a reason to undo it."""
    sapaan, recipient = _reporter(app, service, ticket)
    notice = app.masker(str(app.renderer.render("comments", "pemberitahuan_tidak_terverifikasi", {
        "sapaan": sapaan, "tiket": {"id": ticket.id, "judul": ticket.title}, "alasan": reason,
        "layanan": {"nama": service.name, "penyelenggara": service.provider,
                    "pengaduan": list(service.complaint_channels)},
        "sekarang": app.clock.now(),
        "zona_waktu": zone_context(calendars_for(app.settings.worktime).zone_of(service))})))  # the office's
    try:
        delivery = app.notifier.send(Notification(
            ticket_id=ticket.id, key=f"{ticket.id}:{step_id}:unverified",
            subject=f"[{ticket.id}] Laporan tidak terverifikasi", body=notice, recipients=(recipient,),
            step_id=step_id))
        outcome: dict[str, Any] = {"channel": delivery.channel, "delivered": list(delivery.delivered),
                                   "skipped": list(delivery.skipped)}
    except UnavailableError as exc:
        outcome = {"channel": app.settings.notifier.kind, "delivered": [], "error": app.masker(str(exc))}
    app.audit.append("engine", "ticket.notify_unverified", ticket.id, {"auth": "engine", "step": step_id} | outcome)
