"""Where a ticket stands: the ticket's own timeline plus the jobs the engine finished for it.

Both sources count because the outbox may not have delivered a finished job's result to the
ticket yet (the ticket system may be down); the workflow must still move on from the durable
job record rather than wait for the ticket to catch up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from toolkit.domain.decisions import effective_fields
from toolkit.domain.install_schedule import applicant_wait_spans, schedule_of
from toolkit.domain.policy import COMPLETING_KINDS, Policy, TrustedTimeline
from toolkit.domain.tickets.models import EventKind, Ticket, TicketStatus, TimelineEvent
from toolkit.domain.workflow import WorkflowState, WorkingTime, evaluate
from toolkit.ports.jobs import Job, JobQueue
from toolkit.worktime.calendars import default_calendars


def completed_steps(
    service: Any, timeline: list[TimelineEvent], queue: JobQueue, ticket_id: str,
    results: dict[str, Job] | None = None,
) -> dict[str, datetime]:
    """``timeline`` must be the policy's trusted timeline. An automated step is done only by its
    job record: a timeline entry claiming one is the outbox's copy at best, a forgery at worst.
    ``results``: the ticket's `JobQueue.step_results` when the caller has just read them."""
    done: dict[str, datetime] = {}
    first = service.steps[0]
    automated = {step.id for step in service.steps if step.automated}
    for event in timeline:
        if event.kind == EventKind.OPENED:
            done.setdefault(first.id, event.at)
        elif event.kind in COMPLETING_KINDS and event.step_id and event.step_id not in automated:
            done.setdefault(event.step_id, event.at)
    for step_id, job in (results if results is not None else queue.step_results(ticket_id)).items():
        if job.finished_at is not None:
            done.setdefault(step_id, job.finished_at)
    return done


def signed_steps(service: Any, ticket: Ticket, timeline: list[TimelineEvent], policy: Policy,
                 done: dict[str, datetime]) -> dict[str, datetime]:
    """A document step its parties sign (``signers`` on the step itself, as SOP 001 step 9 and 004 step 8 put
    it: "... menandatangani berita acara") is done when the last party has signed the rendered document, not
    when it is rendered: the steps after it wait for the signatures (`Policy.signatures`)."""
    for step in service.steps:
        if step.id not in done or not step.signers or step.kind.value != "document":
            continue
        signed = policy.signatures(ticket, step, timeline)
        if len(signed) < len(step.signers):
            del done[step.id]
        else:
            done[step.id] = max(done[step.id], signed[-1].at)
    return done


def closed_at(ticket: Ticket, timeline: list[TimelineEvent]) -> datetime | None:
    if ticket.status != TicketStatus.CLOSED:
        return None
    closes = [e.at for e in timeline if e.kind == EventKind.STATUS and e.data.get("to") == TicketStatus.CLOSED]
    return closes[-1] if closes else ticket.updated_at


def merged_spans(spans: tuple[tuple[datetime, datetime], ...]) -> tuple[tuple[datetime, datetime], ...]:
    """``spans`` sorted, overlapping ones joined: a ticket deferred while it waits for the agreed date is not
    paused twice."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def deferred_spans(timeline: list[TimelineEvent], now: datetime) -> tuple[tuple[datetime, datetime], ...]:
    """When the ticket sat deferred (tunda): from each move to 'deferred' to the next move out (or now)."""
    spans: list[tuple[datetime, datetime]] = []
    since = None
    for event in timeline:
        if event.kind != EventKind.STATUS:
            continue
        if event.data.get("to") == TicketStatus.DEFERRED and since is None:
            since = event.at
        elif event.data.get("from") == TicketStatus.DEFERRED and since is not None:
            spans.append((since, event.at))
            since = None
    if since is not None:
        spans.append((since, now))
    return tuple(spans)


def deferred_time(timeline: list[TimelineEvent], now: datetime) -> timedelta:
    """How long the ticket sat deferred (tunda), in all."""
    return sum((end - start for start, end in deferred_spans(timeline, now)), timedelta(0))


def progress(
    service: Any, ticket: Ticket, timeline: list[TimelineEvent], queue: JobQueue, policy: Policy,
    now: datetime | None = None, trusted: TrustedTimeline | None = None, results: dict[str, Job] | None = None,
    calendar: WorkingTime | None = None,
) -> WorkflowState:
    """Where the ticket stands, counting only the decisions the policy accepts (whoever wrote them).
    ``trusted`` is the policy's verdict on this very timeline when the caller has just asked for it;
    ``results``: `completed_steps`. ``calendar``: the office calendar of the service
    (``calendars_for(settings.worktime).for_service(service)``); None: the default settings' one (the
    service's zone, 07:30-16:00, the shipped cuti bersama), which a deployment with other office hours
    should not rely on."""
    now = now or datetime.now(UTC)
    timeline = list((trusted or policy.trusted(service, ticket, timeline)).events)
    schedule = schedule_of(timeline)
    # What does not count against the service: deferred (tunda) and the wait the applicant asked for.
    pauses = merged_spans(deferred_spans(timeline, now) + applicant_wait_spans(schedule))
    return evaluate(
        service,
        effective_fields(ticket.fields, timeline),  # decisions taken on the way pick the SOP's branch
        signed_steps(service, ticket, timeline, policy, completed_steps(service, timeline, queue, ticket.id, results)),
        opened_at=ticket.created_at,
        now=now,
        closed_at=closed_at(ticket, timeline),
        paused=sum((end - start for start, end in pauses), timedelta(0)),
        calendar=calendar if calendar is not None else default_calendars().for_service(service),
        pauses=pauses,
        scheduled_start=schedule.confirmed_start,
    )
