"""`spbe config show`: the effective settings, secrets shown only by reference or masked."""

from __future__ import annotations

from typing import Any

import click

from toolkit.cli.render import emit_json
from toolkit.masking import MASK
from toolkit.settings import Settings


def masked_settings(settings: Settings) -> dict[str, Any]:
    data: dict[str, Any] = settings.model_dump(mode="json")
    for name, adapter in (("tickets", settings.tickets), ("queue", settings.queue), ("directory", settings.directory)):
        data[name]["options"] = {
            k: (MASK if any(w in k.lower() for w in ("password", "secret", "token", "key")) else v)
            for k, v in adapter.options.items()
        }
    data["secrets"] = {name: ref.ref for name, ref in settings.secrets.items()}
    return data


@click.group("config")
def config_group() -> None:
    """Settings."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def config_show(obj, as_json) -> None:  # type: ignore[no-untyped-def]
    """Show the effective settings (file + environment + defaults); secrets are masked."""
    data = masked_settings(obj.app.settings)
    if as_json:
        emit_json(obj.console, data)
        return
    for key, value in data.items():
        obj.console.print(f"[bold]{key}[/] = {value}")
