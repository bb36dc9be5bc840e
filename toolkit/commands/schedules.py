"""Compliance schedules, the commands: add, pause, resume (and list, which changes nothing).

Each takes a `Principal` and asks the one policy (`Policy.authorize_role`) whether the person holds a
role with the ``manages-compliance-schedules`` trait of the role book; the core names no role. Input is
validated into a `Schedule` before anything is authorised against it or stored, so a bad cron
expression or time zone is an `InvalidInputError` (exit 2) that stores nothing. Every change and every
refusal is audited with the principal's ``auth``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.principal import Principal
from toolkit.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from toolkit.ports.schedule_records import Schedule
from toolkit.services import Services

OPERATION = "manage compliance schedules"


def _authorise(app: Services, principal: Principal, verb: str, schedule_id: str) -> None:
    """The policy's answer; a refusal (an unknown person included) is audited before it is raised."""
    roles = sorted(app.catalog.roles.with_trait(RoleTrait.MANAGES_COMPLIANCE_SCHEDULES))
    try:
        if not roles:
            raise PermissionDeniedError(f"no role may {OPERATION}: give one the trait "
                                        "'manages-compliance-schedules' in the role book", user=principal.user)
        app.policy.authorize_role(principal, roles, OPERATION)
    except (PermissionDeniedError, NotFoundError) as exc:  # NotFoundError: not a person of the directory
        app.audit.append(principal.user, f"schedule.{verb}.refused", None,
                         {"schedule": schedule_id, "reason": app.masker(str(exc)), **principal.audit_data()})
        if isinstance(exc, PermissionDeniedError):
            raise
        raise PermissionDeniedError(str(exc), user=principal.user) from exc


def _invalid(exc: ValidationError) -> InvalidInputError:
    """pydantic's errors as the CLI's and the API's field errors, each naming its field."""
    errors = [(".".join(str(p) for p in e["loc"]) or "schedule", e["msg"].removeprefix("Value error, "))
              for e in exc.errors()]
    text = "; ".join(f"{field}: {msg}" for field, msg in errors)
    return InvalidInputError(f"invalid compliance schedule: {text}", errors=errors)


def add_schedule(app: Services, principal: Principal, *, schedule_id: str, profile: str, targets: Sequence[str],
                 cron: str, timezone: str, paused: bool = False) -> Schedule:
    """Validate, authorise, store, audit; a `ConflictError` when the id exists."""
    now = app.clock.now()
    try:
        schedule = Schedule(id=schedule_id, profile=profile, targets=tuple(targets), cron=cron, timezone=timezone,
                            created_by=principal.user, paused=paused, created_at=now, not_before=now)
    except ValidationError as exc:
        raise _invalid(exc) from None
    _authorise(app, principal, "add", schedule.id)
    stored = app.state.schedules.add(schedule)
    app.audit.append(principal.user, "schedule.add", None, {
        "schedule": stored.id, "profile": stored.profile, "targets": list(stored.targets), "cron": stored.cron,
        "timezone": stored.timezone, "paused": stored.paused, **principal.audit_data()})
    return stored


def set_paused(app: Services, principal: Principal, schedule_id: str, *, paused: bool) -> tuple[Schedule, bool]:
    """Pause or resume; ``(schedule, changed)``. Resuming owes no run missed while paused."""
    verb = "pause" if paused else "resume"
    _authorise(app, principal, verb, schedule_id)
    schedule, changed = app.state.schedules.set_paused(schedule_id, paused, app.clock.now())
    app.audit.append(principal.user, f"schedule.{verb}", None,
                     {"schedule": schedule.id, "changed": changed, **principal.audit_data()})
    return schedule, changed


def list_schedules(app: Services) -> list[Schedule]:
    """Every schedule; reading them needs no role (they hold no secret and change nothing)."""
    return app.state.schedules.list()
