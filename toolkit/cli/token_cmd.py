"""`spbe token create|list|revoke`: personal access tokens for the HTTP API.

The token is written to standard output alone on its line (or in ``--json``), the explanation to
standard error, so ``spbe token create --expires 30d --scope read > token.txt`` captures just the token.
It is shown this once: only its SHA-256 is kept.
"""

from __future__ import annotations

import click
from rich.table import Table

from toolkit.cli.render import emit_json, plain, visible, when
from toolkit.cli.user_cmd import AS_OPTION, JSON_OPTION, accounts_of

STATUS_STYLE = {"active": "green", "revoked": "red", "expired": "yellow"}


@click.group("token")
def token_group() -> None:
    """Personal access tokens (API clients): scoped read or act, expiring, revocable."""


@token_group.command("create")
@click.option("--user", "user", help="Whose token (default: yours; a person creates only their own).")
@click.option("--expires", required=True, help="How long it is valid: e.g. 30d or 12h (bounded by "
                                               "settings.accounts.token_max_days).")
@click.option("--scope", type=click.Choice(["read", "act"]), required=True,
              help="read: look only; act: also change (check, approve, advance...).")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def token_create(obj, user, expires, scope, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Create a token and print it once."""
    principal = obj.principal(actor)
    with accounts_of(obj) as accounts:
        made = accounts.tokens.create(principal, user or principal.user, expires, scope)
    view = made.token
    if as_json:
        emit_json(obj.console, {**view.model_dump(mode="json"), "token": made.secret.get_secret_value()})
        return
    click.echo(visible(f"Token {view.id} for {view.user} (scope {view.scope.value}), valid until "
                       f"{when(view.expires_at)}. It is shown this once: store it now."), err=True)
    click.echo(made.secret.get_secret_value())


@token_group.command("list")
@click.option("--user", "user", help="Whose tokens (default: yours; an administrator may name anyone).")
@click.option("--all", "everyone", is_flag=True, help="Everyone's tokens (administrators).")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def token_list(obj, user, everyone, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Tokens with their id, scope, status and dates; never the token itself."""
    with accounts_of(obj) as accounts:
        views = accounts.tokens.list(obj.principal(actor), user, everyone=everyone)
    now = obj.app.clock.now()
    if as_json:
        emit_json(obj.console, [{**v.model_dump(mode="json"), "status": v.status_at(now)} for v in views])
        return
    table = Table(title="Access tokens")
    for column in ("ID", "User", "Scope", "Status", "Expires", "Last used"):  # created: in --json
        table.add_column(column, no_wrap=column in ("ID", "Status"), overflow="fold")
    for v in views:
        status = v.status_at(now)
        table.add_row(v.id, plain(v.user), v.scope.value, f"[{STATUS_STYLE[status]}]{status}[/]", when(v.expires_at),
                      when(v.last_used_at))
    obj.console.print(table)


@token_group.command("revoke")
@click.argument("token_id")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def token_revoke(obj, token_id, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Revoke token TOKEN_ID (yours, or anyone's for an administrator): refused from now on."""
    with accounts_of(obj) as accounts:
        changed = accounts.tokens.revoke(obj.principal(actor), token_id)
    if as_json:
        emit_json(obj.console, {"token_id": token_id, "event": "revoked", "changed": changed})
        return
    obj.console.print(f"Token {plain(token_id)} revoked." if changed
                      else f"Token {plain(token_id)} was already revoked; nothing changed.")
