"""The complaint desk's operations (`spbe complaint ...`): submit, forward, answer, close, the SP4N-LAPOR reply
text and a round over the mailbox. Each asks the policy as the principal before it writes, records on the
ticket in Bahasa Indonesia and in the audit log; a refused operation leaves the ticket as it was.

Forwarding (step ``teruskan``) routes the complaint to the koordinator of the service concerned: a holder of
the role that routes that service's tickets (`toolkit.complaints.intake.router_role`) who may also answer (the
role of the answer step); the ticket is assigned to them, and only they answer it (step ``jawab``), which
the engine counts as the "answered" moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from toolkit.commands import desk
from toolkit.commands.views import visible_ticket
from toolkit.complaints.intake import complaints_service, router_role
from toolkit.complaints.intake import submit as submit_complaint
from toolkit.complaints.mail import MailOutcome, MailServices, fetch_once
from toolkit.domain.catalog.models import Service
from toolkit.domain.confidentiality import anonymous
from toolkit.domain.policy import TrustedTimeline
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.models import AttachmentUpload, EventKind, NewEvent, Ticket, TicketStatus
from toolkit.domain.tickets.requests import check_free_text
from toolkit.domain.workflow import StepStatus
from toolkit.engine.progress import progress
from toolkit.engine.services import EngineServices
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError, UnavailableError
from toolkit.ports.directory import Person
from toolkit.ports.notifier import Notification, Recipient
from toolkit.worktime.calendars import calendars_for
from toolkit.worktime.config import label_of

MAX_ANSWER = 10000


def submit(app: EngineServices, principal: Principal, fields: Mapping[str, Any],
           attachments: list[AttachmentUpload], title: str | None = None) -> Ticket:
    return submit_complaint(app, complaints_service(app), principal, title, fields, attachments)


def _complaint(app: EngineServices, ticket_id: str) -> tuple[Service, Ticket]:
    ticket = app.tickets.get(ticket_id)
    service = app.catalog.get(ticket.service_id)
    if service.complaints is None:
        raise NotFoundError(f"{ticket_id} is not a complaint (service {service.id})", ticket=ticket_id)
    return service, ticket


def _current(app: EngineServices, service: Service, ticket: Ticket, step_id: str) -> None:
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(f"complaint {ticket.id} is closed", ticket=ticket.id)
    state = progress(service, ticket, app.tickets.timeline(ticket.id), app.queue, app.policy,
                     calendar=calendars_for(app.settings.worktime).for_service(service))
    if state.current is None or state.current.id != step_id:
        current = state.current.id if state.current else "none"
        raise ConflictError(f"complaint {ticket.id} is not at step '{step_id}' (current: {current})", ticket=ticket.id)


def koordinators(app: EngineServices, service: Service, ticket: Ticket) -> list[Person]:
    """Who a complaint may be forwarded to: holders of the concerned service's routing role who may also
    answer; for a complaint about no particular service, the answer step's role."""
    assert service.complaints is not None
    answer_role = service.step(service.complaints.answer_step).actor
    concerned_id = ticket.fields.get(service.complaints.related_service_field)
    role = router_role(app.catalog.get(str(concerned_id))) if concerned_id else answer_role
    return [p for p in app.directory.people_with_role(role) if p.has_role(answer_role)]


def forward(app: EngineServices, ticket_id: str, principal: Principal, to: str | None, note: str | None) -> Ticket:
    service, ticket = _complaint(app, ticket_id)
    assert service.complaints is not None
    step = service.step(service.complaints.forward_step)
    _current(app, service, ticket, step.id)
    person = app.policy.authorize_step(principal, step)
    text_note = check_free_text(note, "note") if note else None
    candidates = koordinators(app, service, ticket)
    if not candidates:
        raise ConflictError(f"no koordinator of the service concerned may answer complaint {ticket_id}",
                            ticket=ticket_id)
    target = next((p for p in candidates if p.username == to), None) if to else candidates[0]
    if target is None:
        names = ", ".join(p.username for p in candidates)
        raise PermissionDeniedError(f"{to} is not a koordinator of the service concerned; one of: {names}",
                                    user=principal.user)
    concerned = ticket.fields.get(service.complaints.related_service_field) if service.complaints else None
    text = (f"Pengaduan diteruskan oleh {person.name} kepada {target.name} (koordinator layanan "
            f"{concerned or 'terkait'}) untuk dijawab." + (f"\nCatatan: {text_note}" if text_note else ""))
    app.tickets.assign(ticket_id, target.username, principal.user)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.STEP_COMPLETED, actor=principal.user, text=text,
                                         step_id=step.id, data={"to": target.username, "note": text_note},
                                         dedupe_key=f"{ticket_id}:{step.id}:decision"))
    if ticket.status == TicketStatus.OPEN:
        app.tickets.transition(ticket_id, TicketStatus.IN_PROGRESS, principal.user)
    app.audit.append(principal.user, "complaint.forward", ticket_id, {"to": target.username} | principal.audit_data())
    return app.tickets.get(ticket_id)


def answer(app: EngineServices, ticket_id: str, principal: Principal, text: str) -> Ticket:
    """The koordinator's answer: completes the answer step (the "answered" moment)."""
    if not text or not text.strip():
        raise InvalidInputError("an answer needs text", errors=[("text", "required")])
    body = check_free_text(text, "text", max_length=MAX_ANSWER)
    service, ticket = _complaint(app, ticket_id)
    assert service.complaints is not None
    step_id = service.complaints.answer_step
    _current(app, service, ticket, step_id)
    person = app.policy.authorize_step(principal, service.step(step_id))
    if ticket.assignee and ticket.assignee != principal.user:
        raise PermissionDeniedError(f"complaint {ticket_id} was forwarded to {ticket.assignee}; only they answer it",
                                    user=principal.user, assignee=ticket.assignee)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.STEP_COMPLETED, actor=principal.user,
                                         text=f"Jawaban dari {person.name}:\n{body}", step_id=step_id,
                                         data={"answer": body}, dedupe_key=f"{ticket_id}:{step_id}:decision"))
    app.audit.append(principal.user, "complaint.answer", ticket_id, {"chars": len(body)} | principal.audit_data())
    _mail_answer(app, service, ticket, step_id, body)
    return app.tickets.get(ticket_id)


def _mail_answer(app: EngineServices, service: Service, ticket: Ticket, step_id: str, body: str) -> None:
    """The answer mailed to the address the complainant left (an e-mail complaint's sender, or `--kontak`),
    when the notifier mails (the default notifier writes on the timeline, where the answer already is). The
    answer is on the ticket either way; a mail server that is down is recorded, not a reason to undo it."""
    address = ticket.fields.get("kontak_pengadu")
    if not isinstance(address, str) or not address or app.notifier.channel == "timeline":
        return
    letter = _letter(app, service, ticket, body, app.clock.now(), greeting="Yth. Pengadu",
                     thanks="Terima kasih atas pengaduan yang Saudara sampaikan.")
    outcome: dict[str, Any]
    try:
        delivery = app.notifier.send(Notification(
            ticket_id=ticket.id, key=f"{ticket.id}:{step_id}:answer", subject=f"[{ticket.id}] Jawaban atas pengaduan",
            body=letter, recipients=(Recipient(username="pengadu", name="Pengadu", email=address),), step_id=step_id))
        outcome = {"channel": delivery.channel, "delivered": list(delivery.delivered),
                   "skipped": list(delivery.skipped)}
    except (UnavailableError, ValidationError) as exc:
        outcome = {"channel": app.notifier.channel, "delivered": [], "error": app.masker(str(exc))[:300]}
    app.audit.append("engine", "complaint.answer_mailed", ticket.id, {"auth": "engine", "step": step_id} | outcome)


def _letter(app: EngineServices, service: Service, ticket: Ticket, text: str, at: datetime, *, greeting: str,
            thanks: str) -> str:
    """The answer as a short letter in Bahasa Indonesia, dated in the service's zone."""
    zone_name = service.timezone or app.settings.worktime.timezone
    label = label_of(zone_name) if service.timezone else app.settings.worktime.zone_label()
    local = at.astimezone(ZoneInfo(zone_name))
    months = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
              "November", "Desember")
    when = f"{local.day} {months[local.month - 1]} {local.year} pukul {local:%H.%M} {label}"
    return (f"{greeting},\n\n{thanks} "
            f"Menindaklanjuti laporan tersebut, dengan ini kami sampaikan jawaban sebagai berikut:\n\n{text}\n\n"
            f"Jawaban ini disampaikan pada {when}.\n\n{service.provider}\n")


def close(app: EngineServices, ticket_id: str, principal: Principal, note: str | None) -> Ticket:
    _complaint(app, ticket_id)
    return desk.close(app, ticket_id, principal, note or "Pengaduan telah dijawab dan ditutup.")


def answer_of(app: EngineServices, service: Service, ticket: Ticket,
              trusted: TrustedTimeline | None = None) -> tuple[str, datetime] | None:
    """The answer that counts (the policy's trusted timeline) and when it was given, or None."""
    assert service.complaints is not None
    step_id = service.complaints.answer_step
    trusted = trusted or app.policy.trusted(service, ticket, app.tickets.timeline(ticket.id))
    found = next((e for e in trusted.events if e.kind == EventKind.STEP_COMPLETED and e.step_id == step_id), None)
    # `spbe ticket advance --step jawab --note ...` records the answer as the step's note.
    text = (found.data.get("answer") or found.data.get("note")) if found is not None else None
    if found is None or not isinstance(text, str):
        return None
    return text, found.at


def reply_text(app: EngineServices, ticket_id: str, principal: Principal) -> str:
    """The answer of a SP4N-LAPOR complaint as the koordinator pastes it back into LAPOR (Bahasa Indonesia)."""
    service, ticket = visible_ticket(app, ticket_id, principal)
    if service.complaints is None:
        raise NotFoundError(f"{ticket_id} is not a complaint", ticket=ticket_id)
    if not app.policy.is_staff(principal):
        raise PermissionDeniedError("the SP4N-LAPOR reply is pasted by the desk's staff", user=principal.user)
    if ticket.fields.get("kanal") != "sp4n_lapor":
        raise ConflictError(f"complaint {ticket_id} did not come through SP4N-LAPOR", ticket=ticket_id)
    found = answer_of(app, service, ticket)
    if found is None:
        raise ConflictError(f"complaint {ticket_id} has no answer yet", ticket=ticket_id)
    text, at = found
    return (f"Nomor laporan SP4N-LAPOR: {ticket.fields.get('nomor_lapor')}\n"
            f"Nomor tiket layanan: {ticket.id}\n\n"
            + _letter(app, service, ticket, text, at, greeting="Yth. Pelapor",
                      thanks="Terima kasih atas laporan yang Saudara sampaikan melalui SP4N-LAPOR."))


def fetch_mail(app: MailServices, principal: Principal) -> list[MailOutcome]:
    """One round over the complaints mailbox, by the desk (the role that receives complaints) or spbe itself."""
    if principal != Principal.engine():
        service = complaints_service(app)
        app.policy.authorize_role(principal, [service.steps[0].actor], "read the complaints mailbox")
    outcomes = fetch_once(app)
    app.audit.append(principal.user, "complaint.fetch_mail", None,
                     {"created": sum(o.result == "created" for o in outcomes),
                      "refused": sum(o.result == "refused" for o in outcomes)} | principal.audit_data())
    return outcomes


def complaint_view(app: EngineServices, ticket: Ticket, principal: Principal) -> dict[str, Any]:
    """What `spbe complaint list/show` print: the complaint as this viewer may see it."""
    service = app.catalog.get(ticket.service_id)
    timeline = app.tickets.timeline(ticket.id)
    trusted = app.policy.trusted(service, ticket, timeline)  # once, for the state and the answer
    state = progress(service, ticket, timeline, app.queue, app.policy, trusted=trusted,
                     calendar=calendars_for(app.settings.worktime).for_service(service))
    hidden = anonymous(service, ticket) and principal.user != ticket.requester
    found = answer_of(app, service, ticket, trusted)
    spec = service.complaints
    answered = next((s for s in state.steps if spec is not None and s.step.id == spec.answer_step), None)
    return {"id": ticket.id, "status": ticket.status.value,
            "jenis": ticket.fields.get(spec.kind_field) if spec else None,
            "kanal": ticket.fields.get("kanal"), "layanan_terkait": ticket.fields.get("layanan_terkait"),
            "tiket_terkait": ticket.fields.get("tiket_terkait"), "nomor_lapor": ticket.fields.get("nomor_lapor"),
            "pengadu": "[dirahasiakan]" if hidden else ticket.requester,
            "kontak_pengadu": "[dirahasiakan]" if hidden and ticket.fields.get("kontak_pengadu")
            else ticket.fields.get("kontak_pengadu"),
            "isi": ticket.fields.get("isi"), "step": state.current.id if state.current else None,
            "assignee": ticket.assignee, "answer": found[0] if found else None,
            "answered_at": found[1].isoformat() if found else None,
            "answer_due": answered.deadline.isoformat() if answered and answered.deadline else None,
            "answer_late": bool(answered and answered.late and answered.status != StepStatus.DONE),
            "created_at": ticket.created_at.isoformat()}


def list_complaints(app: EngineServices, principal: Principal) -> list[dict[str, Any]]:
    service = complaints_service(app)
    out = []
    for ticket in app.tickets.list_tickets(service_id=service.id):
        if app.policy.may_view(principal, service, ticket):
            out.append(complaint_view(app, ticket, principal))
    return sorted(out, key=lambda v: v["created_at"], reverse=True)


def show_complaint(app: EngineServices, ticket_id: str, principal: Principal) -> dict[str, Any]:
    service, ticket = visible_ticket(app, ticket_id, principal)
    if service.complaints is None:
        raise NotFoundError(f"{ticket_id} is not a complaint", ticket=ticket_id)
    return complaint_view(app, ticket, principal)
