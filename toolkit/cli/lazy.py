"""Command groups whose subcommands are imported when they are used, not when `spbe` starts.

Why: every command module pulls in what it drives (netmiko and paramiko for the network and
containment commands, matplotlib for the compliance report, the HTTP stack for the front door), and
importing all of them cost every invocation of `spbe`, even `spbe ticket show`, well over a second.
A group lists its subcommands by name and a "module:attribute" reference; the module is imported
when the command is resolved (to run it or to show its help). This is click's documented lazy-group
pattern.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click


def load_command(reference: str) -> click.Command:
    module_name, _, attribute = reference.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{reference} is not a click command")
    return command


class LazyGroup(click.Group):
    """A group with eagerly added commands plus ``lazy_subcommands`` (name -> "module:attribute")."""

    def __init__(self, *args: Any, lazy_subcommands: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        reference = self.lazy_subcommands.get(cmd_name)
        if reference is not None and cmd_name not in self.commands:
            self.add_command(load_command(reference), cmd_name)
        return super().get_command(ctx, cmd_name)
