"""`spbe user add|list|show|disable|enable|unlock|passwd`: local accounts for the portal and the HTTP API.

Thin: read the password, call `toolkit.accounts`, render. A password is read from standard input
(``--password-stdin``: the first line, its line break removed) or from a hidden, confirmed prompt when
standard input is a terminal; never from an option, which would put it in the shell's history and in
``ps``. It is never printed, logged or put into an error.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from pydantic import SecretStr
from rich.table import Table

from toolkit.accounts.models import AccountView
from toolkit.accounts.passwords import MAX_LENGTH
from toolkit.accounts.service import Accounts, open_accounts
from toolkit.cli.render import emit_json, plain, when
from toolkit.errors import InvalidInputError, NotFoundError

AS_OPTION = click.option("--as", "actor", help="Lab and demo only: act as this username (else the person mapped "
                                                "to your OS account).")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
STDIN_OPTION = click.option("--password-stdin", "from_stdin", is_flag=True,
                            help="Read the password from the first line of standard input (for scripts).")
STATUS_STYLE = {"active": "green", "disabled": "red", "locked": "yellow"}


@contextmanager
def accounts_of(obj: Any) -> Iterator[Accounts]:
    accounts = open_accounts(obj.app)
    try:
        yield accounts
    finally:
        accounts.close()


def read_password(from_stdin: bool) -> SecretStr:
    if from_stdin:
        line = sys.stdin.readline(MAX_LENGTH + 3).removesuffix("\n").removesuffix("\r")
        if not line:
            raise InvalidInputError("no password on standard input", errors=[("password", "required")])
        return SecretStr(line)
    if not sys.stdin.isatty():
        raise InvalidInputError("standard input is not a terminal: give the password on it with --password-stdin",
                                errors=[("password", "required")])
    return SecretStr(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


def _person_name(obj: Any, username: str) -> str:
    try:
        return str(obj.app.directory.person(username).name)
    except NotFoundError:
        return "(not in the directory)"


def _row(obj: Any, view: AccountView) -> dict[str, Any]:
    return {**view.model_dump(mode="json"), "name": _person_name(obj, view.username)}


@click.group("user")
def user_group() -> None:
    """Local accounts (password logins of the portal); people and roles stay in the directory."""


@user_group.command("add")
@click.argument("username")
@STDIN_OPTION
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def user_add(obj, username, from_stdin, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Give USERNAME (a person of the directory) a local account with a password."""
    password = read_password(from_stdin)
    with accounts_of(obj) as accounts:
        view = accounts.admin.add(obj.principal(actor), username, password)
    if as_json:
        emit_json(obj.console, _row(obj, view))
        return
    obj.console.print(f"Account {plain(view.username)} added ({plain(_person_name(obj, view.username))}).")


@user_group.command("list")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def user_list(obj, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Every local account: status, failed logins, last login."""
    with accounts_of(obj) as accounts:
        views = accounts.admin.list(obj.principal(actor))
    if as_json:
        emit_json(obj.console, [_row(obj, v) for v in views])
        return
    table = Table(title="Local accounts")
    for column in ("User", "Name", "Status", "Failed", "Locked until", "Last login", "Created"):
        table.add_column(column, no_wrap=column in ("User", "Status"), overflow="fold")
    for v in views:
        style = STATUS_STYLE[v.status]
        table.add_row(plain(v.username), plain(_person_name(obj, v.username)), f"[{style}]{v.status}[/]",
                      str(v.failed_logins), when(v.locked_until), when(v.last_login_at), when(v.created_at))
    obj.console.print(table)


def _change(obj: Any, as_json: bool, username: str, verb: str, changed: bool) -> None:
    if as_json:
        emit_json(obj.console, {"username": username, "event": verb, "changed": changed})
        return
    obj.console.print(f"Account {plain(username)} {verb}." if changed
                      else f"Account {plain(username)} was already {verb}; nothing changed.")


@user_group.command("disable")
@click.argument("username")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def user_disable(obj, username, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Refuse USERNAME's logins; end their sessions and revoke their access tokens."""
    with accounts_of(obj) as accounts:
        changed = accounts.admin.disable(obj.principal(actor), username)
    _change(obj, as_json, username, "disabled", changed)


@user_group.command("enable")
@click.argument("username")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def user_enable(obj, username, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Allow USERNAME's password logins again (revoked tokens stay revoked)."""
    with accounts_of(obj) as accounts:
        changed = accounts.admin.enable(obj.principal(actor), username)
    _change(obj, as_json, username, "enabled", changed)


@user_group.command("unlock")
@click.argument("username")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def user_unlock(obj, username, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Lift a login lockout of USERNAME and clear the failed-login count."""
    with accounts_of(obj) as accounts:
        changed = accounts.admin.unlock(obj.principal(actor), username)
    _change(obj, as_json, username, "unlocked", changed)


@user_group.command("passwd")
@click.argument("username")
@STDIN_OPTION
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def user_passwd(obj, username, from_stdin, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Set a new password for USERNAME (yours, or anyone's for an administrator); ends their sessions."""
    password = read_password(from_stdin)
    with accounts_of(obj) as accounts:
        ended = accounts.admin.change_password(obj.principal(actor), username, password)
    if as_json:
        emit_json(obj.console, {"username": username, "event": "password changed", "sessions_revoked": ended})
        return
    obj.console.print(f"Password of {plain(username)} changed; {ended} session(s) ended.")
