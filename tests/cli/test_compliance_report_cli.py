"""`spbe compliance report` through the real CLI over a history in the real state store: the summary, the
files of ``--output`` (HTML with the chart embedded, SVG, JSON), ``--json``, and bad input (exit 2). The
history is placed a day before now (the CLI reads the wall clock)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.cli import Spbe
from toolkit.bootstrap import App
from toolkit.ports.compliance_records import ComplianceRun, RuleRecord, TargetRecord
from toolkit.settings import load_settings


def _seed(state_dir: Path, days_ago: int = 1) -> None:
    started = datetime.now(UTC) - timedelta(days=days_ago)
    rules = (RuleRecord(rule_id="SD-SSH-01", title="Login root", severity="tinggi", verdict="pass", evidence="ok"),
             RuleRecord(rule_id="SD-SSH-02", title="Login sandi", severity="tinggi", verdict="fail",
                        evidence="PasswordAuthentication yes <b>tebal</b>"),
             RuleRecord(rule_id="SD-FW-01", title="Firewall", severity="kritis", verdict="pass", evidence="ok"),
             RuleRecord(rule_id="SD-FS-01", title="Berkas", severity="sedang", verdict="error", evidence="timeout"))
    app = App(load_settings(state_dir=state_dir))
    try:
        app.state.compliance_history.record(ComplianceRun(
            id="a" * 32, profile="server-dasar", trigger="manual", by="eko", started_at=started,
            finished_at=started + timedelta(minutes=1), targets=(TargetRecord(target="pd-01", rules=rules),)))
    finally:
        app.close()


def test_summary_files_and_json(spbe: Spbe, state_dir: Path, tmp_path: Path) -> None:
    _seed(state_dir)
    summary = spbe("compliance", "report", env={"COLUMNS": "200"})
    assert summary.exit_code == 0, summary.output
    assert "server-dasar" in summary.stdout and "50,0%" in summary.stdout and "SD-SSH-02" in summary.stdout
    out = tmp_path / "laporan"
    written = spbe("compliance", "report", "--profile", "server-dasar", "--output", str(out))
    assert written.exit_code == 0, written.output
    html = next(out.glob("laporan-kepatuhan-*.html")).read_text(encoding="utf-8")
    assert "Laporan Kepatuhan Keamanan" in html and "data:image/png;base64," in html
    assert "&lt;b&gt;tebal&lt;/b&gt;" in html and "<b>tebal" not in html
    assert next(out.glob("*-tren.svg")).read_bytes().lstrip().startswith(b"<?xml")
    as_json = spbe.json("compliance", "report")
    assert as_json["runs"] == 1 and as_json["profiles"][0]["pass_rate"] == 0.5
    assert as_json == {**json.loads(next(out.glob("*.json")).read_text(encoding="utf-8")),
                       "profile": None, "generated_at": as_json["generated_at"], "until": as_json["until"]}


def test_a_period_without_runs_is_empty_not_an_error(spbe: Spbe, state_dir: Path) -> None:
    _seed(state_dir, days_ago=3)
    yesterday = (datetime.now(ZoneInfo("Asia/Jakarta")).date() - timedelta(days=1)).isoformat()
    assert spbe.json("compliance", "report", "--since", yesterday)["runs"] == 0
    assert spbe.json("compliance", "report")["runs"] == 1, "the default period (30 days) has it"
    assert spbe.json("compliance", "report", "--profile", "jaringan-intra")["runs"] == 0


def test_bad_input_is_exit_2(spbe: Spbe) -> None:
    for args in (("--since", "kemarin"), ("--since", "2999-01-01"), ("--profile", "tidak-ada"),
                 ("--since", "2026-02-30")):
        result = spbe("compliance", "report", *args)
        assert result.exit_code == 2, (args, result.output)
