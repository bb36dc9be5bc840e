"""`spbe login` and `spbe logout`: use spbe from another machine through its HTTP API.

The token is a personal access token its person made (``spbe token create`` on the control node, or
the portal); it is read from standard input or a hidden prompt, never from the command line (where
``ps`` and the shell history would keep it), checked against the server (``GET /api/v1/me``) and stored
0600. With credentials stored, the ticket, job and secret commands run on the server
(`toolkit.cli.desk_client`); ``spbe logout`` revokes the token there and deletes the file.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from pydantic import SecretStr

from toolkit.cli import remote
from toolkit.cli.render import plain
from toolkit.errors import AuthenticationError, InvalidInputError, UnavailableError


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
    """Revoke the stored token on its server, then delete the local file.

    A token the server already refuses (expired, revoked) is only forgotten. When the server cannot be
    reached the file is still deleted (this machine is logged out) but the command fails (exit 6) and
    says so: the token stays valid until it expires or is revoked there ('spbe token revoke ID')."""
    creds = remote.load_for_logout()
    if creds is None:
        obj.err.print("not logged in")
        return
    client = remote.RemoteClient(creds)
    try:
        client.request("DELETE", "/me/token")
        revoked = True
    except AuthenticationError:
        revoked = False  # already no good on the server
    except UnavailableError:
        remote.forget()
        raise
    finally:
        client.close()
    remote.forget()
    obj.err.print(f"logged out of {plain(creds.server)}" + ("; the token is revoked" if revoked else
                                                            "; the server no longer accepted the token"))
