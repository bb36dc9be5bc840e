"""Operators steering jobs: cancel and retry, by the people the SOP puts in charge of the step.

Retrying a failed job re-runs an action on a real host (for a non-idempotent one, after a person
has looked at the target), so it is a decision like an approval: it needs the step's role or the
coordinator's, and it is audited under that person's name.
"""

from __future__ import annotations

from typing import Any

from toolkit.domain.catalog.models import StepPurpose
from toolkit.domain.principal import Principal
from toolkit.engine import planning, scheduler
from toolkit.engine.services import EngineServices
from toolkit.engine.worker import step_of
from toolkit.ports.jobs import Job, JobPlan


def _authorise(app: EngineServices, job: Job, principal: Principal, verb: str) -> None:
    """The step's own role, or the coordinator of the service (the role of its completeness check, or
    of its closing step where it has none)."""
    step = step_of(app, job)
    allowed = {step.actor} if step is not None else set()
    service = app.catalog.get(app.tickets.get(job.ticket_id).service_id)
    coordinator = service.step_with(StepPurpose.COMPLETENESS_CHECK) or service.step_with(StepPurpose.CLOSING)
    if coordinator is not None:
        allowed.add(coordinator.actor)
    app.policy.authorize_role(principal, sorted(allowed), f"{verb} job {job.id}")


def cancel(app: EngineServices, job_id: int, principal: Principal) -> Job:
    job = app.queue.get(job_id)
    _authorise(app, job, principal, "cancel")
    job = app.queue.cancel(job_id)
    app.audit.append(principal.user, "job.cancel", job.ticket_id,
                     {"job": job_id, "state": job.state.value} | principal.audit_data())
    return job


def retry(app: EngineServices, job_id: int, principal: Principal) -> Job:
    """Queue the job again. Its stored plan stands unless planning refused the ticket or the ticket's
    input changed since: then this person's retry makes the new plan, from the current input."""
    job = app.queue.get(job_id)
    _authorise(app, job, principal, "retry")
    replanned = _replan(app, job)
    previous = job.plan_digest
    job = app.queue.retry(job_id, replanned)
    data: dict[str, Any] = {"job": job_id, "attempt": job.attempt}
    if replanned is not None:
        data |= {"replanned": True, "previous_plan_digest": previous, "plan": replanned.plan,
                 "plan_digest": replanned.plan_digest, "input_digest": replanned.input_digest}
    app.audit.append(principal.user, "job.retry", job.ticket_id, data | principal.audit_data())
    return job


def _replan(app: EngineServices, job: Job) -> JobPlan | None:
    action = app.actions.get(job.action)
    if action is None:
        return None  # not runnable here anyway; a worker that has the action reports it
    ctx = scheduler.action_context(app, job.ticket_id, job.step_id)
    return planning.replan_if_needed(action, ctx, job, app.masker)
