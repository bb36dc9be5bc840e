"""`spbe audit ...`: read and verify the tamper-evident audit log."""

from __future__ import annotations

import click
from rich.table import Table

from toolkit.cli.render import emit_json, plain, when


@click.group("audit")
def audit_group() -> None:
    """The append-only audit log."""


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def audit_verify(obj, as_json) -> None:  # type: ignore[no-untyped-def]
    """Check the hash chain; exit 9 if any entry was edited or deleted."""
    result = obj.app.audit.verify()
    if as_json:
        emit_json(obj.console, result)
    elif result.ok:
        obj.console.print(f"[green]audit log intact[/]: {result.entries} entries")
    else:
        for problem in result.problems:
            seq, what = (problem.get("seq"), problem.get("problem")) if isinstance(problem, dict) else (problem, "")
            obj.err.print(f"[red]entry {plain(seq)}[/]: {plain(what)}")
    if not result.ok:
        raise SystemExit(9)


@audit_group.command("list")
@click.option("--ticket", "ticket_id")
@click.option("--limit", type=click.IntRange(1, 100000), default=100)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def audit_list(obj, ticket_id, limit, as_json) -> None:  # type: ignore[no-untyped-def]
    """Audit entries, oldest first."""
    entries = obj.app.audit.entries(ticket_id=ticket_id, limit=limit)
    if as_json:
        emit_json(obj.console, entries)
        return
    table = Table(title="Audit")
    for col in ("#", "When", "Actor", "Action", "Ticket", "Hash"):
        table.add_column(col)
    for e in entries:
        table.add_row(str(e.seq), when(e.at), plain(e.actor), plain(e.action), plain(e.ticket_id), plain(e.hash[:12]))
    obj.console.print(table)
