"""Compliance gauges per profile on the real ``/metrics`` endpoint (`serving_metrics`, prometheus-client's
HTTP server on loopback), read from the real history store at scrape time: the last run's pass ratio,
failing rules (waived ones not counted) and errors, and its age by the app's clock; a profile never run has
no series; a new run shows at the next scrape."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.clock import ManualClock
from toolkit.bootstrap import App
from toolkit.engine.metrics import serving_metrics
from toolkit.observability.config import MetricsSettings
from toolkit.ports.compliance_records import ComplianceRun, RuleRecord, TargetRecord, Verdict
from toolkit.settings import load_settings

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _rule(rule_id: str, verdict: Verdict, waiver: str | None = None) -> RuleRecord:
    return RuleRecord(rule_id=rule_id, title=rule_id, severity="tinggi", verdict=verdict, evidence="-", waiver=waiver)


def _run(n: int, started: datetime, *rules: RuleRecord, profile: str = "server-dasar") -> ComplianceRun:
    target = TargetRecord(target="pd-01", rules=rules)
    return ComplianceRun(id=f"{n:032x}", profile=profile, trigger="schedule", by="spbe", started_at=started,
                         finished_at=started + timedelta(minutes=1), targets=(target,))


def scrape(url: str) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the loopback URL we just started
        assert response.status == 200
        text = response.read().decode()
    return {(s.name, s.labels.get("profile", "")): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name.startswith("spbe_compliance")}


@pytest.fixture
def app(state_dir: Path) -> Iterator[App]:
    opened = App(load_settings(state_dir=state_dir), clock=ManualClock(NOW))
    yield opened
    opened.close()


def test_gauges_per_profile_from_the_last_run(app: App) -> None:
    history = app.state.compliance_history
    history.record(_run(1, NOW - timedelta(days=1), _rule("SD-SSH-01", "fail"), _rule("SD-SSH-02", "fail")))
    history.record(_run(2, NOW - timedelta(minutes=90), _rule("SD-SSH-01", "pass"),
                        _rule("SD-SSH-02", "fail", waiver="W-0001"), _rule("SD-FW-01", "fail"),
                        _rule("SD-FS-01", "error")))
    with serving_metrics(app, MetricsSettings(enabled=True, host="127.0.0.1", port=0)) as url:
        assert url is not None
        first = scrape(url)
        assert first[("spbe_compliance_pass_ratio", "server-dasar")] == 0.5  # pass + waived of 4
        assert first[("spbe_compliance_failing_rules", "server-dasar")] == 1  # the waived failure is not counted
        assert first[("spbe_compliance_errors", "server-dasar")] == 1
        assert first[("spbe_compliance_last_run_age_seconds", "server-dasar")] == 90 * 60
        assert first[("spbe_compliance_history_up", "")] == 1
        assert not [k for k in first if k[1] == "jaringan-intra"], "never run: no series"

        history.record(_run(3, NOW, _rule("JI-HTTP-01", "pass"), profile="jaringan-intra"))
        app.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
        second = scrape(url)
        assert second[("spbe_compliance_pass_ratio", "jaringan-intra")] == 1.0
        assert second[("spbe_compliance_failing_rules", "jaringan-intra")] == 0
        assert second[("spbe_compliance_last_run_age_seconds", "jaringan-intra")] == 600
        assert second[("spbe_compliance_last_run_age_seconds", "server-dasar")] == 100 * 60


def test_a_site_profile_dir_that_does_not_load_keeps_the_packaged_gauges(state_dir: Path, tmp_path: Path) -> None:
    site = tmp_path / "profil-situs"
    site.mkdir()
    (site / "rusak.yaml").write_text("id: rusak\ntarget: server\nrules: [{id: X}]\n", encoding="utf-8")
    broken = App(load_settings(state_dir=state_dir, compliance={"profiles_dir": str(site)}), clock=ManualClock(NOW))
    try:
        broken.state.compliance_history.record(_run(1, NOW - timedelta(seconds=30), _rule("SD-SSH-01", "pass")))
        with serving_metrics(broken, MetricsSettings(enabled=True, host="127.0.0.1", port=0)) as url:
            assert url is not None
            assert scrape(url)[("spbe_compliance_last_run_age_seconds", "server-dasar")] == 30
    finally:
        broken.close()
