"""The `TokenRoutes` port: an API route on the gateway that admits OAuth2 bearer tokens (RS256 JWTs).

For a request that asks for OAuth2, step 5 also makes sure the gateway has a token-protected route
to the API: the gateway verifies the token's signature against the identity provider's realm key,
its ``iss``, ``aud`` and expiry, and admits only tokens that carry the approved API's client role
(``resource_access[<api client>].roles``), the same checks our own `validate_token` makes. A
capability beside `toolkit.ports.gateway.Gateway`, not part of it: not every gateway product can do this
(an adapter for one that cannot is simply not registered, and the try-out then says that the token
was verified by the toolkit only). Adapters are registered under ``spbe.token_routes`` by the same
name as the gateway adapter and built with the same options.

Revocation with self-contained tokens: disabling the client in the identity provider stops new
tokens at once; a token already issued stays valid at the gateway until its ``exp`` (Keycloak's
default lifetime is 5 minutes). That is the nature of JWT access tokens, stated here so nobody
expects more.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from toolkit.masking import Masker
from toolkit.ports.gateway import ApiRoute
from toolkit.registry import Registry
from toolkit.settings import Settings


class TokenRouteSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    api: str = Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
    issuer: str = Field(pattern=r"^https?://[^\s'\"\\]+$")
    audience: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    role_client: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="client whose role names the API")
    public_key_pem: str = Field(pattern=r"^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$")


@runtime_checkable
class TokenRoutes(Protocol):
    name: str

    def ensure_token_route(self, spec: TokenRouteSpec) -> ApiRoute:
        """Create or update the token route of ``spec.api``; idempotent (``created`` tells)."""
        ...

    def bearer_headers(self, token: SecretStr) -> dict[str, str]: ...


def token_routes_from_settings(settings: Settings, masker: Masker | None = None) -> TokenRoutes | None:
    """The token-route adapter for the configured gateway, or None when that gateway has none."""
    cfg = settings.gateway
    registry = Registry[TokenRoutes]("spbe.token_routes")
    if cfg.kind not in registry.names():
        return None
    return registry.create(cfg.kind, settings=settings, masker=masker or Masker(), **cfg.options)
