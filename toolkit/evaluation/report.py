"""The yearly (or monthly) evaluation of the service standard: the period, the figures per service and the
recommendations (issue 18, point 3; the SOPs' *evaluasi kinerja pelaksana*, "minimal 1 kali dalam satu tahun").

`evaluate_period` asks the read model (`toolkit.evaluation.queries`) for the figures of the tickets created in
the period, then groups them per service and writes, for each step that most often overran its standard
time, a recommendation in Bahasa Indonesia. A period without data gives a report whose `empty` is true (the
document says so), never an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from toolkit.domain.catalog.models import Catalog, Service
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.errors import InvalidInputError
from toolkit.evaluation.facts import catalog_facts, complaint_fact
from toolkit.evaluation.models import (
    DurationRow,
    EscalationRow,
    EvaluationReport,
    LateStep,
    OutcomeRow,
    Period,
    ServiceEvaluation,
    StepRow,
)
from toolkit.evaluation.queries import EvaluationReadModel, Figures
from toolkit.worktime.calendars import Calendars

MIN_YEAR, MAX_YEAR = 2000, 2100
LATE_STEPS_SHOWN = 5
CALENDAR_AFTER = timedelta(days=400)  # room for a clock that runs past the period (P8D, deferrals, a late close)


def period_of(year: int, month: int | None, calendars: Calendars, now: datetime) -> Period:
    """The calendar year (or month) in the deployment's zone. A year outside 2000..2100 or a month outside 1..12
    is an `InvalidInputError` naming the option."""
    if not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInputError(f"--year must be between {MIN_YEAR} and {MAX_YEAR}, not {year}",
                                errors=[("year", "out of range")])
    if month is not None and (not isinstance(month, int) or not 1 <= month <= 12):
        raise InvalidInputError(f"--month must be between 1 and 12, not {month}", errors=[("month", "out of range")])
    zone = calendars.zone()
    first = date(year, month or 1, 1)
    after = (date(year + 1, 1, 1) if month in (None, 12) else date(year, (month or 0) + 1, 1))
    return Period(year=year, month=month, start=datetime.combine(first, time(0), tzinfo=zone.zone),
                  end=datetime.combine(after, time(0), tzinfo=zone.zone), now=now, timezone=zone.name)


def recommendation(step: StepRow, role: str) -> str:
    """One line of corrective action for a step that overran its standard time, by how it overran."""
    share = step.late / step.measured if step.measured else 0.0
    if step.median_s is not None and step.median_s > step.standard_s:
        return (f"Durasi tengah (median) melampaui waktu baku: tinjau kembali waktu baku langkah ini pada standar "
                f"pelayanan atau tambah pelaksana {role}.")
    if share >= 0.25:
        return (f"Keterlambatan sering terjadi: atur pembagian beban kerja {role} dan pasang pengingat sebelum "
                f"tenggat waktu baku.")
    return (f"Keterlambatan bersifat sesekali: telusuri penyebab pada tiket yang terlambat dan lakukan pembinaan "
            f"kepada pelaksana {role}.")


def _late_steps(service: Service, steps: Sequence[StepRow], role_name: dict[str, str]) -> tuple[LateStep, ...]:
    titles = {s.id: s.title for s in service.steps}
    actors = {s.id: s.actor for s in service.steps}
    ranked = sorted((s for s in steps if s.late), key=lambda s: (-s.late, -s.late / s.measured, s.step_id))
    return tuple(LateStep(step_id=s.step_id, title=titles.get(s.step_id, s.step_id), late=s.late, measured=s.measured,
                          share=s.late / s.measured, median_s=s.median_s, standard_s=s.standard_s,
                          recommendation=recommendation(s, role_name.get(actors.get(s.step_id, ""),
                                                                         actors.get(s.step_id, ""))))
                 for s in ranked[:LATE_STEPS_SHOWN])


def _service(service: Service, figures: Figures, role_name: dict[str, str]) -> ServiceEvaluation:
    sid = service.id
    order = {s.id: i for i, s in enumerate(service.steps)}
    labels = {v.id: v.label for v in service.sla.variants}
    steps = sorted((s for s in figures.steps if s.service_id == sid), key=lambda s: order.get(s.step_id, 0))
    return ServiceEvaluation(
        service_id=sid, name=service.name,
        outcomes=next((o for o in figures.outcomes if o.service_id == sid),
                      OutcomeRow(service_id=sid, total=0, done=0, rejected=0, deferred=0, open=0)),
        sla=tuple(sorted((r.model_copy(update={"label": labels.get(r.variant_id)}) for r in figures.sla
                          if r.service_id == sid), key=lambda r: r.variant_id)),
        durations=next((d for d in figures.durations if d.service_id == sid),
                       DurationRow(service_id=sid, count=0, median_s=None, p90_s=None)),
        steps=tuple(steps),
        escalations=next((e for e in figures.escalations if e.service_id == sid),
                         EscalationRow(service_id=sid, step_late=0, sla_breached=0, claims=0, delivered=0)),
        workload=tuple(sorted((w for w in figures.workload if w.service_id == sid),
                              key=lambda w: (-w.steps, w.actor, w.role))),
        complaints=next((c for c in figures.complaints if c.service_id == sid), None),
        ikm=next((i for i in figures.ikm if i.service_id == sid), None),
        late_steps=_late_steps(service, steps, role_name))


def evaluate_period(model: EvaluationReadModel, catalog: Catalog, calendars: Calendars, *, year: int,
                    month: int | None = None, service_id: str | None = None, now: datetime) -> EvaluationReport:
    """The evaluation of ``year`` (``month``), of one service or of every service with data in the period.
    An unknown ``service_id`` is the catalog's `UnknownServiceError` (exit 3)."""
    period = period_of(year, month, calendars, now)
    if service_id is not None:
        services = [catalog.get(service_id)]
    else:
        services = [s for s in catalog.services() if s.complaints is None]
    first = period.start.date() - timedelta(days=14)
    facts = catalog_facts(services, calendars, first, max(period.end, now).date() + CALENDAR_AFTER,
                          applicant_roles=catalog.roles.with_trait(RoleTrait.APPLICANT),
                          complaints=complaint_fact(catalog.services()))
    figures = model.figures(period, facts)
    role_name = catalog.roles.labels()
    with_data = {row.service_id for rows in (figures.outcomes, figures.complaints, figures.ikm) for row in rows}
    chosen = [s for s in services if service_id is not None or s.id in with_data]
    return EvaluationReport(period=period, generated_at=now,
                            services=tuple(_service(s, figures, role_name) for s in chosen))
