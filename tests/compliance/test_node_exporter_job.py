"""SD-MON-01 asks whether *any* job of Prometheus scrapes the host's node_exporter (spbe's own monitoring
install scrapes it in job ``pusat-data``; a site's Prometheus may call it ``node``); a profile that names a
job asks for that one."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from toolkit.compliance.facts import ServerFacts
from toolkit.compliance.outcome import Verdict
from toolkit.compliance.server_checks import NodeExporterScraped


def _facts(*targets: tuple[str, str, str]) -> ServerFacts:
    body = {"status": "success", "data": {"activeTargets": [
        {"labels": {"job": job, "instance": instance}, "health": health, "lastError": ""}
        for job, instance, health in targets]}}
    return ServerFacts(host="pd-01", address="10.0.0.5", gathered_at=datetime(2026, 12, 6, tzinfo=UTC),
                       prometheus_targets=json.dumps(body))


def test_any_job_scraping_the_host_counts_when_the_profile_names_none() -> None:
    check = NodeExporterScraped(type="node-exporter-scraped")
    outcome = check.evaluate(_facts(("pusat-data", "10.0.0.5:9100", "up")))
    assert outcome.verdict is Verdict.PASS and "pusat-data" in outcome.evidence
    assert check.evaluate(_facts(("pusat-data", "10.0.0.6:9100", "up"))).verdict is Verdict.FAIL


def test_one_job_up_of_two_is_enough_and_a_named_job_is_required_when_named() -> None:
    both = _facts(("node", "10.0.0.5:9100", "down"), ("pusat-data", "10.0.0.5:9100", "up"))
    assert NodeExporterScraped(type="node-exporter-scraped").evaluate(both).verdict is Verdict.PASS
    named = NodeExporterScraped(type="node-exporter-scraped", job="node").evaluate(both)
    assert named.verdict is Verdict.FAIL and "job node" in named.evidence
