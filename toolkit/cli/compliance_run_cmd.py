"""`spbe compliance run PROFILE [--target ...]`: a compliance sweep now, as the person at the keyboard.

Thin: call `toolkit.commands.compliance` (which authorises before it resolves a target, so nobody learns
the inventory's names by asking), render a per-target table (rich) or the run as JSON. The exit code says
what was found: 0 when every rule passed or is waived, 1 when a rule fails or could not be checked (a
script or a CI job can gate on it); tickets for the failures are opened either way. A refusal exits with
its error's code (bad selector 2, unknown target 3, not allowed 4).
"""

from __future__ import annotations

from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from toolkit.cli.render import emit_json, plain
from toolkit.cli.user_cmd import AS_OPTION, JSON_OPTION
from toolkit.commands.compliance import RunReport, run_profile


def _table(report: RunReport) -> Table:
    run = report.run
    took = (run.finished_at - run.started_at).total_seconds()
    table = Table(title=f"compliance {run.profile}: run {run.id} ({took:.1f} s)")
    for column in ("Target", "Pass", "Fail", "Waived", "Error", "Failing rules", "Ticket"):
        table.add_column(column, overflow="fold")
    for t in run.targets:
        passed = sum(1 for r in t.rules if r.verdict == "pass")
        waived = sum(1 for r in t.rules if r.waiver)
        failing = t.failing()
        style = "red" if failing or t.errors() else "green"
        table.add_row(f"[{style}]{plain(t.target)}[/]", str(passed), str(len(failing)), str(waived),
                      str(len(t.errors())) + (" (unreachable)" if t.unreachable else ""),
                      plain(", ".join(r.rule_id for r in failing)) or "-", plain(report.tickets.get(t.target, "-")))
    return table


@click.command("run")
@click.argument("profile")
@click.option("--target", "targets", multiple=True, default=("*",), show_default=True,
              help="Inventory name, group:NAME or *; repeat for more.")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def run_command(obj: Any, profile: str, targets: tuple[str, ...], actor: str | None, as_json: bool) -> None:
    """Check PROFILE's rules on the targets now; open Audit TI tickets for new failures."""
    app = obj.app
    principal = obj.principal(actor)
    if as_json:
        report = run_profile(app, app.compliance, principal, profile, targets)
        emit_json(obj.console, report.model_dump(mode="json"))
    else:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[last]}"), TimeElapsedColumn(), console=obj.err) as progress:
            task = progress.add_task(profile, total=None, last="")
            report = run_profile(app, app.compliance, principal, profile, targets,
                                 resolved=lambda names: progress.update(task, total=len(names)),
                                 progress=lambda target: progress.update(task, advance=1, last=target))
        obj.console.print(_table(report))
        if report.opened:
            obj.console.print(f"Audit TI tickets opened: {', '.join(report.opened)}")
    if any(t.failing() or t.errors() for t in report.run.targets):
        raise SystemExit(1)
