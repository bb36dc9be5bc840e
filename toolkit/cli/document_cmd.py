"""`spbe document sign|verify`: electronic signatures on a ticket's documents (`toolkit.commands.signing`)."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.render import emit_json, plain
from toolkit.cli.signing_input import PASSPHRASE_STDIN, read_passphrase
from toolkit.errors import IntegrityError, InvalidInputError

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
MAX_PDF = 50 * 1024 * 1024


@click.group("document")
def document_group() -> None:
    """Documents of a ticket: sign (as yourself, in the SOP's order) and verify."""


@document_group.command("sign")
@click.argument("ticket_id")
@click.argument("document")
@click.option("--as", "actor", help="Lab and demo only: who signs (else your OS account's person).")
@PASSPHRASE_STDIN
@JSON_OPTION
@click.pass_obj
def sign_cmd(obj, ticket_id, document, actor, passphrase_stdin, as_json) -> None:  # type: ignore[no-untyped-def]
    """Sign DOCUMENT (its template id, e.g. berita_acara_pemanfaatan) of TICKET_ID; the signed PDF is attached."""
    from toolkit.commands.signing import sign_document

    principal = obj.principal(actor)
    outcome = sign_document(obj.app, ticket_id, document, principal, read_passphrase(passphrase_stdin))
    if as_json:
        emit_json(obj.console, {"ticket": outcome.ticket_id, "document": outcome.document,
                                "attachment": outcome.attachment, "order": outcome.order, "of": outcome.total,
                                "signed_at": outcome.signed_at.isoformat(), "step_done": outcome.step_done})
        return
    obj.console.print(f"[green]signed[/] {plain(outcome.document)} on {plain(outcome.ticket_id)} "
                      f"({outcome.order} of {outcome.total}): {plain(outcome.attachment)}"
                      + (" — all parties have signed" if outcome.order == outcome.total else ""))


@document_group.command("verify")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--as", "actor", help="Lab and demo only: who verifies (audited); else your OS account.")
@JSON_OPTION
@click.pass_obj
def verify_cmd(obj, file, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Validate every signature of FILE and its integrity; exit 9 on any change or invalid signature."""
    from toolkit.commands.signing import verify_document

    try:
        if file.stat().st_size > MAX_PDF:
            raise InvalidInputError(f"{file} is larger than {MAX_PDF // (1024 * 1024)} MiB")
        content = file.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {file}: {exc.strerror}") from None
    try:
        result = verify_document(obj.app, content, obj.reader(actor), file.name)
    except IntegrityError as exc:
        if as_json:
            emit_json(obj.console, {"ok": False, **exc.details.get("verification", {})})
        raise
    if as_json:
        emit_json(obj.console, {"ok": True, **result.model_dump(mode="json")})
        return
    from rich.table import Table

    table = Table(title=f"Signatures of {plain(file.name)}")
    for column in ("#", "signer", "signed (UTC)", "intact", "valid", "trusted", "timestamped"):
        table.add_column(column)
    for index, sig in enumerate(result.signatures, 1):
        table.add_row(str(index), plain(sig.signer), sig.signed_at.strftime("%Y-%m-%d %H:%M:%S") if sig.signed_at
                      else "-", *("yes" if flag else "no" for flag in (sig.intact, sig.valid, sig.trusted,
                                                                        sig.timestamped)))
    obj.console.print(table)
    obj.console.print(f"[green]ok[/] {len(result.signatures)} signature(s); the document is unchanged since the last")
