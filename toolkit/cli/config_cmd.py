"""`spbe config show`: the effective settings, secrets shown only by reference or masked."""

from __future__ import annotations

import re
from typing import Any

import click

from toolkit.cli.render import emit_json, plain
from toolkit.masking import MASK
from toolkit.settings import Settings

_SECRET_WORDS = ("password", "passwd", "secret", "token", "key", "credential", "auth")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


def _mask(value: Any, key: str = "") -> Any:
    """Adapter options are free-form: mask by key name at any depth, and strip user:password@
    from URLs, so a credential typed in the wrong place is still not printed."""
    if any(word in key.lower() for word in _SECRET_WORDS):
        return MASK
    if isinstance(value, dict):
        return {k: _mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if isinstance(value, str):
        return _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", value)
    return value


def masked_settings(settings: Settings) -> dict[str, Any]:
    data: dict[str, Any] = settings.model_dump(mode="json")
    for name in ("tickets", "queue", "directory"):
        data[name]["options"] = _mask(data[name]["options"])
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
        obj.console.print(f"[bold]{plain(key)}[/] = {plain(value)}")
