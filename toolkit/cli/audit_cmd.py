"""`spbe audit ...`: read, verify and checkpoint the keyed audit log, and make its key.

The key is never printed: ``keygen`` writes it to a new 0600 file and prints only where, and its id.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from pydantic import SecretStr

from toolkit.cli.render import Column, emit_json, list_table, plain, when_short
from toolkit.errors import ConfigurationError


@click.group("audit")
def audit_group() -> None:
    """The append-only audit log."""


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def audit_verify(obj, as_json) -> None:  # type: ignore[no-untyped-def]
    """Check the keyed chain, its checkpoints and the tickets' decisions; exit 9 on any problem."""
    from toolkit.audit.reconcile import verify_with_tickets

    result = verify_with_tickets(obj.app.audit, obj.app.tickets)
    if as_json:
        emit_json(obj.console, result)
    elif result.ok:
        obj.console.print(f"[green]audit log intact[/]: {result.entries} entries, {result.checkpoints} "
                          f"checkpoints, {result.decisions} ticket decisions matched")
    else:
        columns = (Column("Where"), Column("Entry", justify="right"), Column("Ticket"), Column("Problem", "text"))
        obj.console.print(list_table(
            obj.console, f"Audit log: {len(result.problems)} problem(s) in {result.entries} entries", columns,
            ([plain(p.where), "-" if p.seq is None else str(p.seq), plain(p.ticket_id or "-"), plain(p.problem)]
             for p in result.problems)))
    if not result.ok:
        raise SystemExit(9)


@audit_group.command("checkpoint")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def audit_checkpoint(obj, as_json) -> None:  # type: ignore[no-untyped-def]
    """Write a signed checkpoint of the head and post it to the tickets with new entries."""
    from toolkit.engine.audit_checkpoints import publish_checkpoint

    published = publish_checkpoint(obj.app)
    if as_json:
        emit_json(obj.console, published)
        return
    where = ", ".join(published.tickets) or "no ticket (nothing new since the last publication)"
    obj.console.print(f"checkpoint #{published.seq} {published.hash[:16]}… written to "
                      f"{obj.app.settings.audit.checkpoint_file}; posted to {where}")


@audit_group.command("keygen")
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="New file for the key (created 0600; never inside state_dir). The key is not printed.")
@click.pass_obj
def audit_keygen(obj, output: Path) -> None:  # type: ignore[no-untyped-def]
    """Make a new audit key (32 random bytes, urlsafe base64) in a new file for settings.audit.key."""
    from toolkit.audit.keys import AuditKey, generate_key

    target = output.expanduser().resolve()
    if target.is_relative_to(Path(obj.settings.state_dir).resolve()):
        raise ConfigurationError(f"{target} is inside state_dir; keep the audit key where the state's writers "
                                 "cannot read it")
    key = generate_key()
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigurationError(f"{target} exists; an audit key is never overwritten (the log it signs would "
                                 "no longer verify)") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot create {target}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    key_id = AuditKey.parse(SecretStr(key)).key_id
    obj.console.print(f"audit key {key_id} written to {target}; use it with "
                      f"SPBE_AUDIT__KEY__REF=file:{target} (or \\[audit.key] ref = \"file:{target}\")")


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
    columns = (Column("#", justify="right"), Column("When", drop=2), Column("Actor"), Column("Action"),
               Column("Ticket"), Column("Hash", drop=1))
    obj.console.print(list_table(obj.console, "Audit", columns, (
        [str(e.seq), when_short(e.at), plain(e.actor), plain(e.action), plain(e.ticket_id), plain(e.hash[:12])]
        for e in entries)))
