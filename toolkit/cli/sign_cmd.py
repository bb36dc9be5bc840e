"""`spbe sign init|enroll|activate|status`: signing certificates (`toolkit.commands.signing`)."""

from __future__ import annotations

import click

from toolkit.cli.render import emit_json, plain
from toolkit.cli.signing_input import PASSPHRASE_STDIN, read_passphrase

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
AS_OPTION = click.option("--as", "actor", help="Lab and demo only: who acts (else your OS account's person).")


@click.group("sign")
def sign_group() -> None:
    """Signing certificates: the local CA, enrolment, activation, status."""


def _show(obj, status, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        emit_json(obj.console, status.model_dump(mode="json"))
        return
    until = f", valid until {status.not_after:%Y-%m-%d}" if status.not_after else ""
    obj.console.print(f"{plain(status.username)}: [bold]{status.state}[/]{until}"
                      + (f"\n  {plain(status.subject)}" if status.subject else ""))


@sign_group.command("init")
@click.option("--organisation", required=True, help="The agency named in the CA certificate.")
@AS_OPTION
@click.pass_obj
def init_cmd(obj, organisation, actor) -> None:  # type: ignore[no-untyped-def]
    """Create the local CA of the pades adapter (once; koordinator or kepala dinas)."""
    from toolkit.commands.signing import init_ca

    obj.console.print(f"[green]created[/] signing CA {plain(init_ca(obj.app, obj.principal(actor), organisation))}")


@sign_group.command("enroll")
@click.argument("user")
@AS_OPTION
@PASSPHRASE_STDIN
@JSON_OPTION
@click.pass_obj
def enroll_cmd(obj, user, actor, passphrase_stdin, as_json) -> None:  # type: ignore[no-untyped-def]
    """Issue USER (yourself, staff) a certificate whose key only your passphrase opens."""
    from toolkit.commands.signing import enroll

    principal = obj.principal(actor)
    _show(obj, enroll(obj.app, principal, user, read_passphrase(passphrase_stdin, confirm=True)), as_json)


@sign_group.command("activate")
@AS_OPTION
@PASSPHRASE_STDIN
@JSON_OPTION
@click.pass_obj
def activate_cmd(obj, actor, passphrase_stdin, as_json) -> None:  # type: ignore[no-untyped-def]
    """Activate the certificate a Tanda Tangan Elektronik ticket approved for you, with your own passphrase."""
    from toolkit.commands.signing import activate

    principal = obj.principal(actor)
    _show(obj, activate(obj.app, principal, read_passphrase(passphrase_stdin, confirm=True)), as_json)


@sign_group.command("status")
@click.argument("user")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def status_cmd(obj, user, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Whether USER can sign (certificate active, expired, not enrolled)."""
    from toolkit.commands.signing import signer_status

    _show(obj, signer_status(obj.app, obj.principal(actor), user), as_json)
