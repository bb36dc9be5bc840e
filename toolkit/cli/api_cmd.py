"""`spbe api list|revoke|rotate|expire`: the API credentials spbe issued through the SPLP service.

Thin: parse, call `toolkit.splp.lifecycle`, render. Only masked keys are ever printed; a rotated
secret goes to the vault, and the applicant collects it with ``spbe secret reveal``.
"""

from __future__ import annotations

import signal
import threading

import click

from toolkit.cli.render import Column, emit_json, list_table, plain, when, when_short
from toolkit.errors import InvalidInputError
from toolkit.splp import lifecycle

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
STATUS_STYLE = {"active": "green", "revoked": "red", "expired": "yellow"}


@click.group("api")
def api_group() -> None:
    """API consumers and credentials issued for SPLP tickets: list, revoke, rotate, expire."""


@api_group.command("list")
@click.option("--status", type=click.Choice(["active", "revoked", "expired"]), help="Only this status.")
@click.option("--live", is_flag=True, help="Also ask the gateway whether each key is still active there.")
@JSON_OPTION
@click.pass_obj
def api_list(obj, status, live, as_json) -> None:  # type: ignore[no-untyped-def]
    """Every credential issued by spbe: ticket, API, consumer, quota, masked key, dates, status."""
    rows = lifecycle.listing(obj.app, status, live=live)
    if as_json:
        emit_json(obj.console, rows)
        return
    columns = (Column("Ticket"), Column("API", drop=1), Column("Consumer"), Column("Kind", drop=4),
               Column("Quota/min", drop=3, justify="right"), Column("Key"), Column("Issued", drop=5),
               Column("Expires", drop=2), Column("Status"))
    obj.console.print(list_table(obj.console, "Kredensial API (SPLP)", columns, (
        [plain(r["ticket_id"]), plain(r["api"]), plain(r["consumer"]),
         plain(r["kind"] + (f" + {r['oauth2_client']}" if r["oauth2_client"] else "")), str(r["per_minute"]),
         plain(f"{r['masked_key']} ({r['key_id'][:8]})"), when_short(r["issued_at"]), when_short(r["expires_at"]),
         f"[{STATUS_STYLE[r['status']]}]{r['status']}[/]"] for r in rows)))


def _render(obj, outcomes, as_json) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        emit_json(obj.console, [o.model_dump(mode="json") for o in outcomes])
        return
    for o in outcomes:
        if o.error:
            obj.console.print(f"[red]{plain(o.ticket_id)}[/]: {o.event} failed: {plain(o.error)}")
        elif not o.changed:
            obj.console.print(f"{plain(o.ticket_id)}: {plain(o.consumer)} was already {o.event}; nothing changed")
        elif o.event == "rotated":
            obj.console.print(f"{plain(o.ticket_id)}: {plain(o.consumer)} rotated; new key {o.new_masked} "
                              f"(ID {o.new_key_id}), valid until {when(o.expires_at)}; the applicant collects it "
                              f"with 'spbe secret reveal {plain(o.ticket_id)} --name api-key'")
        else:
            keys = ", ".join(o.revoked_key_ids) or "no active key left"
            obj.console.print(f"{plain(o.ticket_id)}: {plain(o.consumer)} {o.event} ({plain(keys)})")


@api_group.command("revoke")
@click.argument("consumer", required=False)
@click.option("--ticket", "ticket_id", help="The SPLP ticket whose credential to revoke (instead of CONSUMER).")
@click.option("--as", "actor", help="Lab and demo only: who revokes (else your OS account's person); the API's "
                                    "provider, koordinator-layanan or csirt.")
@click.option("--reason", required=True, help="Why (recorded in the audit log and on the ticket).")
@JSON_OPTION
@click.pass_obj
def api_revoke(obj, consumer, ticket_id, actor, reason, as_json) -> None:  # type: ignore[no-untyped-def]
    """Revoke a consumer's credentials (or one ticket's): refused at the gateway from now on."""
    if bool(consumer) == bool(ticket_id):
        raise InvalidInputError("name either a CONSUMER or --ticket", errors=[("consumer", "one of")])
    if ticket_id:
        outcomes = [lifecycle.revoke_credential(obj.app, ticket_id, principal=obj.principal(actor), reason=reason)]
    else:
        outcomes = lifecycle.revoke_consumer(obj.app, consumer, principal=obj.principal(actor), reason=reason)
    _render(obj, outcomes, as_json)


@api_group.command("rotate")
@click.option("--ticket", "ticket_id", required=True, help="The SPLP ticket whose credential to rotate.")
@click.option("--as", "actor", help="Lab and demo only: who rotates (else your OS account's person); the API's "
                                    "provider, koordinator-layanan or csirt.")
@click.option("--reason", required=True, help="Why (recorded in the audit log and on the ticket).")
@JSON_OPTION
@click.pass_obj
def api_rotate(obj, ticket_id, actor, reason, as_json) -> None:  # type: ignore[no-untyped-def]
    """Issue a new secret for the ticket's consumer; the old one stops working at the gateway."""
    _render(obj, [lifecycle.rotate_credential(obj.app, ticket_id, principal=obj.principal(actor), reason=reason)],
            as_json)


@api_group.command("expire")
@click.option("--once", is_flag=True, help="One sweep, then exit (else sweep every --interval seconds).")
@click.option("--interval", type=click.FloatRange(1, 86400), default=300.0, show_default=True)
@JSON_OPTION
@click.pass_obj
def api_expire(obj, once, interval, as_json) -> None:  # type: ignore[no-untyped-def]
    """Revoke credentials past their expiry date (each once), with a comment on its ticket."""
    if once:
        _render(obj, lifecycle.expire_due(obj.app), as_json)
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        _render(obj, lifecycle.expire_due(obj.app), as_json)
        stop.wait(interval)
