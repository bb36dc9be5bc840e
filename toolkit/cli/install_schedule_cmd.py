"""`spbe ticket schedule propose|confirm|reject`: the installation's *jadwal pelaksanaan* (SOP 001 steps 5-6).

Times are typed in the service's local time (WITA for Gorontalo) or with an explicit offset
(``2026-12-10T09:00+08:00``); see `toolkit.domain.install_schedule.parse_local`. Through the CLI's desk
(`toolkit.cli.desk_client`): this machine's stores, or after ``spbe login`` the server's
``/api/v1/tickets/{id}/schedule/*``, where the server reads the times in the service's zone and its policy
decides; both answer with the same `Outcome`, so the output is the same.
"""

from __future__ import annotations

from typing import Any

import click

from toolkit.cli.render import emit_json, plain

AS_OPTION = click.option("--as", "actor", help="Lab and demo only: act as this username (else the person mapped "
                                                "to your OS account).")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group("schedule")
def schedule_group() -> None:
    """The installation schedule: the team proposes, the requester confirms or asks for another date."""


def _emit(obj: Any, outcome: Any, as_json: bool, said: str) -> None:
    from zoneinfo import ZoneInfo

    from toolkit.domain.install_schedule import local

    if as_json:
        emit_json(obj.console, outcome)
        return
    zone = ZoneInfo(outcome.zone)
    window = f"{local(outcome.schedule.start, zone)} - {local(outcome.schedule.end, zone)}"
    obj.console.print(f"{plain(outcome.ticket_id)}: {said if outcome.acted else 'tidak berubah'} ({plain(window)}, "
                      f"{plain(outcome.schedule.status)})")


@schedule_group.command("propose")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--start", required=True, help="Start, e.g. 2026-12-10T09:00 (service's local time) or with +08:00.")
@click.option("--end", required=True, help="End, same form as --start.")
@click.option("--note", help="What the team will bring or needs on site (one line).")
@JSON_OPTION
@click.pass_obj
def propose_cmd(obj, ticket_id, actor, start, end, note, as_json) -> None:  # type: ignore[no-untyped-def]
    """Propose the installation's date and time (the installation team's role)."""
    _emit(obj, obj.desk(actor).propose_schedule(ticket_id, start, end, note), as_json, "jadwal diusulkan")


@schedule_group.command("confirm")
@click.argument("ticket_id")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def confirm_cmd(obj, ticket_id, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Confirm the proposed schedule (the requester only)."""
    _emit(obj, obj.desk(actor).confirm_schedule(ticket_id), as_json, "jadwal dikonfirmasi")


@schedule_group.command("reject")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--reason", required=True, help="Why the date does not suit (recorded on the ticket).")
@JSON_OPTION
@click.pass_obj
def reject_cmd(obj, ticket_id, actor, reason, as_json) -> None:  # type: ignore[no-untyped-def]
    """Ask for another date (the requester only); the team proposes again."""
    _emit(obj, obj.desk(actor).reject_schedule(ticket_id, reason), as_json, "meminta jadwal lain")


def summary(app: Any, service: Any, ticket: Any, timeline: Any) -> dict[str, Any] | None:
    """The schedule in force for `spbe ticket show` (None for a service without one or before a proposal),
    from the policy's trusted timeline: a forged proposal or answer is not shown as the schedule."""
    from toolkit.domain.install_schedule import local, schedule_of, zone_of

    current = schedule_of(app.policy.trusted(service, ticket, timeline).events).current
    if current is None:
        return None
    zone = zone_of(service)
    return {"status": current.status, "start": current.start.isoformat(), "end": current.end.isoformat(),
            "mulai": local(current.start, zone), "selesai": local(current.end, zone), "zone": zone.key,
            "proposed_by": current.by, "note": current.note, "answered_by": current.answered_by,
            "reason": current.reason}


_STATUS = {"proposed": "menunggu konfirmasi pemohon", "confirmed": "dikonfirmasi pemohon",
           "rejected": "pemohon meminta jadwal lain"}


def print_summary(console: Any, jadwal: dict[str, Any] | None) -> None:
    if jadwal is not None:
        console.print(f"Jadwal pelaksanaan: {plain(jadwal['mulai'])} - {plain(jadwal['selesai'])} "
                      f"({_STATUS[jadwal['status']]})")
