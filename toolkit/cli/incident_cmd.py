"""`spbe escalate` (the escalation check, for cron), `spbe ticket decide` (an SOP branch decision) and
`spbe incident reject` (a report the verification found is not an incident)."""

from __future__ import annotations

import signal
import threading

import click

from toolkit.cli.render import emit_json, plain
from toolkit.errors import InvalidInputError


@click.command("escalate")
@click.option("--once", is_flag=True, help="Check once and exit (for cron); otherwise loop.")
@click.option("--interval", type=click.FloatRange(1, 86400), help="Seconds between checks "
              "(default: settings.escalation_interval_s).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def escalate_command(obj, once, interval, as_json) -> None:  # type: ignore[no-untyped-def]
    """Escalate steps past their standard time and tickets past their SLA, each exactly once."""
    from toolkit.engine.escalation import check_once

    app = obj.app
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    while True:
        outcomes = check_once(app)
        if as_json:
            emit_json(obj.console, [o.model_dump(mode="json") for o in outcomes])
        else:
            for o in outcomes:
                delivered = ", ".join(o.delivery.delivered) if o.delivery else "-"
                obj.console.print(f"{plain(o.escalation.ticket_id)} {plain(o.escalation.key)}: "
                                  f"escalated to {plain(', '.join(o.escalation.roles))} ({plain(delivered)})")
            if once and not outcomes:
                obj.console.print("nothing to escalate")
        if once or stop.wait(interval or app.settings.escalation_interval_s):
            return


@click.command("decide")
@click.argument("ticket_id")
@click.option("--as", "actor", help="Lab and demo only: who decides (else your OS account's person); must hold "
                                    "the role of the step that decides the field.")
@click.option("--set", "pairs", multiple=True, required=True, metavar="FIELD=VALUE",
              help="The decision, e.g. jenis_insiden=umum or bantuan_eksternal=ya (repeatable).")
@click.option("--reason", required=True, help="Why (recorded on the ticket and in the audit log).")
@click.pass_obj
def decide_command(obj, ticket_id, actor, pairs, reason) -> None:  # type: ignore[no-untyped-def]
    """Record an SOP branch decision (incident kind, outside help, backup available)."""
    raw: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or name in raw:
            raise InvalidInputError(f"--set expects FIELD=VALUE once per field, got {pair!r}",
                                    errors=[("set", "format")])
        raw[name] = value
    obj.desk(actor).decide(ticket_id, raw, reason)
    obj.console.print(f"{plain(ticket_id)}: keputusan dicatat ({plain(', '.join(raw))})")


@click.group("incident")
def incident_group() -> None:
    """Incident reports: closing a report the verification found is not an incident."""


@incident_group.command("reject")
@click.argument("ticket_id")
@click.option("--as", "actor", help="Lab and demo only: who verifies (else your OS account's person); must hold "
                                    "the role of the service's verification step.")
@click.option("--reason", required=True, help="Why the report is not an incident (recorded on the ticket, told "
                                              "to the reporter, and in the audit log).")
@click.pass_obj
def reject_command(obj, ticket_id, actor, reason) -> None:  # type: ignore[no-untyped-def]
    """Close a report as not verified (tidak terverifikasi) at its verification step, and tell the reporter.
    After ``spbe login`` it goes through the server's ``POST /api/v1/tickets/{id}/reject``."""
    obj.desk(actor).reject_report(ticket_id, reason)
    obj.console.print(f"{plain(ticket_id)}: laporan tidak terverifikasi; tiket ditutup dan pelapor diberi tahu")
