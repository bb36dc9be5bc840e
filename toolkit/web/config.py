"""``settings.http``: where the web front door listens and whom it believes.

Only pydantic is imported here: the one settings model embeds this section (the import contracts allow
exactly this edge, as for the accounts' and containment's settings).

The front door binds to loopback unless the settings say otherwise in writing (``allow_non_loopback``),
as the metrics endpoint does: in production it sits behind a reverse proxy (TLS, the public name) on the
same host. Forwarded headers (``X-Forwarded-For``/``-Proto``) are believed only from ``trusted_proxies``:
from anyone else they would let a client choose the address the audit log and the cookies' Secure flag
see. ``root_path`` is the prefix the proxy serves the application under (``/layanan``), so generated URLs
and the OpenAPI document carry it.
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from toolkit.observability.config import is_loopback, parse_address

_ROOT_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)*", re.ASCII)


def split_bind(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) as a pair; ValueError naming the expected form."""
    return parse_address(text, example="127.0.0.1:8080")


class OidcBearerSettings(BaseModel):
    """API clients holding an access or ID token from the identity provider (Keycloak in production).
    The token is verified against the provider's JWKS (from its discovery document): signature, ``iss``
    (the discovery document's issuer), ``aud`` (must contain ``audience``), ``exp`` and ``nbf``. The
    person is the directory's user named by ``username_claim``; their roles come from the directory,
    never from the token, as for every other way in."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    discovery_url: str = Field(pattern=r"^https?://[^\s/@]+(/[^\s@]*)?$", max_length=2000,
                               description="the provider's discovery document (…/.well-known/openid-configuration); "
                                           "no user:password@")
    audience: str = Field(min_length=1, max_length=255, description="this API's client id at the provider")
    username_claim: str = Field(default="preferred_username", pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
    algorithms: tuple[str, ...] = Field(default=("RS256", "ES256", "PS256"), min_length=1)
    leeway_s: int = Field(default=30, ge=0, le=300, description="clock skew allowed on exp and nbf")
    jwks_refresh_s: int = Field(default=300, ge=10, le=86400,
                                description="an unknown key id refetches the JWKS at most this often")
    timeout_s: float = Field(default=5.0, gt=0, le=60)

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """No ``none`` and no HMAC: a symmetric key would be one the provider shares with its clients."""
        allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
        bad = sorted(set(value) - allowed)
        if bad:
            raise ValueError(f"algorithms {bad} are not allowed; use asymmetric ones: {sorted(allowed)}")
        return value


class HttpSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=False, description="`spbe serve` serves the front door too (also turned on by "
                                                     "`spbe serve --http HOST:PORT`); `spbe api-server` always does")
    bind: str = Field(default="127.0.0.1:8080", description="HOST:PORT of `spbe serve --http` and `spbe api-server`")
    allow_non_loopback: bool = Field(default=False, description="set to true to bind a non-loopback address "
                                                                "(put TLS and a reverse proxy in front)")
    root_path: str = Field(default="", max_length=200,
                           description="the path prefix a reverse proxy serves spbe under, e.g. /layanan")
    trusted_proxies: tuple[str, ...] = Field(
        default=(), description="addresses or networks (CIDR) whose X-Forwarded-* headers are believed; empty: none")
    max_body_bytes: int = Field(default=12 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024,
                                description="larger request bodies are refused (413) before they are read whole")
    oidc: OidcBearerSettings | None = Field(default=None, description="accept OIDC bearer JWTs; None: not accepted")

    @field_validator("root_path")
    @classmethod
    def _root_path(cls, value: str) -> str:
        if not _ROOT_PATH.fullmatch(value):
            raise ValueError("root_path is '' or a path like /layanan (letters, digits, . _ ~ -; no trailing /)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {item!r} is not an address or a network (CIDR)") from None
        return value

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> HttpSettings:
        host, _ = split_bind(self.bind)
        if not self.allow_non_loopback and not is_loopback(host):
            raise ValueError(f"http.bind {self.bind!r} is not a loopback address: set http.allow_non_loopback = true "
                             "to bind it anyway (behind TLS and a reverse proxy)")
        return self

    @property
    def host(self) -> str:
        return split_bind(self.bind)[0]

    @property
    def port(self) -> int:
        return split_bind(self.bind)[1]
