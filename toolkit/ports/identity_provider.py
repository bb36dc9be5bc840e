"""The `IdentityProvider` port: OAuth2 clients for API consumers, users, realm roles, containment.

What the toolkit asks of an identity provider (Keycloak in `integrations.identity.keycloak`):

* **API consumers** (SPLP, seed 004 step 5): a *confidential* client per consumer application, with
  the client-credentials grant (a service account) and access to exactly one approved API. Access
  is a *client role* named after the API on the resource-server client that stands for the
  gateway (``IdentitySettings.api_client_id``): Keycloak then puts that client in the token's
  ``aud`` and the role in ``resource_access[<api client>].roles``, which is what the gateway and
  `validate_token` check. Creating is idempotent (`ensure_consumer_client`): a re-run finds the
  client it created before instead of making a second one, and `delete_client` undoes it.
* **Credentials**: read, rotate (the old secret stops working at once) and disable. Secrets are
  `SecretStr` from end to end; they are never part of a model's repr or of an error message.
* **People and roles**: users by username and realm roles, so Keycloak can be the source of truth
  for approvers (`integrations.identity.keycloak_directory`).
* **CSIRT containment** (seeds 000/003, "change access"): `disable_user_and_logout` and
  `disable_client`, each reversible (`enable_user`, `enable_client`) and each reporting what it
  found so the containment record can say what to restore.
* **Token validation** done by us, not delegated: signature against the realm's published keys
  (RS256 only), expiry, issuer, audience or authorised party, and optionally the API role.

Every error is a `toolkit.errors.ToolkitError`: `NotFoundError` (no such client/user),
`ConflictError` (already exists with other settings), `PermissionDeniedError` (the provider refused
our admin credentials or a token is not valid for the purpose), `UnavailableError` (unreachable or
5xx: retry later), `ConfigurationError` (settings).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Protocol, runtime_checkable

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _no_control(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters")
    return value


# Keycloak itself accepts almost anything as a clientId; we accept what every gateway, log line and
# file name can carry unquoted. It starts with a letter so it is never mistaken for an internal id.
ClientId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9._-]{2,63}$")]
ApiRole = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
IdpUsername = Annotated[str, Field(pattern=r"^[a-z][a-z0-9._-]{0,63}$")]
DisplayText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_control)]


class ConsumerClientSpec(BaseModel):
    """The client an approved SPLP request gets. ``api_role`` is the API's code (the ticket's
    ``api_id``); ``ticket_id`` is written into the client's attributes so an operator looking at
    Keycloak can trace it back."""

    model_config = _FROZEN
    client_id: ClientId
    name: DisplayText
    api_role: ApiRole
    ticket_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    description: str | None = Field(default=None, max_length=500)


class IdpClient(BaseModel):
    """A client as the provider holds it. ``id`` is the provider's internal id."""

    model_config = _FROZEN
    id: str
    client_id: str
    name: str | None = None
    enabled: bool
    confidential: bool
    service_account: bool
    api_roles: frozenset[str] = frozenset()
    ticket_id: str | None = None


class EnsuredClient(BaseModel):
    """``created`` is False when the client already existed (a re-run): the caller must then not
    undo it on a later failure, since it did not make it."""

    model_config = _FROZEN
    client: IdpClient
    created: bool


class AccessToken(BaseModel):
    model_config = _FROZEN
    token: SecretStr
    token_type: str = "Bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(ge=0)


class TokenClaims(BaseModel):
    """The claims of a token that passed `IdentityProvider.validate_token`."""

    model_config = _FROZEN
    subject: str
    issuer: str
    audience: tuple[str, ...]
    authorized_party: str | None
    expires_at: datetime
    issued_at: datetime | None
    scope: frozenset[str] = frozenset()
    realm_roles: frozenset[str] = frozenset()
    client_roles: dict[str, frozenset[str]] = Field(default_factory=dict)
    username: str | None = None

    def has_client_role(self, client_id: str, role: str) -> bool:
        return role in self.client_roles.get(client_id, frozenset())


class IdpUser(BaseModel):
    model_config = _FROZEN
    id: str
    username: str
    enabled: bool
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    attributes: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @property
    def display_name(self) -> str:
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or self.username


class RealmRole(BaseModel):
    model_config = _FROZEN
    name: str
    description: str | None = None


class UserContainment(BaseModel):
    """What `disable_user_and_logout` did; ``was_enabled`` tells the reversal whether to re-enable."""

    model_config = _FROZEN
    username: str
    user_id: str
    was_enabled: bool
    sessions_closed: int = Field(ge=0)


class ClientContainment(BaseModel):
    model_config = _FROZEN
    client_id: str
    was_enabled: bool


@runtime_checkable
class IdentityProvider(Protocol):
    # -- API consumers -----------------------------------------------------------------------------
    def ensure_consumer_client(self, spec: ConsumerClientSpec) -> EnsuredClient:
        """Create the confidential client with its API role, or return the one a previous run made.
        An existing client of that id made for another API or ticket is a `ConflictError`."""
        ...

    def find_client(self, client_id: str) -> IdpClient | None: ...

    def list_consumer_clients(self) -> list[IdpClient]:
        """The clients spbe made for API consumers (read-only; clients made by hand are left out), with
        their ``enabled`` flag, for compliance checks."""
        ...

    def get_client(self, client_id: str) -> IdpClient:
        """`NotFoundError` when absent."""
        ...

    def client_secret(self, client_id: str) -> SecretStr: ...

    def rotate_client_secret(self, client_id: str) -> SecretStr:
        """A new secret; the old one is refused from now on."""
        ...

    def disable_client(self, client_id: str) -> ClientContainment:
        """No new tokens for this client; tokens already issued fail `validate_token(..., check_active=True)`."""
        ...

    def enable_client(self, client_id: str) -> IdpClient: ...

    def delete_client(self, client_id: str) -> bool:
        """Undo of `ensure_consumer_client`; False when there was nothing to delete."""
        ...

    def client_credentials_token(self, client_id: str, secret: SecretStr) -> AccessToken:
        """A token by the client-credentials grant (what the consumer application will do)."""
        ...

    def validate_token(self, token: SecretStr, *, audience: str | None = None, authorized_party: str | None = None,
                       required_role: str | None = None, check_active: bool = False) -> TokenClaims:
        """Verify signature (RS256, the realm's keys), ``exp``, ``iss``, that ``audience`` is in ``aud``
        (default: the API resource client) or ``azp`` is ``authorized_party``, and, when given, that
        the token carries ``required_role`` of the API client. ``check_active`` also asks the
        provider whether the token is still active (client or user disabled since it was issued).
        Any failure is a `PermissionDeniedError` whose message never contains the token."""
        ...

    # -- people and roles --------------------------------------------------------------------------
    def get_user(self, username: str) -> IdpUser: ...

    def user_realm_roles(self, username: str) -> frozenset[str]:
        """Effective realm roles (composites expanded)."""
        ...

    def realm_roles(self) -> list[RealmRole]: ...

    def users_with_realm_role(self, role: str) -> list[IdpUser]: ...

    def users_with_attribute(self, name: str, value: str) -> list[IdpUser]:
        """Users whose attribute ``name`` holds exactly ``value`` (Keycloak's ``q=name:value`` search)."""
        ...

    # -- containment -------------------------------------------------------------------------------
    def disable_user_and_logout(self, username: str) -> UserContainment:
        """Disable the account and end every session it has. Idempotent."""
        ...

    def enable_user(self, username: str) -> IdpUser: ...
