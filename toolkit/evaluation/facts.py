"""What the evaluation's queries need from the catalog and the office calendars, as plain rows.

The store holds events; what a step's standard time is, which step closes a service, which role the SOP
names for a step, how long an SLA variant is and in which unit, and which days are working days live in
the catalog and in `toolkit.worktime`. These are handed to the read model as small tables (a few hundred
rows for a year), so the store joins against them instead of the tickets travelling to Python.

The calendar rows are the office periods of each zone's working days over a range of days, with ``cum``,
the office seconds before the day opens: an instant's *position* in office time is then one indexed
lookup, and *N hari kerja* / *N jam kerja* deadlines are the same arithmetic `WorkCalendar` does
(`toolkit.worktime.calendar`), done by the store. Times are epoch seconds (UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict

from toolkit.domain.catalog.models import Service, StepPurpose
from toolkit.worktime.calendars import Calendars

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class StepFact(BaseModel):
    model_config = _FROZEN
    service_id: str
    step_id: str
    title: str
    role: str
    standard_s: float | None
    unit: str
    closing: bool
    position: int
    staff: bool = True  # done by the service's people (not the applicant's own step): counts as workload


class VariantFact(BaseModel):
    model_config = _FROZEN
    service_id: str
    variant_id: str
    label: str
    duration_s: float
    unit: str


class ServiceFact(BaseModel):
    model_config = _FROZEN
    service_id: str
    name: str
    zone: str


class CalendarDay(BaseModel):
    model_config = _FROZEN
    zone: str
    n: int
    midnight: float
    opens: float
    closes: float
    cum: float


class ComplaintFact(BaseModel):
    """The catalog's complaint service (its ``complaints`` spec): which field names the service complained about
    and which step's completion is the answer."""

    model_config = _FROZEN
    service_id: str
    related_field: str
    answer_step: str


def complaint_service(services: Iterable[Service]) -> Service | None:
    """The service the catalog declares as the complaint channel (a ``complaints`` spec), if any."""
    return next((s for s in services if s.complaints is not None), None)


def complaint_fact(services: Iterable[Service]) -> ComplaintFact | None:
    found = complaint_service(services)
    if found is None or found.complaints is None:
        return None
    return ComplaintFact(service_id=found.id, related_field=found.complaints.related_service_field,
                         answer_step=found.complaints.answer_step)


class CatalogFacts(BaseModel):
    model_config = _FROZEN
    services: tuple[ServiceFact, ...]
    steps: tuple[StepFact, ...]
    variants: tuple[VariantFact, ...]
    calendar: tuple[CalendarDay, ...]
    complaints: ComplaintFact | None = None


def _epoch(moment: datetime) -> float:
    return moment.astimezone(UTC).timestamp()


def calendar_days(calendars: Calendars, zones: Iterable[str], first: date, last: date) -> list[CalendarDay]:
    """Every working day of each zone from ``first`` to ``last`` (inclusive), numbered from 0 in order."""
    rows: list[CalendarDay] = []
    for zone_name in sorted(set(zones)):
        calendar = calendars.for_zone(zone_name)
        cum, n, day = 0.0, 0, first
        while day <= last:
            span = calendar.span(day)
            if span is not None:
                midnight = datetime.combine(day, time(0, 0), tzinfo=calendar.zone)
                opens = datetime.combine(day, span.start, tzinfo=calendar.zone)
                closes = datetime.combine(day, span.end, tzinfo=calendar.zone)
                rows.append(CalendarDay(zone=zone_name, n=n, midnight=_epoch(midnight), opens=_epoch(opens),
                                        closes=_epoch(closes), cum=cum))
                cum += (closes - opens).total_seconds()
                n += 1
            day += timedelta(days=1)
    return rows


def catalog_facts(services: Iterable[Service], calendars: Calendars, first: date, last: date,
                  applicant_roles: frozenset[str] = frozenset(),
                  complaints: ComplaintFact | None = None) -> CatalogFacts:
    """The facts of ``services``; the calendar covers ``first``..``last`` (the period, with room before it
    for a clock that starts on a holiday and after it for tickets that close later). ``applicant_roles``: the role
    book's applicant roles, whose steps (the applicant's own confirmation) are nobody's workload."""
    found = list(services)
    service_rows = [ServiceFact(service_id=s.id, name=s.name, zone=calendars.zone_of(s).name) for s in found]
    steps = [StepFact(service_id=s.id, step_id=step.id, title=step.title, role=step.actor,
                      standard_s=step.standard_time.total_seconds() if step.standard_time else None,
                      unit=step.standard_time_unit.value, closing=step.purpose is StepPurpose.CLOSING, position=i,
                      staff=step.actor not in applicant_roles)
             for s in found for i, step in enumerate(s.steps)]
    variants = [VariantFact(service_id=s.id, variant_id=v.id, label=v.label, duration_s=v.duration.total_seconds(),
                            unit=v.unit.value) for s in found for v in s.sla.variants]
    calendar = calendar_days(calendars, {row.zone for row in service_rows}, first, last)
    return CatalogFacts(services=tuple(service_rows), steps=tuple(steps), variants=tuple(variants),
                        calendar=tuple(calendar), complaints=complaints)
