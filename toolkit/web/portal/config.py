"""``settings.portal``: where the portal is reached, how its cookies are sent, and its OpenID Connect client.

Only pydantic and `toolkit.secret_types` (which needs no settings) are imported here: the one settings model
embeds this section (the import contracts allow exactly that edge), so nothing that needs the settings may
be reached from this module.

``url`` is the portal's public address (behind the reverse proxy): notices link to a ticket's page from
it, and when it starts with ``https://`` the session cookie is always ``Secure``. ``cookie_secure``
``auto`` sets ``Secure`` whenever the request itself came over TLS, as uvicorn reports it (honouring
forwarded headers only from the proxies the HTTP server trusts).

The OIDC client secret is the *name* of a ``[secrets]`` entry, resolved only when a login needs it,
never a value in the file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.secret_types import SecretName


class OidcClientSettings(BaseModel):
    """The portal as an OIDC relying party (Keycloak in production): authorization-code flow with PKCE."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    discovery_url: str = Field(pattern=r"^https?://[^\s/@]+(/[^\s@]*)?$",
                               description="the provider's discovery document (…/.well-known/openid-configuration)")
    client_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    client_secret_secret: SecretName | None = Field(
        default=None, description="name of the [secrets] entry holding the client secret; None for a public client")
    scope: str = Field(default="openid profile email", pattern=r"^openid( [A-Za-z0-9_:.-]+)*$")
    username_claim: str = Field(default="preferred_username", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
                                description="the ID token claim that names the directory's person")
    label: str = Field(default="Masuk dengan SSO", min_length=1, max_length=60)
    timeout_s: float = Field(default=10.0, gt=0, le=60)


class PortalSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    url: str | None = Field(default=None, pattern=r"^https?://[^\s@?#]+$",
                            description="public base URL of the portal; notices link to tickets from it")
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto", description="Secure cookies: auto (when the request came over TLS), always, never")
    oidc: OidcClientSettings | None = Field(default=None, description="'Masuk dengan SSO'; None: local accounts only")
    page_size: int = Field(default=50, ge=10, le=500, description="tickets per list page")
    login_flow_s: int = Field(default=600, ge=60, le=3600,
                              description="how long an SSO login may take between leaving and coming back")

    def ticket_url(self, ticket_id: str) -> str | None:
        """The ticket's page, for a notice; None when the portal's address is not configured."""
        return f"{self.url.rstrip('/')}/tiket/{ticket_id}" if self.url else None
