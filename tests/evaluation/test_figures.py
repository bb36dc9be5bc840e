"""Every figure of the evaluation (computed by SQL over the stores) equals the independent computation over the
generator's records (`tests.evaluation.expected`): the year, a month, one service."""

from __future__ import annotations

import pytest

from tests.evaluation import expected
from tests.evaluation.conftest import SOP_SERVICES, YEAR, History
from toolkit.evaluation.generator import year_end
from toolkit.evaluation.models import EvaluationReport, ServiceEvaluation
from toolkit.evaluation.report import evaluate_period


def _report(history: History, month: int | None = None, service_id: str | None = None) -> EvaluationReport:
    return evaluate_period(history.store, history.catalog, history.calendars, year=YEAR, month=month,
                           service_id=service_id, now=year_end(YEAR))


@pytest.fixture(scope="module")
def year_report(history: History) -> EvaluationReport:
    return _report(history)


def _check_service(history: History, report: EvaluationReport, got: ServiceEvaluation) -> None:
    want = expected.service_figures(history.tickets, history.catalog, history.calendars, report.period,
                                    got.service_id)
    o = want["outcomes"]
    assert (got.outcomes.total, got.outcomes.done, got.outcomes.rejected, got.outcomes.deferred, got.outcomes.open) \
        == (o["total"], o["done"], o["rejected"], o["deferred"], o["open"])
    assert {r.variant_id: (r.done, r.within, r.breached) for r in got.sla} == {
        variant: (c["done"], c["within"], c["breached"]) for variant, c in want["sla"].items()
        if c["done"] or c["breached"] or variant in {r.variant_id for r in got.sla}}
    assert got.durations.count == len(want["durations"])
    assert got.durations.median_s == pytest.approx(expected.nearest_rank(want["durations"], 0.5), abs=1e-3)
    assert got.durations.p90_s == pytest.approx(expected.nearest_rank(want["durations"], 0.9), abs=1e-3)
    assert {s.step_id: (s.measured, s.late) for s in got.steps} == {k: (v[0], v[1]) for k, v in want["steps"].items()}
    for step in got.steps:
        assert step.median_s == pytest.approx(expected.nearest_rank(want["steps"][step.step_id][2], 0.5), abs=1e-3)
    e = want["escalations"]
    assert (got.escalations.step_late, got.escalations.sla_breached, got.escalations.claims,
            got.escalations.delivered) == (e["step_late"], e["sla_breached"], e["claims"], e["delivered"])
    assert {(w.actor, w.role): (w.steps, w.tickets) for w in got.workload} == want["workload"]
    late = sorted(((s, n) for s, (m, n, _) in want["steps"].items() if n), key=lambda x: (-x[1], x[0]))
    assert [ls.late for ls in got.late_steps] == sorted((n for _, n in late), reverse=True)[:5]
    assert all(ls.recommendation for ls in got.late_steps)


def test_the_year_matches_the_records(history: History, year_report: EvaluationReport) -> None:
    assert {s.service_id for s in year_report.services} == set(SOP_SERVICES)
    assert sum(s.outcomes.total for s in year_report.services) == sum(
        1 for t in history.tickets if t.service_id in SOP_SERVICES)
    for service in year_report.services:
        _check_service(history, year_report, service)


def test_the_generated_year_has_every_kind_of_history(year_report: EvaluationReport) -> None:
    """The data earns its figures: deferrals, rejections, breaches, escalations of both kinds, late steps."""
    services = year_report.services
    assert all(s.outcomes.done and s.outcomes.rejected and s.outcomes.deferred for s in services)
    assert all(any(r.breached for r in s.sla) and any(r.within for r in s.sla) for s in services)
    assert sum(s.escalations.step_late for s in services) and sum(s.escalations.sla_breached for s in services)
    assert any(s.late_steps for s in services)
    assert all(len({w.actor for w in s.workload}) >= 4 for s in services)
    assert all(s.complaints is not None and s.ikm is not None for s in services)


def test_complaints_and_ikm_match_the_records(history: History, year_report: EvaluationReport) -> None:
    assert history.inputs.complaints is not None
    complaints = expected.complaint_figures(history.tickets, year_report.period, history.inputs.complaints)
    ikm = expected.ikm_figures(history.tickets, year_report.period)
    for service in year_report.services:
        want = complaints[service.service_id]
        got = service.complaints
        assert got is not None
        assert (got.total, got.open, got.in_progress, got.deferred, got.closed) == (
            sum(want["status"].values()), want["status"]["open"], want["status"]["in_progress"],
            want["status"]["deferred"], want["status"]["closed"])
        assert got.answered == len(want["responses"])
        assert got.median_response_s == pytest.approx(expected.nearest_rank(want["responses"], 0.5), abs=1e-3)
        assert got.p90_response_s == pytest.approx(expected.nearest_rank(want["responses"], 0.9), abs=1e-3)
        respondents, means, value, letter = ikm[service.service_id]
        assert service.ikm is not None
        assert (service.ikm.respondents, service.ikm.ikm, service.ikm.mutu) == (respondents, value, letter)
        assert [service.ikm.element_means[f"U{n}"] for n in range(1, 10)] == pytest.approx(means)


@pytest.mark.parametrize("month", [2, 12])
def test_a_month_matches_the_records(history: History, month: int) -> None:
    report = _report(history, month=month)
    assert report.period.month == month
    assert report.services
    for service in report.services:
        _check_service(history, report, service)


def test_one_service_is_the_same_as_in_the_whole_year(history: History, year_report: EvaluationReport) -> None:
    alone = _report(history, service_id="keamanan-informasi")
    assert [s.service_id for s in alone.services] == ["keamanan-informasi"]
    assert alone.services[0] == next(s for s in year_report.services if s.service_id == "keamanan-informasi")


def test_a_year_without_data_is_an_empty_report(history: History) -> None:
    report = evaluate_period(history.store, history.catalog, history.calendars, year=2025, now=year_end(YEAR))
    assert report.empty and report.services == ()
    one = evaluate_period(history.store, history.catalog, history.calendars, year=2025, service_id="splp",
                          now=year_end(YEAR))
    assert one.empty and one.services[0].outcomes.total == 0 and one.services[0].ikm is None
