"""A job's plan: made once when the job is created, stored with it, and executed exactly as stored.

Why once: the plan on the job is what an approver can see (``spbe jobs show``) and what the audit log
records at enqueue; planning again in the worker could run something else. So the worker validates the
stored JSON back into the action's ``Plan`` model, checks it against its digest (the row was not
edited), and checks that the ticket inputs it was computed from are unchanged. A changed input makes
the stored plan stale: the worker refuses it, and retrying the job makes a new plan from the current
input (recorded in the job's history and the audit log with both digests).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from toolkit.actions.base import Action, ActionContext, ActionPlan, digest
from toolkit.errors import ConflictError, IntegrityError, ToolkitError, UnavailableError
from toolkit.masking import Masker
from toolkit.ports.jobs import Job, JobPlan


class StalePlanError(ConflictError):
    """The ticket's input changed after the job's plan was made; the plan is not run."""


def make_plan(action: Action, ctx: ActionContext, mask: Masker) -> JobPlan:
    """Plan ``action`` for ``ctx``. A refusal (bad input, nothing to build on) becomes the job's
    ``error``: the job then fails with it on the ticket. `UnavailableError` propagates: nothing is
    created, and the trigger or the sweep plans again later."""
    inputs = digest(dict(action.inputs(ctx)))
    try:
        plan = action.plan(ctx)
    except UnavailableError:
        raise
    except ToolkitError as exc:
        return JobPlan(input_digest=inputs, error=mask(str(exc)))
    if not isinstance(plan, action.Plan) or plan.action != action.name:
        raise TypeError(f"{action.name}.plan() returned {type(plan).__name__}, not its {action.Plan.__name__}")
    return JobPlan(plan=plan.model_dump(mode="json"), plan_digest=digest(plan), input_digest=inputs)


_CHECKED: dict[tuple[Any, ...], ActionPlan] = {}  # stored plan (exact canonical text) -> its checked model
_CHECKED_LIMIT = 10_000


def stored_plan(action: Action, job: Job) -> ActionPlan:
    """The job's plan as the action's model, exactly as it was stored; raises when planning refused the
    ticket, or when the stored plan no longer validates or matches its digest.

    Many jobs store the very same plan (a step whose plan does not depend on the ticket): a plan whose
    exact canonical text, digest and action were checked before in this process is that same frozen model,
    so it is not validated and digested again. Any difference in the stored row is a different key."""
    if job.plan_error:
        raise ConflictError(f"the plan of job {job.id} was refused: {job.plan_error}", job_id=job.id)
    key = (action.Plan, job.action, job.plan_digest,
           json.dumps(job.plan, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False))
    known = _CHECKED.get(key)
    if known is not None:
        return known
    plan = _checked_plan(action, job)
    if len(_CHECKED) >= _CHECKED_LIMIT:
        _CHECKED.clear()
    _CHECKED[key] = plan
    return plan


def _checked_plan(action: Action, job: Job) -> ActionPlan:
    try:
        plan = action.Plan.model_validate(job.plan)
    except ValidationError as exc:
        raise IntegrityError(f"the stored plan of job {job.id} is not a valid {action.Plan.__name__}: "
                             f"{exc.error_count()} error(s)", job_id=job.id) from None
    if plan.action != job.action:
        raise IntegrityError(f"the stored plan of job {job.id} is for {plan.action}, not {job.action}", job_id=job.id)
    if job.plan_digest is not None and digest(plan) != job.plan_digest:
        raise IntegrityError(f"the stored plan of job {job.id} does not match its digest", job_id=job.id)
    return plan


def check_fresh(action: Action, ctx: ActionContext, job: Job) -> None:
    """Refuse a plan made from inputs that have changed since (`StalePlanError`)."""
    if job.input_digest is None:
        return  # a job queued by an earlier version: its plan carries no input digest
    if digest(dict(action.inputs(ctx))) != job.input_digest:
        raise StalePlanError(
            f"the ticket's input changed after job {job.id} was planned (plan {str(job.plan_digest)[:12]}); "
            "the stale plan was not run: retry the job to plan it again from the current input",
            job_id=job.id)


def replan_if_needed(action: Action, ctx: ActionContext, job: Job, mask: Masker) -> JobPlan | None:
    """For a retry: a new plan when the stored one was refused or is stale, else None (it stands)."""
    if job.plan_error is None and job.input_digest is not None:
        try:
            check_fresh(action, ctx, job)
            stored_plan(action, job)
            return None
        except ToolkitError:
            pass
    return make_plan(action, ctx, mask)
