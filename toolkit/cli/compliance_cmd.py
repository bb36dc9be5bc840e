"""`spbe compliance schedule list|add|pause|resume`: compliance checks on a schedule (issue 14, point 3).

Thin: parse, call `toolkit.commands.schedules`, render (a rich table, or ``--json``). Times are shown in
the schedule's own zone (what the cron expression means) with the zone's abbreviation, WITA/WIB being
what the operators in Gorontalo and Surakarta read; ``--json`` gives UTC instants. A bad cron
expression or time zone is an `InvalidInputError`: exit 2, nothing stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.table import Table

from toolkit.cli.lazy import LazyGroup
from toolkit.cli.render import emit_json, plain
from toolkit.cli.user_cmd import AS_OPTION, JSON_OPTION
from toolkit.commands.schedules import add_schedule, list_schedules, set_paused
from toolkit.ports.schedule_records import Schedule


@click.group("compliance", cls=LazyGroup, lazy_subcommands={
    "run": "toolkit.cli.compliance_run_cmd:run_command",
    "waiver": "toolkit.cli.compliance_waiver_cmd:waiver_group",
    "report": "toolkit.cli.compliance_report_cmd:report_command",
})
def compliance_group() -> None:
    """Compliance checks: profiles run on targets, on a schedule."""


@compliance_group.group("schedule")
def schedule_group() -> None:
    """Schedules of compliance checks (cron expression in an IANA time zone), fired by `spbe serve`."""


def _local(schedule: Schedule, instant: datetime | None) -> str:
    return instant.astimezone(schedule.zone).strftime("%Y-%m-%d %H:%M %Z") if instant else "-"


def _view(schedule: Schedule, now: datetime) -> dict[str, Any]:
    return {**schedule.model_dump(mode="json"),
            "next_due": None if schedule.paused else schedule.next_due(now).isoformat()}


def _show(obj: Any, schedules: list[Schedule], as_json: bool, title: str) -> None:
    now = obj.app.clock.now()
    if as_json:
        emit_json(obj.console, [_view(s, now) for s in schedules])
        return
    table = Table(title=title)
    for column in ("ID", "Profile", "Targets", "Cron", "Time zone", "Status", "Next run", "Last run", "By"):
        table.add_column(column, no_wrap=column in ("ID", "Status"), overflow="fold")
    for s in schedules:
        status = "[yellow]paused[/]" if s.paused else "[green]active[/]"
        table.add_row(plain(s.id), plain(s.profile), plain(", ".join(s.targets)), plain(s.cron), plain(s.timezone),
                      status, "-" if s.paused else _local(s, s.next_due(now)), _local(s, s.last_due),
                      plain(s.created_by))
    obj.console.print(table)


@schedule_group.command("list")
@JSON_OPTION
@click.pass_obj
def schedule_list(obj, as_json) -> None:  # type: ignore[no-untyped-def]
    """Every schedule with its next and last run, in its own time zone."""
    _show(obj, list_schedules(obj.app), as_json, "Compliance schedules")


@schedule_group.command("add")
@click.argument("schedule_id")
@click.option("--profile", required=True, help="The compliance profile to run (e.g. server-dasar).")
@click.option("--target", "targets", multiple=True, required=True,
              help="A target (inventory host or group); repeat for more.")
@click.option("--cron", required=True, help='Five cron fields in the zone\'s wall-clock time, e.g. "0 2 * * *".')
@click.option("--tz", "timezone", required=True, help="IANA time zone: Asia/Makassar (WITA), Asia/Jakarta (WIB).")
@click.option("--paused", is_flag=True, help="Store it paused (resume it later).")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def schedule_add(obj, schedule_id, profile, targets, cron, timezone, paused, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Add schedule SCHEDULE_ID (a role managing compliance schedules only)."""
    schedule = add_schedule(obj.app, obj.principal(actor), schedule_id=schedule_id, profile=profile,
                            targets=targets, cron=cron, timezone=timezone, paused=paused)
    _show(obj, [schedule], as_json, "Compliance schedule added")


def _toggle(obj: Any, schedule_id: str, actor: str | None, as_json: bool, *, paused: bool) -> None:
    schedule, changed = set_paused(obj.app, obj.principal(actor), schedule_id, paused=paused)
    word = "paused" if paused else "resumed"
    _show(obj, [schedule], as_json, f"Compliance schedule {word}" if changed else f"Already {word}")


@schedule_group.command("pause")
@click.argument("schedule_id")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def schedule_pause(obj, schedule_id, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Pause SCHEDULE_ID: nothing fires until it is resumed."""
    _toggle(obj, schedule_id, actor, as_json, paused=True)


@schedule_group.command("resume")
@click.argument("schedule_id")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def schedule_resume(obj, schedule_id, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Resume SCHEDULE_ID; runs missed while it was paused are not owed."""
    _toggle(obj, schedule_id, actor, as_json, paused=False)

