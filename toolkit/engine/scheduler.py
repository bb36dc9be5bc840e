"""Turn the workflow's answer into jobs.

`advance` is safe to call any number of times for the same ticket and from any process: the job
for a step has the idempotency key ``<ticket>:<step>``, so ten deliveries of one approval event
create one job. The key is looked up before anything is planned, so a duplicate event costs a read;
the plan is made only for a job about to be created, and stored with it (`toolkit.engine.planning`).
It never runs anything itself; workers do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from toolkit.actions.base import ActionContext
from toolkit.domain.catalog.models import Service, StepKind
from toolkit.domain.policy import Refusal, TrustedTimeline
from toolkit.domain.principal import ENGINE_USER
from toolkit.domain.tickets.models import EventKind, NewEvent, Ticket, TicketStatus, TimelineEvent
from toolkit.domain.workflow import WorkflowState
from toolkit.engine.planning import make_plan
from toolkit.engine.progress import progress
from toolkit.engine.services import EngineServices
from toolkit.engine.survey_offer import offer_survey
from toolkit.ports.jobs import Job, JobSpec
from toolkit.worktime.calendars import calendars_for

log = logging.getLogger("spbe.scheduler")


def job_key(ticket_id: str, step_id: str) -> str:
    return f"{ticket_id}:{step_id}"


def resolve_action_name(step: Any) -> str:
    """Document and notify steps are handled by generic actions keyed by kind."""
    if step.kind == StepKind.DOCUMENT:
        return "document.render"
    if step.kind == StepKind.NOTIFY:
        return "notify.ticket"
    return str(step.action)


Snapshot = tuple[Ticket, list[TimelineEvent]]


def read_ticket(app: EngineServices, ticket_id: str, seen: Snapshot | None = None, *,
                current: bool = False) -> Snapshot:
    """The ticket and its timeline, from one read when the ticket system offers it (the embedded store's
    ``snapshot``), else from `get` and `timeline`. ``seen`` is what the caller read moments ago (the worker,
    before the job it just finished): it is returned when the store says the ticket has no newer event
    (``last_seq``, one indexed statement), and read afresh otherwise or when the store cannot say.
    ``current``: the caller has just made that check itself (`still_current`, for a batch of tickets)."""
    if seen is not None and seen[0].id == ticket_id:
        if current:
            return seen
        last_seq: Callable[[str], int] | None = getattr(app.tickets, "last_seq", None)
        if last_seq is not None and last_seq(ticket_id) == _newest(seen):
            return seen
    snapshot: Callable[[str], Snapshot] | None = getattr(app.tickets, "snapshot", None)
    if snapshot is not None:
        return snapshot(ticket_id)
    return app.tickets.get(ticket_id), app.tickets.timeline(ticket_id)


def _newest(seen: Snapshot) -> int:
    return max((e.seq for e in seen[1]), default=0)


def read_tickets(app: EngineServices, ticket_ids: list[str]) -> dict[str, Snapshot]:
    """`read_ticket` of several tickets, from one read when the ticket system offers it (the embedded
    store's ``snapshots``); empty when it does not (each is then read on its own). A ticket missing from
    the answer is read on its own too, and fails there as it would have."""
    snapshots: Callable[[list[str]], dict[str, Snapshot]] | None = getattr(app.tickets, "snapshots", None)
    return snapshots(ticket_ids) if snapshots is not None and ticket_ids else {}


def still_current(app: EngineServices, seen: dict[str, Snapshot]) -> dict[str, Snapshot]:
    """The snapshots in ``seen`` that the store says are still current (no newer event on the ticket), from
    one statement when it offers one (the embedded store's ``last_seqs``); empty when it does not."""
    last_seqs: Callable[[list[str]], dict[str, int]] | None = getattr(app.tickets, "last_seqs", None)
    if last_seqs is None or not seen:
        return {}
    newest = last_seqs(list(seen))
    return {tid: snap for tid, snap in seen.items() if newest.get(tid) == _newest(snap)}


def advance(app: EngineServices, ticket_id: str, seen: Snapshot | None = None, *, current: bool = False,
            results: dict[str, Job] | None = None) -> list[Job]:
    """Enqueue the ticket's current step if it is automated; return the jobs created now. The policy vets
    the timeline afresh here, on every call: its verdict is never cached. ``seen``, ``current``:
    `read_ticket`. ``results``: the ticket's succeeded jobs (`JobQueue.step_results`) read by the caller
    after the last of them was recorded; read here when None."""
    ticket, timeline = read_ticket(app, ticket_id, seen, current=current)
    if ticket.status == TicketStatus.DEFERRED:
        return []
    if ticket.status == TicketStatus.CLOSED:
        offer_survey(app, ticket, timeline)  # the applicant's satisfaction survey, once per closed ticket
    service = app.catalog.get(ticket.service_id)
    trusted = app.policy.trusted(service, ticket, timeline)
    report_refusals(app, ticket_id, trusted.refusals, timeline)
    if results is None:
        results = app.queue.step_results(ticket_id)
    state = progress(service, ticket, timeline, app.queue, app.policy, now=app.clock.now(), trusted=trusted,
                     results=results, calendar=calendars_for(app.settings.worktime).for_service(service))
    if state.current is None:
        close_if_done(app, ticket, service, state)
        return []
    if not state.current_is_automated or not state.current_ready:  # held: no confirmed schedule, or not yet
        return []
    step = state.current
    name = resolve_action_name(step)
    action = app.actions.get(name)
    if action is None:
        log.info("step %s of %s is bound to %s, which is not available here", step.id, ticket_id, name)
        return []
    key = job_key(ticket_id, step.id)
    if app.queue.find(key) is not None:  # the common case of a replayed event: nothing to plan
        return []
    planned = make_plan(action, _context(app, ticket_id, step, ticket=ticket, timeline=timeline, trusted=trusted,
                                         prior=results), app.masker)
    job, created = app.queue.enqueue(
        JobSpec(ticket_id=ticket_id, step_id=step.id, action=name, idempotency_key=key,
                idempotent=action.idempotent, planned=planned)
    )
    if not created:  # another process created it in between; its plan is the one (ours changed nothing)
        return []
    app.audit.append("engine", "job.enqueue", ticket_id,
                     {"auth": "engine", "job": job.id, "step": step.id, "action": name, "plan": planned.plan,
                      "plan_digest": planned.plan_digest, "input_digest": planned.input_digest,
                      **({"plan_error": planned.error} if planned.error else {})})
    return [job]


def close_if_done(app: EngineServices, ticket: Ticket, service: Service, state: WorkflowState) -> None:
    """A service that closes itself (Audit TI: its last steps are the re-check and the report) is closed by
    the engine once every step is done. Nothing here is read from an event: ``state`` is the workflow over
    the trusted timeline and the job records, so a forged row cannot close a ticket early."""
    if (service.compliance is None or not service.compliance.closes_itself or not state.finished
            or ticket.status == TicketStatus.CLOSED):
        return
    app.tickets.transition(ticket.id, TicketStatus.CLOSED, ENGINE_USER, dedupe_key=f"{ticket.id}:closed")
    app.audit.append(ENGINE_USER, "ticket.closed_by_engine", ticket.id,
                     {"auth": "engine", "reason": "every step of a self-closing service is done"})


def report_refusals(app: EngineServices, ticket_id: str, refusals: Iterable[Refusal],
                    timeline: list[TimelineEvent]) -> None:
    """Each refused decision once on the ticket (dedupe key per event) and once in the audit log."""
    reported = {e.data.get("refused_event") for e in timeline if e.kind == EventKind.COMMENT and e.actor == ENGINE_USER}
    last_seq = max((e.seq for e in timeline), default=0)
    for refusal in refusals:
        if refusal.seq in reported:
            continue
        log.warning("ticket %s: event #%s by %s refused: %s", ticket_id, refusal.seq, refusal.actor, refusal.reason)
        text = str(app.renderer.render("comments", "keputusan_ditolak", {"penolakan": refusal}))
        posted = app.tickets.post(ticket_id, NewEvent(
            kind=EventKind.COMMENT, actor=ENGINE_USER, text=text, step_id=refusal.step_id,
            data={"refused_event": refusal.seq}, dedupe_key=f"{ticket_id}:refused:{refusal.seq}"))
        if posted.seq > last_seq:  # we wrote it: audit it (another process that lost the race does not)
            app.audit.append(ENGINE_USER, "event.refused", ticket_id,
                             refusal.model_dump(mode="json") | {"auth": "engine"})


def _context(app: EngineServices, ticket_id: str, step: Any, *, ticket: Ticket, timeline: list[TimelineEvent],
             trusted: TrustedTimeline | None = None, prior: dict[str, Job] | None = None) -> ActionContext:
    """What an action may read, from the ticket and timeline the caller has just read (and the policy's
    verdict on them, and the ticket's succeeded jobs, when the caller has them)."""
    service = app.catalog.get(ticket.service_id)
    vetted = trusted if trusted is not None else app.policy.trusted(service, ticket, timeline)
    # Built without validating again: every value is already a checked model or the app's own wiring (the
    # runtime Protocol check of ``directory`` alone cost a tenth of a no-op job); mypy checks the types.
    return ActionContext.model_construct(
        ticket=ticket, service=service, step=step,
        prior=prior if prior is not None else app.queue.step_results(ticket_id), timeline=list(vetted.events),
        settings=app.settings, directory=app.directory, roles=app.catalog.roles,
        now=app.clock.now(),
    )


def action_context(app: EngineServices, ticket_id: str, step_id: str, seen: Snapshot | None = None,
                   prior: dict[str, Job] | None = None) -> ActionContext:
    """``seen``: the ticket and timeline just read (`read_ticket`); read here when None. ``prior``: `_context`."""
    ticket, timeline = seen if seen is not None else read_ticket(app, ticket_id)
    service = app.catalog.get(ticket.service_id)
    return _context(app, ticket_id, service.step(step_id), ticket=ticket, timeline=timeline, prior=prior)
