"""`spbe report`: the service standard's evaluation (issue 18).

``spbe report evaluasi --year 2026 [--month 1..12] [--service ID] [--format pdf|html] [-o FILE] [--json]``
computes the figures (`toolkit.evaluation.report`, by SQL over the stores) and writes the document in Bahasa
Indonesia (PDF through the letter kit, or HTML) or prints the figures as JSON. An empty period is an empty
report that says so, not an error. ``spbe report seed-history --year 2026 --tickets 5000 --seed N`` fills the
state dir (``--state-dir``) with a generated year, for trying the report out; only in a lab or demo deployment.

Thin: parse, call the core, render. The compliance report stays ``spbe compliance report``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from toolkit.cli.lazy import LazyGroup
from toolkit.cli.render import emit_json, plain
from toolkit.cli.user_cmd import JSON_OPTION
from toolkit.errors import InvalidInputError, PermissionDeniedError

FORMATS = ("pdf", "html")


@click.group("report", cls=LazyGroup)
def report_group() -> None:
    """Reports on the service standard: the yearly (or monthly) evaluation."""


def _default_name(year: int, month: int | None, fmt: str) -> Path:
    return Path(f"laporan-evaluasi-{year}" + (f"-{month:02d}" if month else "") + f".{fmt}")


@report_group.command("evaluasi")
@click.option("--year", type=int, required=True, help="The calendar year (in the deployment's zone).")
@click.option("--month", type=int, default=None, help="Only this month (1..12).")
@click.option("--service", "service_id", default=None, help="Only this catalog service.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="pdf", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The document's file (default: laporan-evaluasi-<year>[-<month>].<format> here).")
@JSON_OPTION
@click.pass_obj
def evaluasi_command(obj: Any, year: int, month: int | None, service_id: str | None, fmt: str,
                     output: Path | None, as_json: bool) -> None:
    """Requests by outcome, SLA and standard-time compliance, durations, escalations, workload, complaints, IKM."""
    from toolkit.evaluation.report import evaluate_period, period_of
    from toolkit.worktime.calendars import calendars_for

    app = obj.app
    calendars = calendars_for(app.settings.worktime)
    now = app.clock.now()
    period_of(year, month, calendars, now)  # bad input fails before any store is opened
    report = evaluate_period(app.evaluation, app.catalog, calendars, year=year, month=month, service_id=service_id,
                             now=now)
    if as_json and output is None:
        emit_json(obj.console, {**report.model_dump(mode="json"), "empty": report.empty})
        return
    from toolkit.evaluation.render import render_html, render_markdown, render_pdf
    from toolkit.private_files import write_private

    kop = app.settings.documents.kop
    markdown = render_markdown(report, app.settings.templates_dir, kop, app.catalog.roles.labels())
    target = output or _default_name(year, month, fmt)
    if fmt == "pdf":
        write_private(target, render_pdf(markdown, app.letters.pdf))
    else:
        write_private(target, render_html(markdown, app.settings.templates_dir, kop))
    if as_json:
        emit_json(obj.console, {**report.model_dump(mode="json"), "empty": report.empty, "written": str(target)})
        return
    if report.empty:
        obj.console.print("Tidak ada data layanan pada periode ini.")
    for service in report.services:
        within = sum(r.within for r in service.sla)
        done = sum(r.done for r in service.sla)
        share = f"{100 * within / done:.1f}%" if done else "-"
        obj.console.print(f"{plain(service.service_id)}: {service.outcomes.total} requests, "
                          f"{service.outcomes.done} done, {share} within SLA")
    obj.console.print(f"written: {plain(target)}")


@report_group.command("seed-history")
@click.option("--year", type=int, required=True)
@click.option("--tickets", type=click.IntRange(1, 1_000_000), default=5000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@JSON_OPTION
@click.pass_obj
def seed_history_command(obj: Any, year: int, tickets: int, seed: int, as_json: bool) -> None:
    """Fill the state dir with a generated year of history over the SOP services (lab and demo only)."""
    from toolkit.evaluation.generator import seed_history, year_end, year_inputs
    from toolkit.evaluation.report import period_of
    from toolkit.sqlite_tx import STATE_DB, connect
    from toolkit.worktime.calendars import calendars_for

    app = obj.app
    if app.settings.deployment not in ("lab", "demo"):
        raise PermissionDeniedError("seed-history writes generated tickets: only in a lab or demo deployment",
                                    deployment=app.settings.deployment)
    calendars = calendars_for(app.settings.worktime)
    period_of(year, None, calendars, app.clock.now())
    path = getattr(app.tickets, "path", None)
    if not isinstance(path, Path):
        raise InvalidInputError("seed-history fills the embedded ticket store only", errors=[("tickets", "kind")])
    _ = app.state  # the state stores create their tables (escalations, survey_answers)
    inputs = year_inputs(app.catalog)
    summary = seed_history(path, Path(app.settings.state_dir) / STATE_DB, inputs.services, calendars, year=year,
                           tickets=tickets, seed=seed, now=min(year_end(year), app.clock.now()), connect=connect,
                           complaints=inputs.complaints, applicant_roles=inputs.applicant_roles)
    if as_json:
        emit_json(obj.console, summary.model_dump(mode="json"))
        return
    obj.console.print(f"generated {summary.tickets} tickets, {summary.complaints} complaints, "
                      f"{summary.survey_answers} survey answers, {summary.escalations} escalations for {year}")
