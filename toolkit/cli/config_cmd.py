"""`spbe config show`: the effective settings, secrets shown only by reference or masked.

Masking goes by type first: the adapters' option schemas type every credential (`SecretRef` is shown
as its reference, `SecretUrl` with its userinfo masked, `SecretStr` as the mask), so a credential is
hidden because the schema says so, not because its key happens to look like one. The key-name and
URL-userinfo rules stay as a defence in depth for what no schema declares (an unknown key, a
third-party adapter without a schema).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import click
from pydantic import SecretStr

from toolkit.adapter_options import SETTINGS_GROUPS, secret_key
from toolkit.cli.render import emit_json, plain
from toolkit.masking import MASK
from toolkit.secret_types import SecretNameStr, SecretRef, SecretUrl, mask_url_userinfo
from toolkit.settings import Settings


def _mask(value: Any, key: str, secret_names: frozenset[str]) -> Any:
    if isinstance(value, SecretRef):
        return value.ref
    if isinstance(value, SecretUrl):
        return str(value)
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, SecretNameStr):  # a name is shown only if it is one: else it may be a password
        return str(value) if value in secret_names else MASK
    if secret_key(key):
        return MASK
    if isinstance(value, dict):
        return {str(k): _mask(v, str(k), secret_names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v, key, secret_names) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_url_userinfo(str(value) if isinstance(value, str | PurePath) else repr(value))


def _mask_urls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_urls(v) for v in value]
    return mask_url_userinfo(value) if isinstance(value, str) else value


def masked_settings(settings: Settings) -> dict[str, Any]:
    names = frozenset(settings.secrets)
    data: dict[str, Any] = _mask_urls(settings.model_dump(mode="json", exclude={*SETTINGS_GROUPS, "identity"}))
    for name in SETTINGS_GROUPS:
        adapter = getattr(settings, name)
        data[name] = None if adapter is None else {"kind": adapter.kind, "options": _mask(adapter.options, "", names)}
    data["network"]["prober_options"] = _mask(settings.network.prober_options, "", names)  # typed like options
    data["audit"]["options"] = _mask(settings.audit.options, "", names)  # typed like options (audit.kind)
    identity = settings.identity
    data["identity"] = None if identity is None else {
        **_mask_urls(identity.model_dump(mode="json", exclude={"options"})),
        "options": _mask(identity.options, "", names)}
    data["secrets"] = {name: ref.ref for name, ref in settings.secrets.items()}
    return {name: data[name] for name in type(settings).model_fields if name in data}


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
