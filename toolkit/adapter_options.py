"""Adapter options are parsed by the adapter's own schema, at the settings boundary.

Options used to be a free-form ``dict[str, Any]`` handed to the constructor, so nothing but a list
of suspicious key names knew which option was a credential, and ``spbe config show`` printed every
option it did not guess. Now each adapter class declares ``Options``, a subclass of
`AdapterOptions` in which every credential is typed (`SecretRef`, `SecretName`, `ServiceUrl` or
`SecretStr`); the registry finds it (`Registry.options_schema`) and `toolkit.settings` validates the
configured options with it as soon as settings are loaded. From then on the settings object holds
no credential in clear: not in its repr, not in a log line, not in an exception.

Keys an adapter does not declare are still accepted (the constructor refuses them when the adapter
is built, as it always did, and ``config show`` must still show a mistyped key), but they are
*shielded*: a string under a credential-like key becomes a `SecretStr` and a URL with userinfo a
`SecretUrl`, at any depth. Extras are a defence in depth, never the place to declare a secret.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, create_model, model_validator

from toolkit.registry import Registry
from toolkit.secret_types import SecretRef, SecretUrl, mask_url_userinfo

# Which registry group parses the options of each adapter-valued field of `Settings`.
SETTINGS_GROUPS: dict[str, str] = {
    "tickets": "spbe.ticket_systems",
    "queue": "spbe.job_queues",
    "directory": "spbe.directories",
    "gateway": "spbe.gateways",
    "notifier": "spbe.notifiers",
    "state": "spbe.state_stores",
    "signing": "spbe.signers",
    "mailbox": "spbe.mailboxes",  # the complaints mailbox (toolkit.complaints.mail); None: no e-mail intake
}
IDENTITY_GROUP = "spbe.identity_providers"

_SECRET_WORDS = ("password", "passwd", "secret", "token", "key", "credential", "auth")


def secret_key(name: str) -> bool:
    """Whether a key's name suggests a credential; deliberately broad (``auth`` matches ``oauth``)."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def shield(value: Any, key: str = "", inside_secret: bool = False) -> Any:
    """``value`` with every string that may be a credential wrapped so it no longer prints."""
    if isinstance(value, SecretStr | SecretRef):
        return value
    inside_secret = inside_secret or secret_key(key)
    if isinstance(value, dict):
        return {k: shield(v, str(k), inside_secret) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shield(v, key, inside_secret) for v in value]
    if isinstance(value, str):
        if inside_secret:
            return SecretStr(value)
        if mask_url_userinfo(value) != value:
            return SecretUrl(value)
    return value


class AdapterOptions(BaseModel):
    """Base of every adapter's ``Options``. The schema is what the adapter documents and the types
    are what masks; its defaults should match the constructor's, which still owns them (only the
    options that were set are passed on)."""

    model_config = ConfigDict(frozen=True, extra="allow", arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def _shield_undeclared(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: v if k in cls.model_fields else shield(v, str(k)) for k, v in data.items()}

    def kwargs(self) -> dict[str, Any]:
        """The constructor's keyword arguments: declared options that were set, then undeclared ones."""
        declared = {name: getattr(self, name) for name in self.model_fields_set if name in type(self).model_fields}
        return {**declared, **(self.model_extra or {})}


def options_schema(group: str, kind: str) -> type[AdapterOptions]:
    """The adapter's schema; a kind the registry does not know gets the base (everything shielded),
    because the error for an unknown kind belongs to the moment the adapter is built."""
    schema = Registry[Any](group).options_schema(kind)
    return schema if schema is not None and issubclass(schema, AdapterOptions) else AdapterOptions


@lru_cache(maxsize=64)
def _holder(schema: type[AdapterOptions]) -> type[BaseModel]:
    """A model with one ``options`` field, so a validation error's location reads ``options.<key>``."""
    holder: type[BaseModel] = create_model(f"{schema.__name__}Holder", options=(schema, ...))
    return holder


def typed_options(group: str, kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` parsed by the schema of adapter ``kind`` of ``group``; raises pydantic's
    ValidationError located at ``options.<key>``."""
    holder: Any = _holder(options_schema(group, kind)).model_validate({"options": options})
    parsed: AdapterOptions = holder.options
    return parsed.kwargs()

