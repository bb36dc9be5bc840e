"""Prometheus gauges of compliance per profile (issue 14, point 6), read from the history at scrape time.

Like `toolkit.engine.metrics.StoreCollector`, nothing is cached in the process: every ``spbe serve`` sharing
the state reports the same numbers. Cost per scrape: per loaded profile one ``runs(profile, limit=1)``, an
index seek and one row decoded (~2 ms for 100 targets x 10 rules; see
`integrations.state.compliance_history`). A profile never run has no samples (an absent series, not a
made-up 0 or 100%); Prometheus alerts on ``absent()`` or on the age.

``spbe_compliance_failing_rules`` counts rule results failing with no waiver in the last run: a rule failing
on three targets counts three, which is the number of findings a person has to act on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from toolkit.services import Services

log = logging.getLogger("spbe.metrics")


class ComplianceCollector(Collector):
    def __init__(self, app: Services, profiles: Sequence[str]) -> None:
        self._app = app
        self._profiles = tuple(profiles)

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("spbe_compliance_history_up", "Whether the compliance history could be read at "
                               "this scrape (1) or not (0)")
        try:
            metrics = self._compliance()
        except Exception as exc:  # noqa: BLE001 - an unreadable history must not fail the whole scrape
            log.warning("metrics: compliance history cannot be read: %s",
                        self._app.masker(f"{type(exc).__name__}: {exc}"))
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [*metrics, up]

    def _compliance(self) -> list[Metric]:
        rate = GaugeMetricFamily("spbe_compliance_pass_ratio", "Share of rule results of the last run that passed "
                                 "or were waived (0..1; errors count as not passing), by profile", labels=["profile"])
        failing = GaugeMetricFamily("spbe_compliance_failing_rules", "Rule results of the last run failing with no "
                                    "waiver, by profile", labels=["profile"])
        errors = GaugeMetricFamily("spbe_compliance_errors", "Rule results of the last run that could not be "
                                   "checked (unreachable, timeout, parse error), by profile", labels=["profile"])
        age = GaugeMetricFamily("spbe_compliance_last_run_age_seconds", "Seconds since the last run of the profile "
                                "started", labels=["profile"])
        now = self._app.clock.now()
        history = self._app.state.compliance_history
        for profile in self._profiles:
            last = history.runs(profile=profile, limit=1)
            if not last:
                continue
            run = last[0]
            ratio = run.pass_rate()
            if ratio is not None:
                rate.add_metric([profile], ratio)
            failing.add_metric([profile], sum(len(t.failing()) for t in run.targets))
            errors.add_metric([profile], sum(len(t.errors()) for t in run.targets))
            age.add_metric([profile], max((now - run.started_at).total_seconds(), 0.0))
        return [rate, failing, errors, age]


def compliance_collector(app: Services) -> ComplianceCollector:
    """The collector over the deployment's loaded profiles (packaged and the site's own). A site directory
    that does not load costs its own profiles' gauges, not the metrics endpoint: the packaged ones stay."""
    from toolkit.compliance.loader import load_profiles
    from toolkit.errors import ConfigurationError

    try:
        profiles = load_profiles(app.settings.compliance.profiles_dir)
    except ConfigurationError as exc:
        log.warning("metrics: the site's compliance profiles do not load, packaged ones only: %s", app.masker(str(exc)))
        profiles = load_profiles()
    return ComplianceCollector(app, sorted(profiles))
