"""The yearly (or monthly) evaluation's figures as frozen, typed records (issue 18, point 3).

The read model (`toolkit.evaluation.queries`) answers each question with a list of these rows, computed by
the store's own query language; `toolkit.evaluation.report` assembles them per service and adds the
recommendations. Durations are seconds (floats) so a row means the same from SQLite and from PostgreSQL;
the document turns them into hours and minutes. A figure that has no data is None, never a made-up 0.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Period(BaseModel):
    """Tickets *created* in ``[start, end)`` (the deployment's zone decides where a year or a month
    begins); ``now`` is when open tickets are judged (an open ticket past its deadline is a breach)."""

    model_config = _FROZEN
    year: int = Field(ge=2000, le=2100)
    month: int | None = Field(default=None, ge=1, le=12)
    start: datetime
    end: datetime
    now: datetime
    timezone: str


class OutcomeRow(BaseModel):
    """Requests by outcome: closed with the closing step done, closed without it (rejected, cancelled,
    not an incident), deferred now, still open (open or in progress)."""

    model_config = _FROZEN
    service_id: str
    total: int
    done: int
    rejected: int
    deferred: int
    open: int


class SlaRow(BaseModel):
    """Completion within the SLA, per variant (the variant the latest decision recorded, else the one
    from opening). ``within`` counts done tickets whose SLA clock stopped by the deadline; ``breached``
    adds the tickets still open (not deferred) whose deadline has passed at ``Period.now``."""

    model_config = _FROZEN
    service_id: str
    variant_id: str
    done: int
    within: int
    breached: int
    label: str | None = None  # the catalog's label of the variant ("1 Hari kerja"), added by the report


class DurationRow(BaseModel):
    """Time to completion of the done tickets (the SLA clock: creation to closing, minus time deferred),
    median and p90 by nearest rank (an observed duration, the same on every store)."""

    model_config = _FROZEN
    service_id: str
    count: int
    median_s: float | None
    p90_s: float | None


class StepRow(BaseModel):
    """One SOP step with a standard time: how often it was measured (completed) and how often it overran
    (completion after the deadline its standard time gives, counted from the previous completion)."""

    model_config = _FROZEN
    service_id: str
    step_id: str
    measured: int
    late: int
    median_s: float | None
    standard_s: float
    unit: str


class EscalationRow(BaseModel):
    """ESCALATED events of the cohort by kind, and the escalation claims (state.db) by delivery."""

    model_config = _FROZEN
    service_id: str
    step_late: int
    sla_breached: int
    claims: int
    delivered: int


class WorkloadRow(BaseModel):
    """Steps completed by one person in one role (the role the SOP names for the step); the engine's automated
    steps and the applicant's own steps are not the service's workload and are left out."""

    model_config = _FROZEN
    service_id: str
    actor: str
    role: str
    steps: int
    tickets: int


class ComplaintRow(BaseModel):
    """Complaints (service ``pengaduan``) about one service, by status, with the response time: creation to
    the completion of the step ``jawab``."""

    model_config = _FROZEN
    service_id: str  # the complaint's layanan_terkait ("" for complaints about no particular service)
    total: int
    open: int
    in_progress: int
    deferred: int
    closed: int
    answered: int
    median_response_s: float | None
    p90_response_s: float | None


class IkmFigure(BaseModel):
    """The IKM of one service (`toolkit.survey.ikm`): respondents, the mean of each element U1..U9, the
    index (0..100), the quality category (mutu A..D) and its reading (kinerja)."""

    model_config = _FROZEN
    service_id: str
    respondents: int
    element_means: dict[str, float]
    ikm: float
    mutu: str
    kinerja: str


class LateStep(BaseModel):
    model_config = _FROZEN
    step_id: str
    title: str
    late: int
    measured: int
    share: float
    median_s: float | None
    standard_s: float
    recommendation: str


class ServiceEvaluation(BaseModel):
    model_config = _FROZEN
    service_id: str
    name: str
    outcomes: OutcomeRow
    sla: tuple[SlaRow, ...]
    durations: DurationRow
    steps: tuple[StepRow, ...]
    escalations: EscalationRow
    workload: tuple[WorkloadRow, ...]
    complaints: ComplaintRow | None
    ikm: IkmFigure | None
    late_steps: tuple[LateStep, ...]


class EvaluationReport(BaseModel):
    model_config = _FROZEN
    period: Period
    generated_at: datetime
    services: tuple[ServiceEvaluation, ...]

    @property
    def empty(self) -> bool:
        """No request, complaint or survey answer in the period: the document says so instead of tables."""
        return not any(s.outcomes.total or s.complaints or s.ikm for s in self.services)
