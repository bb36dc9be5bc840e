"""`spbe login` and `spbe logout`: use spbe from another machine through its HTTP API.

The token is a personal access token its person made (``spbe token create`` on the control node, or
the portal); it is read from standard input or a hidden prompt, never from the command line (where
``ps`` and the shell history would keep it), checked against the server (``GET /api/v1/me``) and stored
0600. With credentials stored, ``spbe ticket list`` and ``spbe ticket show`` ask the server.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from pydantic import SecretStr

from toolkit.cli import remote
from toolkit.cli.render import plain
from toolkit.errors import InvalidInputError


@click.command("login")
@click.option("--server", required=True, help="The spbe front door, e.g. https://layanan.example.go.id")
@click.pass_obj
def login_command(obj: Any, server: str) -> None:
    """Store a personal access token for SERVER (from stdin or a hidden prompt) after checking it."""
    url = remote.check_server(server)
    if sys.stdin.isatty():
        token = click.prompt("Personal access token", hide_input=True, err=True)
    else:
        token = sys.stdin.readline().strip()
    if not token:
        raise InvalidInputError("no token given on standard input", errors=[("token", "required")])
    creds = remote.Credentials(server=url, token=SecretStr(token))
    client = remote.RemoteClient(creds)
    try:
        me = client.get("/me")
    finally:
        client.close()
    path = remote.save(creds)
    obj.err.print(f"logged in to {plain(url)} as {plain(me['user'])} ({plain(', '.join(me['roles']))}); "
                  f"token stored in {plain(str(path))}")


@click.command("logout")
@click.pass_obj
def logout_command(obj: Any) -> None:
    """Forget the stored token (revoke it on the server with 'spbe token revoke ID' there)."""
    obj.err.print("logged out" if remote.forget() else "not logged in")
