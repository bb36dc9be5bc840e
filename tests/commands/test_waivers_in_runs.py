"""Waivers, history and report end to end with the lead's runner (`run_profile`) on the real engine parts:
a waiver requested and approved through the commands excuses its rule in the next run (verdict stays
``fail``, counted as passing), stops excusing it the day after it expires, and the report over both runs
shows the numbers and the waiver as expired. Servers are dicts behind the Gatherer port
(tests/support/compliance_parts.py), as in tests/commands/test_compliance_audit_flow.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.audit_ti import SSH_PROFILE
from tests.support.clock import ManualClock
from tests.support.compliance_parts import WEAK, DictGatherer, DictRemediator, DictServers
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands.compliance import run_profile
from toolkit.commands.waivers import decide_waiver, request_waiver, waiver_request
from toolkit.compliance.report import report_from
from toolkit.settings import load_settings

WITA = ZoneInfo("Asia/Makassar")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 WITA


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "uji.yaml").write_text(SSH_PROFILE, encoding="utf-8")
    clock = ManualClock(START)
    servers = DictServers(clock.now, {"web-1": WEAK})
    opened = App(load_settings(state_dir=tmp_path / "state", deployment="lab",
                               compliance={"profiles_dir": profiles, "timezone": "Asia/Makassar"}),
                 clock=clock, compliance_parts={"gather:server": DictGatherer(servers),
                                                "remedy:server": DictRemediator(servers, fail_on=set())})
    yield opened
    opened.close()


def test_a_waiver_excuses_until_its_day_ends_and_the_report_shows_it(app: App) -> None:
    req = waiver_request(profile="uji-ssh", rule_id="UJI-SSH-01", target="web-1",
                         reason="Aplikasi lama membutuhkan login root sampai migrasi.", expires_on="2026-03-02")
    waiver = request_waiver(app, as_lab("hendra"), req)
    decide_waiver(app, as_lab("kabid"), waiver.id, "approve")

    first = run_profile(app, app.compliance, as_lab("hendra"), "uji-ssh", ["web-1"]).run
    rules = {r.rule_id: (r.verdict, r.waiver) for r in first.targets[0].rules}
    assert rules == {"UJI-SSH-01": ("fail", waiver.id), "UJI-SSH-02": ("fail", None)}
    assert first.pass_rate() == 0.5

    app.clock.advance(timedelta(hours=14))  # 23:00 WITA on 2 March: still the expiry day
    assert run_profile(app, app.compliance, as_lab("hendra"), "uji-ssh", ["web-1"]).run.pass_rate() == 0.5
    app.clock.advance(timedelta(hours=2))  # 01:00 WITA on 3 March (still 2 March in UTC): expired
    third = run_profile(app, app.compliance, as_lab("hendra"), "uji-ssh", ["web-1"]).run
    assert third.pass_rate() == 0.0 and [r.rule_id for r in third.targets[0].failing()] == ["UJI-SSH-01",
                                                                                             "UJI-SSH-02"]
    report = report_from(app.state.compliance_history, app.state.waivers, since=START - timedelta(hours=1),
                         until=app.clock.now(), zone=WITA)
    [profile] = report.profiles
    assert (profile.runs, profile.overall.good, profile.overall.total, profile.overall.waived) == (3, 2, 6, 2)
    assert profile.last_pass_rate == 0.0 and profile.last_failing == 2
    assert [(f.rule_id, f.since) for f in report.failing] == [("UJI-SSH-01", third.started_at),
                                                              ("UJI-SSH-02", first.started_at)]
    assert [(row.waiver.id, row.state) for row in report.waivers] == [(waiver.id, "kedaluwarsa")]
