"""This month's evaluation figures on the real ``/metrics`` endpoint of `spbe serve --metrics` (`serving_metrics`,
prometheus-client's HTTP server on loopback): equal to the report of the same month, absent for a month without
data, and kept for the collector's ttl."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.evaluation.conftest import YEAR, History
from tests.support.clock import ManualClock
from toolkit.bootstrap import App
from toolkit.engine.metrics import serving_metrics
from toolkit.evaluation.report import evaluate_period
from toolkit.observability.config import MetricsSettings
from toolkit.settings import load_settings

NOW = datetime(YEAR, 6, 20, 3, 0, tzinfo=UTC)  # June in WIB


def scrape(url: str) -> dict[tuple[str, tuple[str, ...]], float]:
    """(name, (service, outcome) or (service,) or ()) -> value."""
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the loopback URL we just started
        text = response.read().decode()
    return {(s.name, tuple(s.labels[k] for k in ("service", "outcome") if k in s.labels)): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith("spbe_evaluation")}


@pytest.fixture
def app(history: History, tmp_path: Path) -> Iterator[App]:
    state = tmp_path / "state"
    shutil.copytree(history.state_dir, state)  # the app opens the stores read-write: its own copy
    opened = App(load_settings(state_dir=state), clock=ManualClock(NOW))
    yield opened
    opened.close()


def test_this_months_figures_are_served(app: App, history: History) -> None:
    report = evaluate_period(app.evaluation, history.catalog, history.calendars, year=YEAR, month=6, now=NOW)
    with serving_metrics(app, MetricsSettings(enabled=True, host="127.0.0.1", port=0)) as url:
        assert url is not None
        got = scrape(url)
    assert got[("spbe_evaluation_up", ())] == 1
    assert report.services
    for s in report.services:
        done = sum(r.done for r in s.sla)
        assert got[("spbe_evaluation_sla_within_ratio", (s.service_id,))] == pytest.approx(
            sum(r.within for r in s.sla) / done)
        assert got[("spbe_evaluation_requests", (s.service_id, "done"))] == s.outcomes.done
        assert got[("spbe_evaluation_requests", (s.service_id, "open"))] == s.outcomes.open
        complaints = got.get(("spbe_evaluation_complaints_open", (s.service_id,)))
        assert complaints == (None if s.complaints is None else s.complaints.total - s.complaints.closed)
        assert got.get(("spbe_evaluation_ikm", (s.service_id,))) == (None if s.ikm is None else s.ikm.ikm)
    assert any(s.complaints for s in report.services) and any(s.ikm for s in report.services)


def test_a_month_without_data_has_no_series(app: App) -> None:
    app.clock.advance(timedelta(days=400))  # type: ignore[attr-defined]
    with serving_metrics(app, MetricsSettings(enabled=True, host="127.0.0.1", port=0)) as url:
        assert url is not None
        got = scrape(url)
    assert got == {("spbe_evaluation_up", ()): 1}
