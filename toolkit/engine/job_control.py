"""Operators steering jobs: cancel and retry, by the people the SOP puts in charge of the step.

Retrying a failed job re-runs an action on a real host (for a non-idempotent one, after a person
has looked at the target), so it is a decision like an approval: it needs the step's role or the
coordinator's, and it is audited under that person's name.
"""

from __future__ import annotations

from toolkit.engine.app import App
from toolkit.engine.worker import step_of
from toolkit.errors import PermissionDeniedError
from toolkit.jobs import Job

SUPERVISOR_ROLES = frozenset({"koordinator-layanan"})


def _authorise(app: App, job: Job, actor: str, verb: str) -> None:
    person = app.directory.person(actor)
    step = step_of(app, job)
    allowed = set(SUPERVISOR_ROLES) | ({step.actor} if step is not None else set())
    if not person.roles & allowed:
        raise PermissionDeniedError(
            f"{actor} may not {verb} job {job.id}: needs one of {', '.join(sorted(allowed))}", user=actor)


def cancel(app: App, job_id: int, actor: str) -> Job:
    job = app.queue.get(job_id)
    _authorise(app, job, actor, "cancel")
    job = app.queue.cancel(job_id)
    app.audit.append(actor, "job.cancel", job.ticket_id, {"job": job_id, "state": job.state.value})
    return job


def retry(app: App, job_id: int, actor: str) -> Job:
    job = app.queue.get(job_id)
    _authorise(app, job, actor, "retry")
    job = app.queue.retry(job_id)
    app.audit.append(actor, "job.retry", job.ticket_id, {"job": job_id, "attempt": job.attempt})
    return job
