"""The signing passphrase from the terminal: a hidden prompt, or one line of stdin (``--passphrase-stdin``).

It becomes a `SecretStr` at once and is handed to the command; it is never echoed, logged or kept.
"""

from __future__ import annotations

import click
from pydantic import SecretStr

PASSPHRASE_STDIN = click.option("--passphrase-stdin", is_flag=True,
                                help="Read the passphrase from the first line of stdin instead of a prompt.")


def read_passphrase(from_stdin: bool, *, confirm: bool = False) -> SecretStr:
    if from_stdin:
        line = click.get_text_stream("stdin").readline()
        return SecretStr(line.rstrip("\r\n"))
    return SecretStr(click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True))
