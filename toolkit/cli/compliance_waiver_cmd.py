"""`spbe compliance waiver request|approve|reject|revoke|list`: excusing one rule on one target until a date
(issue 14, point 5).

Thin: parse, call `toolkit.commands.waivers`, render (a rich table, or ``--json``). Times in the table are
in the deployment's zone (``settings.compliance.timezone``, shown as WITA/WIB); ``--json`` gives UTC
instants. Exit codes come from the error classes (`toolkit.cli.main`): 2 invalid input (no reason, a past
expiry, an unknown rule), 3 unknown waiver, 4 not allowed (the requester deciding included), 5 already
decided.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.table import Table

from toolkit.cli.render import emit_json, plain
from toolkit.cli.user_cmd import AS_OPTION, JSON_OPTION
from toolkit.commands.waivers import decide_waiver, list_waivers, request_waiver, waiver_request
from toolkit.ports.compliance_records import Waiver

STATUS_STYLE = {"requested": "yellow", "approved": "green", "rejected": "red", "revoked": "red"}


@click.group("waiver")
def waiver_group() -> None:
    """Waivers: a failing rule excused on one target until a date, approved by another person."""


def _local(obj: Any, instant: datetime | None) -> str:
    return instant.astimezone(obj.app.settings.compliance.zone()).strftime("%Y-%m-%d %H:%M %Z") if instant else "-"


def _show(obj: Any, waivers: list[Waiver], as_json: bool, title: str) -> None:
    if as_json:
        emit_json(obj.console, [w.model_dump(mode="json") for w in waivers])
        return
    today = obj.app.clock.now().astimezone(obj.app.settings.compliance.zone()).date()
    table = Table(title=title)
    for column in ("ID", "Profile", "Rule", "Target", "Expires", "Status", "Reason", "Requested", "Decided"):
        table.add_column(column, no_wrap=column in ("ID", "Status", "Expires"), overflow="fold")
    for w in waivers:
        status = f"[{STATUS_STYLE[w.status]}]{w.status}[/]"
        if w.status == "approved" and not w.in_force(today):
            status = "[red]expired[/]"
        decided = f"{plain(w.decided_by)} {_local(obj, w.decided_at)}" if w.decided_by else "-"
        table.add_row(plain(w.id), plain(w.profile), plain(w.rule_id), plain(w.target), plain(w.expires_on),
                      status, plain(w.reason), f"{plain(w.requested_by)} {_local(obj, w.requested_at)}", decided)
    obj.console.print(table)


@waiver_group.command("list")
@click.option("--profile", default=None, help="Only this profile's waivers.")
@click.option("--target", default=None, help="Only this target's waivers.")
@JSON_OPTION
@click.pass_obj
def waiver_list(obj, profile, target, as_json) -> None:  # type: ignore[no-untyped-def]
    """Every waiver, oldest first; an approved one past its expiry shows as expired."""
    _show(obj, list_waivers(obj.app, profile, target), as_json, "Compliance waivers")


@waiver_group.command("request")
@click.option("--profile", required=True, help="The compliance profile (e.g. server-dasar).")
@click.option("--rule", "rule_id", required=True, help="The rule id to excuse (e.g. SD-SSH-02).")
@click.option("--target", required=True, help="The one target (inventory host or switch name).")
@click.option("--reason", default=None, help="Why the finding is accepted (Bahasa Indonesia, 10 characters or more).")
@click.option("--expires", "expires_on", default=None,
              help="Last day the waiver holds, YYYY-MM-DD in the deployment's zone (at most a year ahead).")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def waiver_request_cmd(obj, profile, rule_id, target, reason, expires_on, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Ask that RULE be excused on TARGET until a date (a role that requests waivers only)."""
    req = waiver_request(profile=profile, rule_id=rule_id, target=target, reason=reason or "", expires_on=expires_on)
    waiver = request_waiver(obj.app, obj.principal(actor), req)
    _show(obj, [waiver], as_json, "Compliance waiver requested")


def _decide(obj: Any, waiver_id: str, decision: Any, note: str | None, actor: str | None, as_json: bool) -> None:
    waiver = decide_waiver(obj.app, obj.principal(actor), waiver_id, decision, note)
    _show(obj, [waiver], as_json, f"Compliance waiver {waiver.status}")


def _decision(name: str, summary: str) -> None:
    @waiver_group.command(name, help=summary)
    @click.argument("waiver_id")
    @click.option("--note", default=None, help="Why (required to reject or revoke).")
    @AS_OPTION
    @JSON_OPTION
    @click.pass_obj
    def command(obj, waiver_id, note, actor, as_json) -> None:  # type: ignore[no-untyped-def]
        _decide(obj, waiver_id, name, note, actor, as_json)


_decision("approve", "Approve requested waiver WAIVER_ID (a role that approves waivers; never its requester).")
_decision("reject", "Reject requested waiver WAIVER_ID, with a --note saying why.")
_decision("revoke", "Revoke approved waiver WAIVER_ID before its expiry, with a --note saying why.")
