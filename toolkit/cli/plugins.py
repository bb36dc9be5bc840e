"""Commands from other packages, found through the ``spbe.cli_plugins`` entry-point group.

The product CLI must work without them (a wheel installed on a production host has no lab), so a
plugin is looked up by name only when it is asked for or listed, and one that cannot be imported is
left out with a warning instead of breaking every other command. Nothing here names a plugin: the
lab registers ``spbe lab`` from its own package (``lab = "lab.cli:lab_group"``).
"""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points

import click

from toolkit.cli.lazy import LazyGroup

PLUGIN_GROUP = "spbe.cli_plugins"
log = logging.getLogger(__name__)


def plugin_entry_points() -> dict[str, EntryPoint]:
    """Installed plugin commands by name (the first distribution on sys.path wins a name)."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=PLUGIN_GROUP):
        found.setdefault(ep.name, ep)
    return found


def load_plugin(ep: EntryPoint) -> click.Command | None:
    """The plugin's command, or None (with a warning) when its package is missing or broken."""
    try:
        command = ep.load()
    except ModuleNotFoundError as exc:
        # Its package is not installed (a production host has no lab): quietly absent. A module missing
        # *inside* the plugin is a broken plugin, and says so.
        absent = (exc.name or "").split(".")[0] == ep.module.split(".")[0]
        log.log(logging.DEBUG if absent else logging.WARNING, "spbe plugin %r (%s) cannot be loaded: %s",
                ep.name, ep.value, exc)
        return None
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the product CLI down
        log.warning("spbe plugin %r (%s) cannot be loaded: %s", ep.name, ep.value, exc)
        return None
    if not isinstance(command, click.Command):
        log.warning("spbe plugin %r (%s) is not a click command", ep.name, ep.value)
        return None
    return command


class PluginGroup(LazyGroup):
    """A click group that adds the installed plugin commands, lazily, after its own commands.

    A built-in command of the same name wins: a plugin cannot replace ``spbe ticket``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *plugin_entry_points()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        ep = plugin_entry_points().get(cmd_name)
        return load_plugin(ep) if ep is not None else None
