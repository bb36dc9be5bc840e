"""The three ways a setting may carry a credential, so that none of them is ever shown in clear.

* `SecretRef` points at the secret (``env:NAME`` or ``file:/path``); the pointer is safe to show.
* `SecretName` names an entry of ``settings.secrets`` (itself a `SecretRef`); adapters have always
  taken their admin password or token that way (``password_secret = "wso2_admin_password"``).
* `ServiceUrl` is an http(s) URL; one whose userinfo (``user:password@``) is a credential becomes a
  `SecretUrl`, usable through ``get_secret_value()`` while ``str``, ``repr`` and dumps mask it.

Any other string is shown as is, which is why a settings field that can hold a credential must be
typed with one of these (or `pydantic.SecretStr`); ``tests/toolkit/test_settings_secrets.py`` walks
every settings model and adapter option schema to hold that line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from toolkit.errors import ConfigurationError
from toolkit.masking import MASK, Masker

_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")
_HTTP_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$", re.IGNORECASE)


def mask_url_userinfo(text: str) -> str:
    """Replace the ``user:password@`` of every URL in ``text`` (the user name too: it is half the login)."""
    return _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)


class SecretRef(BaseModel):
    """A pointer to a secret, safe to show: ``env:SPBE_BACKUP_PASSWORD`` or ``file:/etc/spbe/key``."""

    model_config = ConfigDict(frozen=True)
    ref: str = Field(pattern=r"^(env:[A-Z_][A-Z0-9_]*|file:/[^\x00\n]+)$")

    def resolve(self) -> SecretStr:
        scheme, _, where = self.ref.partition(":")
        if scheme == "env":
            value = os.environ.get(where)
            if value is None:
                raise ConfigurationError(f"secret {self.ref} is not set in the environment", ref=self.ref)
            return SecretStr(value)
        try:
            return SecretStr(Path(where).read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ConfigurationError(f"secret {self.ref} cannot be read: {exc.strerror}", ref=self.ref) from None


class SecretNameStr(str):
    """A validated `SecretName`: still a ``str`` (adapters look it up in ``settings.secrets``), but
    its type tells ``spbe config show`` that it is a name, not the secret."""

    __slots__ = ()


# A name, so it has the shape of one: a password typed here by mistake is refused rather than kept.
SecretName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$"), AfterValidator(SecretNameStr)]


class SecretUrl(SecretStr):
    """A URL that carries ``user:password@``: usable through ``get_secret_value()``, shown with its
    userinfo masked. Fields are typed `ServiceUrl`, which makes one only when there is userinfo."""

    def _display(self) -> str:  # pydantic's hook for str() and repr()
        return mask_url_userinfo(self.get_secret_value())


def _service_url(value: Any) -> str | SecretUrl:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        raise PydanticCustomError("url_type", "Input should be a URL string")
    if not _HTTP_URL.match(value):  # the message must not echo the value: it may hold a password
        raise PydanticCustomError("url_parsing", "Input should be an http:// or https:// URL")
    return SecretUrl(value) if mask_url_userinfo(value) != value else value


# An http(s) URL. Without userinfo it is a plain ``str`` (so settings dumped to JSON load again); with
# it, a `SecretUrl`, which no dump, repr or log line shows in clear.
ServiceUrl = Annotated[str | SecretUrl, PlainValidator(_service_url, json_schema_input_type=str), PlainSerializer(str)]


def reveal_url(url: str | SecretStr | None, masker: Masker) -> str | None:
    """The usable URL for an adapter; its password, if any, is handed to ``masker`` first so that an
    error which quotes the URL (an unreachable admin API) cannot print it."""
    if url is None:
        return None
    value = url.get_secret_value() if isinstance(url, SecretStr) else url
    match = _URL_USERINFO.search(value)
    if match:
        userinfo = value[match.end(1):match.end() - 1]
        masker.add(userinfo.partition(":")[2] or userinfo)
    return value
