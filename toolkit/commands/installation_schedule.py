"""Proposing, confirming and refusing the *jadwal pelaksanaan* of an installation (SOP 001 steps 5-6).

Not `toolkit.commands.schedules`, which manages cron schedules of compliance runs: this is the date the team
and the applicant agree for one ticket's installation (`toolkit.domain.install_schedule` for the rules).

* ``propose``: a holder of the role of the step of purpose ``schedule-proposal`` (never the requester), from
  that step until the scheduled step has started. Proposing while that step is current completes it (the
  schedule is the last part of the SOP's *persiapan*); a later proposal supersedes the one before it, even a
  confirmed one, and the applicant answers again.
* ``confirm`` / ``reject``: the requester only, once per proposal. Confirming completes the step of purpose
  ``schedule-confirmation`` when it is current. Two confirmations at once (two clicks, two processes)
  record one answer: the answer carries the dedupe key ``<ticket>:jadwal:<proposal>:jawaban``, and the
  loser is told it changed nothing (``acted`` False) and writes no audit entry.

Each writes a Bahasa Indonesia comment on the ticket, an audit entry, then lets the scheduler look at the
ticket (the scheduled step is enqueued only once its confirmed start has come; `spbe serve`'s sweep
notices that moment).
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from toolkit.commands.desk import _reason
from toolkit.domain import install_schedule as sched
from toolkit.domain.catalog.models import Service, Step, StepPurpose
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.models import EventKind, NewEvent, Ticket, TicketStatus, TimelineEvent
from toolkit.domain.workflow import StepStatus, WorkflowState
from toolkit.engine import scheduler
from toolkit.engine.progress import progress
from toolkit.engine.services import EngineServices
from toolkit.errors import ConflictError, InvalidInputError, PermissionDeniedError


class Outcome(BaseModel):
    """What a schedule command did: the schedule now in force and whether this call changed it."""

    model_config = ConfigDict(frozen=True)
    ticket_id: str
    schedule: sched.Recorded
    acted: bool
    zone: str


def _steps(service: Service, ticket_id: str) -> tuple[Step, Step, Step]:
    found = [service.step_with(p) for p in (StepPurpose.SCHEDULE_PROPOSAL, StepPurpose.SCHEDULE_CONFIRMATION,
                                             StepPurpose.SCHEDULED)]
    if not all(found):
        raise ConflictError(f"service {service.id} has no installation schedule", ticket=ticket_id)
    return found[0], found[1], found[2]  # type: ignore[return-value]


def _read(app: EngineServices, ticket_id: str) -> tuple[Ticket, Service, list[TimelineEvent], WorkflowState]:
    ticket = app.tickets.get(ticket_id)
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(f"ticket {ticket_id} is closed", ticket=ticket_id)
    if ticket.status == TicketStatus.DEFERRED:
        raise ConflictError(f"ticket {ticket_id} is deferred", ticket=ticket_id)
    service = app.catalog.get(ticket.service_id)
    timeline = list(app.policy.trusted(service, ticket, app.tickets.timeline(ticket_id)).events)
    state = progress(service, ticket, timeline, app.queue, app.policy, now=app.clock.now())
    return ticket, service, timeline, state


def _outcome(app: EngineServices, ticket_id: str, acted: bool) -> Outcome:
    ticket = app.tickets.get(ticket_id)
    service = app.catalog.get(ticket.service_id)
    timeline = app.policy.trusted(service, ticket, app.tickets.timeline(ticket_id)).events
    current = sched.schedule_of(timeline).current
    assert current is not None  # every caller has just recorded or found one
    return Outcome(ticket_id=ticket_id, schedule=current, acted=acted, zone=sched.zone_of(service).key)


def _times(proposal: sched.Recorded, service: Service) -> dict[str, str]:
    zone = sched.zone_of(service)
    return {"mulai": sched.local(proposal.start, zone), "selesai": sched.local(proposal.end, zone)}


def _say(app: EngineServices, template: str, **context: Any) -> str:
    return str(app.renderer.render("comments", template, context))


def propose(app: EngineServices, ticket_id: str, principal: Principal, start: str, end: str,
            note: str | None = None) -> Outcome:
    """Record a proposed schedule; ``start``/``end`` in ISO form, naive ones in the service's zone."""
    ticket, service, timeline, state = _read(app, ticket_id)
    proposing, _, scheduled = _steps(service, ticket_id)
    if principal.user == ticket.requester:
        raise PermissionDeniedError(f"{principal.user} opened ticket {ticket_id} and may not propose its schedule",
                                    user=principal.user, auth=principal.auth.value)
    person = app.policy.authorize_step(principal, proposing)
    zone = sched.zone_of(service)
    now = app.clock.now()
    try:
        proposal = sched.Proposal.model_validate(
            {"start": sched.parse_local(start, zone, "start"), "end": sched.parse_local(end, zone, "end"),
             "zone": zone.key, "note": note or ""}, context={"now": now})
    except ValidationError as exc:
        errors = [(".".join(str(p) for p in e["loc"]) or "schedule", e["msg"].removeprefix("Value error, "))
                  for e in exc.errors(include_url=False)]
        raise InvalidInputError("invalid schedule: " + "; ".join(f"{f}: {m}" for f, m in errors),
                                errors=errors) from None
    current = state.current
    order = service.index_of
    if current is None or not order(proposing.id) <= order(current.id) <= order(scheduled.id):
        raise ConflictError(f"ticket {ticket_id} is not at the installation's preparation (current step: "
                            f"{current.id if current else 'none'})", ticket=ticket_id)
    if state.state_of(scheduled.id).status == StepStatus.DONE or \
            app.queue.find(scheduler.job_key(ticket_id, scheduled.id)) is not None:
        raise ConflictError(f"step {scheduled.id} of {ticket_id} has started; its schedule can no longer change",
                            ticket=ticket_id)
    earlier = sched.schedule_of(timeline).current
    recorded = sched.Recorded(seq=0, start=proposal.start, end=proposal.end, zone=zone.key, note=proposal.note,
                              by=principal.user, at=now)
    text = _say(app, "jadwal_diusulkan", nama=person.name, catatan=proposal.note,
                menggantikan=earlier is not None, **_times(recorded, service))
    kind = EventKind.STEP_COMPLETED if current.id == proposing.id else EventKind.COMMENT
    app.tickets.post(ticket_id, NewEvent(kind=kind, actor=principal.user, text=text, step_id=proposing.id,
                                         data={sched.SCHEDULE: proposal.data()}))
    app.audit.append(principal.user, "schedule.propose", ticket_id,
                     {"start": proposal.start.isoformat(), "end": proposal.end.isoformat(), "zone": zone.key,
                      "completes_step": kind == EventKind.STEP_COMPLETED} | principal.audit_data())
    scheduler.advance(app, ticket_id)
    return _outcome(app, ticket_id, acted=True)


def _answerable(app: EngineServices, ticket_id: str, principal: Principal, action: str
                ) -> tuple[Ticket, Service, WorkflowState, Step, sched.Recorded, Any]:
    """The ticket, its latest proposal and the requester's person, for ``confirm``/``reject``."""
    ticket, service, timeline, state = _read(app, ticket_id)
    _, confirming, _ = _steps(service, ticket_id)
    if principal.user != ticket.requester:
        raise PermissionDeniedError(f"only the requester of {ticket_id} may {action} its schedule",
                                    user=principal.user, auth=principal.auth.value)
    person = app.policy.authorize_step(principal, confirming)
    proposal = sched.schedule_of(timeline).current
    if proposal is None:
        raise ConflictError(f"no schedule has been proposed for {ticket_id}", ticket=ticket_id)
    return ticket, service, state, confirming, proposal, person


def _answer(app: EngineServices, ticket_id: str, principal: Principal, state: WorkflowState, confirming: Step,
            proposal: sched.Recorded, payload: dict[str, Any], text: str) -> bool:
    """Post the one answer to ``proposal``; True when this call recorded it."""
    attempt = secrets.token_hex(8)
    completes = state.current is not None and state.current.id == confirming.id and payload["action"] == "confirm"
    event = NewEvent(kind=EventKind.STEP_COMPLETED if completes else EventKind.COMMENT, actor=principal.user,
                     text=text, step_id=confirming.id,
                     data={sched.SCHEDULE: payload | {"proposal": proposal.seq, "attempt": attempt}},
                     dedupe_key=f"{ticket_id}:jadwal:{proposal.seq}:jawaban")
    try:
        posted = app.tickets.post(ticket_id, event)
    except ConflictError:  # the same key names an answer of another kind: someone answered first
        raise ConflictError(f"the schedule of {ticket_id} was answered meanwhile", ticket=ticket_id) from None
    answer = posted.data.get(sched.SCHEDULE, {})
    if answer.get("attempt") == attempt:
        return True
    if answer.get("action") != payload["action"]:
        raise ConflictError(f"the schedule of {ticket_id} was answered meanwhile ({answer.get('action')})",
                            ticket=ticket_id)
    return False


def confirm(app: EngineServices, ticket_id: str, principal: Principal) -> Outcome:
    """The requester confirms the latest proposal; a second confirmation of it changes nothing."""
    _, service, state, confirming, proposal, person = _answerable(app, ticket_id, principal, "confirm")
    if proposal.status == "confirmed":
        return _outcome(app, ticket_id, acted=False)
    if proposal.status == "rejected":
        raise ConflictError(f"the latest schedule of {ticket_id} was refused; wait for a new proposal",
                            ticket=ticket_id)
    if proposal.start <= app.clock.now():
        raise ConflictError(f"the proposed start of {ticket_id} has passed; ask for another date (reject)",
                            ticket=ticket_id)
    text = _say(app, "jadwal_dikonfirmasi", nama=person.name, **_times(proposal, service))
    acted = _answer(app, ticket_id, principal, state, confirming, proposal, {"action": "confirm"}, text)
    if acted:
        app.audit.append(principal.user, "schedule.confirm", ticket_id,
                         {"proposal": proposal.seq, "start": proposal.start.isoformat()} | principal.audit_data())
        scheduler.advance(app, ticket_id)
    return _outcome(app, ticket_id, acted=acted)


def reject(app: EngineServices, ticket_id: str, principal: Principal, reason: str | None) -> Outcome:
    """The requester asks for another date, with a written reason; the team proposes again."""
    text_reason = _reason(reason, "asking for another date")
    _, service, state, confirming, proposal, person = _answerable(app, ticket_id, principal, "reject")
    if proposal.status != "proposed":
        raise ConflictError(f"the latest schedule of {ticket_id} is already {proposal.status}", ticket=ticket_id)
    text = _say(app, "jadwal_ditolak", nama=person.name, alasan=text_reason, **_times(proposal, service))
    acted = _answer(app, ticket_id, principal, state, confirming, proposal,
                    {"action": "reject", "reason": text_reason}, text)
    if acted:
        app.audit.append(principal.user, "schedule.reject", ticket_id,
                         {"proposal": proposal.seq, "reason": text_reason} | principal.audit_data())
    return _outcome(app, ticket_id, acted=acted)
