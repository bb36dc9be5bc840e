"""`spbe compliance report [--since DATE] [--profile P] [--output DIR] [--json]` (issue 14, point 6).

Thin: parse, read the history through `toolkit.compliance.report.report_from`, render. Without ``--output``
a summary is printed (per profile, what fails now, the waivers); with it the full report is written as HTML
(Bahasa Indonesia, trend chart embedded), SVG and JSON; ``--json`` prints the report as JSON. ``--since`` is
a calendar day in the deployment's zone (``settings.compliance.timezone``), 30 days ago by default.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from toolkit.cli.render import emit_json, plain
from toolkit.cli.user_cmd import JSON_OPTION
from toolkit.compliance.report import ComplianceReport, report_from
from toolkit.compliance.report_html import WAIVER_STATE, persen, write_report
from toolkit.errors import InvalidInputError, NotFoundError

DEFAULT_DAYS = 30
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _since(value: str | None, now: datetime, zone: Any) -> datetime:
    today = now.astimezone(zone).date()
    if value is None:
        day = today - timedelta(days=DEFAULT_DAYS)
    else:
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            day = date.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(f"--since must be a date YYYY-MM-DD, not {value!r}",
                                    errors=[("since", "not a date")]) from None
        if day > today:
            raise InvalidInputError(f"--since {day.isoformat()} is after today ({today.isoformat()})",
                                    errors=[("since", "in the future")])
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def _summary(obj: Any, report: ComplianceReport) -> None:
    zone = obj.app.settings.compliance.zone()

    def local(value: datetime) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    profiles = Table(title=f"Compliance since {local(report.since)} ({report.runs} run(s))")
    for column in ("Profile", "Runs", "Pass rate", "Last run", "Last pass rate", "Failing now"):
        profiles.add_column(column)
    for p in report.profiles:
        profiles.add_row(plain(p.profile), str(p.runs), persen(p.pass_rate), local(p.last_run_at),
                         persen(p.last_pass_rate), str(p.last_failing))
    obj.console.print(profiles)
    failing = Table(title="Failing now")
    for column in ("Profile", "Target", "Rule", "Severity", "Since"):
        failing.add_column(column, overflow="fold")
    for f in report.failing:
        failing.add_row(plain(f.profile), plain(f.target), plain(f.rule_id), plain(f.severity), local(f.since))
    obj.console.print(failing)
    waivers = Table(title="Waivers")
    for column in ("ID", "State", "Rule", "Target", "Expires"):
        waivers.add_column(column, overflow="fold")
    for row in report.waivers:
        w = row.waiver
        waivers.add_row(plain(w.id), WAIVER_STATE[row.state], plain(w.rule_id), plain(w.target), plain(w.expires_on))
    obj.console.print(waivers)


@click.command("report")
@click.option("--since", "since", default=None, help=f"First day, YYYY-MM-DD (default: {DEFAULT_DAYS} days ago).")
@click.option("--profile", default=None, help="Only this profile.")
@click.option("--output", "output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the HTML report, its SVG trend chart and the JSON here.")
@JSON_OPTION
@click.pass_obj
def report_command(obj, since, profile, output, as_json) -> None:  # type: ignore[no-untyped-def]
    """Pass rates per profile, target and rule, the trend, failures, errors and waivers of a period."""
    app = obj.app
    zone = app.settings.compliance.zone()
    now = app.clock.now()
    start = _since(since, now, zone)
    if profile is not None:
        try:
            app.compliance.profile(profile)
        except NotFoundError as exc:
            raise InvalidInputError(str(exc), errors=[("profile", "unknown")]) from None
    report = report_from(app.state.compliance_history, app.state.waivers, since=start, until=now, zone=zone,
                         profile=profile, mask=app.masker)
    files = write_report(report, output, app.settings.templates_dir) if output is not None else None
    if as_json:
        emit_json(obj.console, report.model_dump(mode="json"))
        return
    _summary(obj, report)
    if files is not None:
        for path in (files.html, files.svg, files.json):
            obj.console.print(f"written: {plain(path)}")
