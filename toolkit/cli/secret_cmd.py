"""`spbe secret ...`: collect an issued credential (once), see what a ticket holds, make a vault key.

The secret is written to standard output alone on its line (or in ``--json``), the explanation to
standard error, so ``spbe secret reveal T --as andi > key.txt`` captures just the credential.
"""

from __future__ import annotations

import click

from toolkit.cli.render import Column, emit_json, list_table, plain, visible, when_short
from toolkit.vault import generate_key


@click.group("secret")
def secret_group() -> None:
    """Credentials issued for tickets: encrypted at rest, revealed once to the applicant."""


@secret_group.command("reveal")
@click.argument("ticket_id")
@click.option("--name", help="Which secret of the ticket (needed when it holds more than one).")
@click.option("--as", "actor", help="Lab and demo only: who collects it (else your OS account's person); must be "
                                    "the ticket's applicant.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def secret_reveal(obj, ticket_id, name, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Show a ticket's secret once; a second reveal is refused and audited."""
    shown = obj.desk(actor).reveal(ticket_id, name)
    if as_json:
        emit_json(obj.console, {"ticket_id": ticket_id, "name": shown.name, "secret": shown.secret.get_secret_value(),
                                "attributes": shown.attributes, "revealed_at": shown.revealed_at,
                                "expires_at": shown.expires_at})
        return
    click.echo(visible(f"Secret {shown.name} of {ticket_id} ({shown.label or '-'}). It is shown this once: store it "
                       "now."), err=True)
    click.echo(shown.secret.get_secret_value())


@secret_group.command("list")
@click.argument("ticket_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def secret_list(obj, ticket_id, as_json) -> None:  # type: ignore[no-untyped-def]
    """What a ticket holds, masked: name, last 4 characters, recipient, status, dates."""
    records = obj.app.vault.records(ticket_id)
    if as_json:
        emit_json(obj.console, [{**r.model_dump(mode="json"), "status": r.status} for r in records])
        return
    columns = (Column("Name"), Column("Masked"), Column("Recipient", drop=2), Column("Status"),
               Column("Created", drop=4), Column("Expires", drop=1), Column("Revealed", drop=3))
    obj.console.print(list_table(obj.console, f"Secrets of {plain(ticket_id)}", columns, (
        [plain(r.name), plain(r.masked), plain(r.recipient), r.status, when_short(r.created_at),
         when_short(r.expires_at), when_short(r.revealed_at)] for r in records)))


@secret_group.command("keygen")
def secret_keygen() -> None:
    """Print a new vault key (32 random bytes, urlsafe base64) for SPBE_VAULT_KEY."""
    click.echo(generate_key())
