"""The workflow: which step of the SOP is next, who may do it, and where the SLA clock stands.

Pure functions over a service definition and a ticket's facts, no I/O, so every rule of the SOPs
can be tested directly and the same answer is given to the CLI, the trigger and the worker.
Steps run strictly in the SOP's order: a step whose condition does not hold for the ticket is
skipped, and the first step that is neither done nor skipped is the current one. A ticket closed before
its closing step was done left the procedure (cancelled before approval, or a report found not to be an
incident at its verification): it has no current step, so no later event, forged or mirrored, starts work.

Clocks stated in *hari kerja* or *jam kerja* are counted by a `WorkingTime` (the office's calendar,
`toolkit.worktime.calendar.WorkCalendar`), which the caller passes; without one only calendar time can be
counted, and a working-time clock is a `ConfigurationError` rather than a silently wrong deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from toolkit.domain.catalog.models import AUTOMATED_KINDS, Service, Step, StepPurpose, TimeUnit
from toolkit.errors import ConfigurationError


class WorkingTime(Protocol):
    """The office calendar as the workflow asks it."""

    def deadline(self, start: datetime, duration: timedelta, unit: TimeUnit) -> datetime:
        """When a clock of ``duration`` in ``unit`` started at ``start`` runs out (an aware instant)."""
        ...

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The office time from ``start`` to ``end``."""
        ...


class CalendarTime:
    """Calendar time only: what `evaluate` counts with when no office calendar is given."""

    def deadline(self, start: datetime, duration: timedelta, unit: TimeUnit) -> datetime:
        if unit is not TimeUnit.KALENDER:
            raise ConfigurationError(f"a clock in {unit} needs the office calendar (toolkit.worktime)", unit=str(unit))
        return start + duration

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, timedelta(0))


CALENDAR_TIME = CalendarTime()


class StepStatus(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    CURRENT = "current"
    PENDING = "pending"


class StepState(BaseModel):
    model_config = ConfigDict(frozen=True)
    step: Step
    status: StepStatus
    completed_at: datetime | None = None
    started_at: datetime | None = None
    deadline: datetime | None = None  # when the step's standard time runs out (None: the SOP gives none)
    late: bool = False
    # A current step that may not start yet: the scheduled step (purpose: scheduled) before a confirmed
    # schedule exists (held, not_before None) or before its confirmed start (not_before).
    held: bool = False
    not_before: datetime | None = None


class SlaState(BaseModel):
    model_config = ConfigDict(frozen=True)
    variant_id: str
    label: str
    deadline: datetime
    paused: timedelta = timedelta(0)
    remaining: timedelta
    breached: bool
    stopped_at: datetime | None = None


class WorkflowState(BaseModel):
    model_config = ConfigDict(frozen=True)
    steps: tuple[StepState, ...]
    current: Step | None  # None when every step is done
    sla: SlaState

    @property
    def finished(self) -> bool:
        return self.current is None

    @property
    def current_is_automated(self) -> bool:
        return self.current is not None and self.current.kind in AUTOMATED_KINDS

    @property
    def current_ready(self) -> bool:
        """The current step may start now (the engine enqueues an automated one only then)."""
        return self.current is not None and not self.state_of(self.current.id).held

    def state_of(self, step_id: str) -> StepState:
        return next(s for s in self.steps if s.step.id == step_id)


def is_automated(step: Step) -> bool:
    return step.kind in AUTOMATED_KINDS


def evaluate(
    service: Service,
    fields: Mapping[str, Any],
    completed: Mapping[str, datetime],
    opened_at: datetime,
    now: datetime,
    closed_at: datetime | None = None,
    paused: timedelta = timedelta(0),
    calendar: WorkingTime = CALENDAR_TIME,
    pauses: tuple[tuple[datetime, datetime], ...] = (),
    scheduled_start: datetime | None = None,
) -> WorkflowState:
    """``completed`` maps step ids to when they were completed (from the ticket timeline and the
    job queue). The SLA clock runs from ``opened_at``, stops at ``closed_at``, and does not count
    ``paused`` (time the ticket spent deferred by the approver, waiting on the applicant, or waiting for the
    date the applicant agreed to: `toolkit.domain.install_schedule.applicant_wait`). ``calendar`` counts the
    clocks the catalog states in *hari kerja* or *jam kerja*; such a deadline moves by the office time within
    ``pauses`` (the deferred spans that add up to ``paused``: a weekend spent deferred costs no working day),
    or, when only the total is known, the clock starts that much later. ``scheduled_start``: the start of the
    confirmed installation schedule, None while there is none; the step of purpose ``scheduled`` is held
    until it has come."""

    def step_deadline(step: Step, started: datetime) -> datetime | None:
        if step.standard_time is None:
            return None
        return calendar.deadline(started, step.standard_time, step.standard_time_unit)

    states: list[StepState] = []
    current: Step | None = None
    previous_done = opened_at
    closing = service.step_with(StepPurpose.CLOSING)
    left = closed_at is not None and closing is not None and closing.id not in completed
    for step in service.steps:
        if step.when is not None and not step.when.matches(fields):
            states.append(StepState(step=step, status=StepStatus.SKIPPED))
            continue
        if step.id in completed and current is None:
            due = step_deadline(step, previous_done)  # a done step keeps whether it overran its standard time
            states.append(
                StepState(step=step, status=StepStatus.DONE, completed_at=completed[step.id],
                          started_at=previous_done, deadline=due, late=due is not None and completed[step.id] > due)
            )
            previous_done = completed[step.id]
            continue
        if current is None and not left:
            current = step
            due = step_deadline(step, previous_done)
            held = step.purpose is StepPurpose.SCHEDULED and (scheduled_start is None or now < scheduled_start)
            states.append(StepState(step=step, status=StepStatus.CURRENT, started_at=previous_done, deadline=due,
                                    late=due is not None and now > due, held=held,
                                    not_before=scheduled_start if held else None))
        else:
            states.append(StepState(step=step, status=StepStatus.PENDING))
    variant = service.sla.select(fields)
    if variant.unit is TimeUnit.KALENDER:
        deadline = opened_at + variant.duration + paused
    else:
        if pauses:
            deadline = calendar.deadline(opened_at, variant.duration, variant.unit)
            office_paused = sum((calendar.working_time_between(start, end) for start, end in pauses), timedelta(0))
            if office_paused:
                deadline = calendar.deadline(deadline, office_paused, TimeUnit.JAM_KERJA)
        else:
            deadline = calendar.deadline(opened_at + paused, variant.duration, variant.unit)
    clock_end = closed_at or now
    sla = SlaState(
        variant_id=variant.id,
        label=variant.label,
        deadline=deadline,
        remaining=deadline - clock_end,
        breached=clock_end > deadline,
        stopped_at=closed_at,
        paused=paused,
    )
    return WorkflowState(steps=tuple(states), current=current, sla=sla)


def may_perform(step: Step, roles: frozenset[str]) -> bool:
    """Whether someone holding ``roles`` may perform ``step`` (its actor role)."""
    return step.actor in roles
