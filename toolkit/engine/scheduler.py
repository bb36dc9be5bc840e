"""Turn the workflow's answer into jobs.

`advance` is safe to call any number of times for the same ticket and from any process: the job
for a step has the idempotency key ``<ticket>:<step>``, so ten deliveries of one approval event
create one job. It never runs anything itself; workers do.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from toolkit.actions.base import ActionContext
from toolkit.engine.app import App
from toolkit.engine.progress import progress
from toolkit.errors import NotFoundError, ToolkitError
from toolkit.jobs import Job, JobSpec
from toolkit.tickets.models import TicketStatus

log = logging.getLogger("spbe.scheduler")


def job_key(ticket_id: str, step_id: str) -> str:
    return f"{ticket_id}:{step_id}"


def resolve_action_name(step: Any) -> str:
    """Document and notify steps are handled by generic actions keyed by kind."""
    kind = str(step.kind)
    bound = str(step.action)
    if kind == "document":
        return "document.render"
    if kind == "notify":
        return "notify.ticket"
    return bound


def advance(app: App, ticket_id: str) -> list[Job]:
    """Enqueue the ticket's current step if it is automated; return the jobs created now."""
    ticket = app.tickets.get(ticket_id)
    if ticket.status == TicketStatus.DEFERRED:
        return []
    service = app.catalog.get(ticket.service_id)
    timeline = app.tickets.timeline(ticket_id)
    state = progress(service, ticket, timeline, app.queue)
    if state.current is None or not state.current_is_automated:
        return []
    step = state.current
    name = resolve_action_name(step)
    action = app.actions.get(name)
    if action is None:
        log.info("step %s of %s is bound to %s, which is not available here", step.id, ticket_id, name)
        return []
    preview: dict[str, object]
    try:
        preview = action.plan(_context(app, ticket_id, step))
    except ToolkitError as exc:  # shown on the job; the worker re-plans and fails it properly
        preview = {"plan_error": app.masker(str(exc))}
    job, created = app.queue.enqueue(
        JobSpec(ticket_id=ticket_id, step_id=step.id, action=name, idempotency_key=job_key(ticket_id, step.id),
                idempotent=action.idempotent, plan=preview)
    )
    if not created:
        return []
    app.audit.append("engine", "job.enqueue", ticket_id,
                     {"job": job.id, "step": step.id, "action": name, "plan": preview})
    return [job]


def _context(app: App, ticket_id: str, step: Any) -> ActionContext:
    ticket = app.tickets.get(ticket_id)
    return ActionContext(
        ticket=ticket, service=app.catalog.get(ticket.service_id), step=step,
        prior=app.queue.step_results(ticket_id), timeline=app.tickets.timeline(ticket_id),
        settings=app.settings, directory=app.directory,
        now=datetime.now(UTC),
    )


def action_context(app: App, ticket_id: str, step_id: str) -> ActionContext:
    ticket = app.tickets.get(ticket_id)
    service = app.catalog.get(ticket.service_id)
    try:
        step = service.step(step_id)
    except NotFoundError:
        raise
    return _context(app, ticket_id, step)
