"""The evaluation's figures of the current month as Prometheus gauges (issue 18, point 5), for Grafana or the lab's
Prometheus: SLA compliance per service, open complaints, the IKM.

Computed at scrape time by the same read model as ``spbe report evaluasi`` (`toolkit.evaluation.report`), over the
tickets created this month in the deployment's zone. Unlike the queue's gauges (`toolkit.engine.metrics`), which
are a GROUP BY each, this is a dozen statements over a month of tickets (about 0.1 CPU-s at 8 000 tickets a month),
so the figures are kept for ``ttl`` seconds (60 by default): a scrape every 15 s costs one computation a minute,
and a figure is at most that old. A month without data has no series (absent, not a made-up 0 or 100%).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from toolkit.evaluation.models import EvaluationReport

log = logging.getLogger("spbe.metrics")
DEFAULT_TTL = 60.0


class EvaluationCollector(Collector):
    """``app``: the composition root (its ``evaluation`` read model, catalog, settings, clock and masker)."""

    def __init__(self, app: Any, ttl: float = DEFAULT_TTL) -> None:
        self._app = app
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, tuple[int, int], EvaluationReport] | None = None

    def _report(self) -> EvaluationReport:
        from toolkit.evaluation.report import evaluate_period
        from toolkit.worktime.calendars import calendars_for

        app = self._app
        calendars = calendars_for(app.settings.worktime)
        now = app.clock.now()
        local = calendars.zone().local(now)
        month = (local.year, local.month)
        with self._lock:
            cached = self._cached
            if cached is not None and cached[1] == month and time.monotonic() - cached[0] < self._ttl:
                return cached[2]
            report = evaluate_period(app.evaluation, app.catalog, calendars, year=local.year, month=local.month,
                                     now=now)
            self._cached = (time.monotonic(), month, report)
            return report

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("spbe_evaluation_up", "Whether this month's evaluation figures could be computed at "
                               "this scrape (1) or not (0)")
        try:
            report = self._report()
        except Exception as exc:  # noqa: BLE001 - an unreadable store must not fail the whole scrape
            log.warning("metrics: the evaluation cannot be computed: %s",
                        self._app.masker(f"{type(exc).__name__}: {exc}"))
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [*families(report), up]


def families(report: EvaluationReport) -> list[Metric]:
    """The gauges of one report (its period is the current month when the collector asks)."""
    within = GaugeMetricFamily("spbe_evaluation_sla_within_ratio", "Share of this month's done requests completed "
                               "within the service's SLA (0..1), by service", labels=["service"])
    requests = GaugeMetricFamily("spbe_evaluation_requests", "This month's requests by outcome (done, rejected, "
                                 "deferred, open), by service", labels=["service", "outcome"])
    breached = GaugeMetricFamily("spbe_evaluation_sla_breached", "This month's requests past their SLA (done late, "
                                 "or open past the deadline), by service", labels=["service"])
    complaints = GaugeMetricFamily("spbe_evaluation_complaints_open", "This month's complaints about the service "
                                   "that are not closed yet", labels=["service"])
    ikm = GaugeMetricFamily("spbe_evaluation_ikm", "The IKM (25..100, Permenpan RB 14/2017) of this month's survey "
                            "answers, by service", labels=["service"])
    respondents = GaugeMetricFamily("spbe_evaluation_ikm_respondents", "Survey answers behind the IKM, by service",
                                    labels=["service"])
    for s in report.services:
        done = sum(r.done for r in s.sla)
        if done:
            within.add_metric([s.service_id], sum(r.within for r in s.sla) / done)
        for outcome in ("done", "rejected", "deferred", "open"):
            requests.add_metric([s.service_id, outcome], getattr(s.outcomes, outcome))
        breached.add_metric([s.service_id], sum(r.breached for r in s.sla))
        if s.complaints is not None:
            complaints.add_metric([s.service_id], s.complaints.total - s.complaints.closed)
        if s.ikm is not None:
            ikm.add_metric([s.service_id], s.ikm.ikm)
            respondents.add_metric([s.service_id], s.ikm.respondents)
    return [within, requests, breached, complaints, ikm, respondents]
