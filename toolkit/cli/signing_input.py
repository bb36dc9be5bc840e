"""The signing passphrase from the terminal: a hidden prompt, or one line of stdin (``--passphrase-stdin``).

It becomes a `SecretStr` at once and is handed to the command; it is never echoed, logged or kept.
"""

from __future__ import annotations

import sys

import click
from pydantic import SecretStr

from toolkit.signing.ca import MAX_PASSPHRASE

PASSPHRASE_STDIN = click.option("--passphrase-stdin", is_flag=True,
                                help="Read the passphrase from the first line of stdin instead of a prompt.")


def read_passphrase(from_stdin: bool, *, confirm: bool = False) -> SecretStr:
    if from_stdin:
        line = sys.stdin.readline(MAX_PASSPHRASE + 3)  # bounded: a pasted file is not read whole
        return SecretStr(line.removesuffix("\n").removesuffix("\r"))
    return SecretStr(click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True))
