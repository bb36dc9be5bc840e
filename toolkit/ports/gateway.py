"""The `Gateway` port: API consumers, their credentials, ACLs and rate limits on an API gateway.

The SPLP service issues an API endpoint to a consumer application: the API must already be published
on the gateway by its provider (a Kong service, a WSO2 API, an Express Gateway service endpoint), and
the toolkit then makes sure a route to it exists, creates the consumer once, issues a credential,
restricts it to that API and applies the approved quota. Adapters (``integrations/gateway/``) speak
each product's admin API and return these models, never raw JSON.

Contract every adapter keeps (``tests/integrations/gateway/test_contract.py`` checks it on each one):

* ``ensure_route`` raises `GatewayNotFoundError` for an API the gateway does not have; it never
  invents an upstream. Calling it again changes nothing.
* ``ensure_consumer`` is idempotent: a second call returns the same consumer (``created=False``) and
  never makes a second one, even when the gateway answers 409 to a racing create.
* A `Credential` carries its secret as `SecretStr`; only `Credential.masked` (last 4) is ever shown.
* ``revoke`` makes every credential of the consumer stop working at the proxy but keeps the consumer
  (for the audit trail); ``delete_consumer`` removes it with everything attached (undo of a half-done
  issue) and is a no-op for a consumer that does not exist.
* A credential, ACL, rotation or revocation for a consumer the gateway does not have raises
  `GatewayNotFoundError` and creates nothing.
* Failures are `toolkit.errors.ToolkitError` subclasses below, with secrets masked in every message.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from toolkit.domain.catalog.formats import GATEWAY_NAME
from toolkit.errors import (
    ActionFailedError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from toolkit.masking import last4

# Names every gateway accepts: Kong consumer usernames and tags, WSO2 application names and Express
# Gateway usernames all take these; nothing here can start a path segment, a query or an expression.
GATEWAY_NAME_RE = re.compile(rf"^{GATEWAY_NAME}$")  # the SPLP ticket fields' format gateway_name
CredentialKind = Literal["key-auth", "oauth2-client"]


def check_gateway_name(value: str, what: str = "name") -> str:
    """Refuse anything but lower-case letters, digits and inner '-' (max 63): the one alphabet that is
    safe as a URL path segment, a YAML key, a scope, an ACL group and an EG expression literal."""
    if not isinstance(value, str) or not GATEWAY_NAME_RE.fullmatch(value):
        shown = repr(value)[:80]
        raise ValueError(f"{what} {shown} is not gateway-safe: use a-z, 0-9 and '-' (1-63 chars)")
    return value


def require_gateway_name(value: str, what: str = "name") -> str:
    """`check_gateway_name` for callers outside pydantic: refusal as `InvalidInputError` naming the field."""
    try:
        return check_gateway_name(value, what)
    except ValueError as exc:
        raise InvalidInputError(str(exc), errors=[(what, "not gateway-safe")]) from None


# A leading "_" is real: WSO2's OAuthUtil.getRandomNumber() base64-encodes an HMAC and maps "/" to "_", so one
# consumer key in 64 starts with it. A leading "-" or "." stays refused (option-like, or a relative path segment).
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


def require_key_id(value: str) -> str:
    """A credential's key id as gateways give it (EG uuid62, Kong UUID, WSO2 consumer key): safe in a URL path."""
    if not isinstance(value, str) or not KEY_ID_RE.fullmatch(value):
        raise InvalidInputError(f"key id {repr(value)[:80]} is not a gateway key id", errors=[("key_id", "invalid")])
    return value


def acl_group(api: str) -> str:
    """The ACL group (Kong), scope (Express Gateway) or subscription key that grants access to ``api``."""
    return f"api-{check_gateway_name(api, 'api')}"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApiRoute(_Frozen):
    """Where consumers reach an API through the gateway, and how the route is protected."""

    api: str
    route_id: str = Field(description="the gateway's id of the route / api endpoint / published API")
    url: str = Field(description="the endpoint URL given to the consumer")
    auth: CredentialKind = "key-auth"
    acl_group: str
    created: bool = Field(default=False, description="True when this call created the route")


class Consumer(_Frozen):
    id: str
    name: str
    active: bool = True
    created_at: datetime | None = None
    created: bool = Field(default=False, description="True when this call created the consumer")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_gateway_name(value, "consumer")


class CredentialInfo(_Frozen):
    """A credential as listed: never the secret."""

    key_id: str
    kind: CredentialKind = "key-auth"
    active: bool = True
    created_at: datetime | None = None
    expires_at: datetime | None = None
    masked: str = Field(default="", description="last 4 characters of the secret when the gateway shows them")


class Credential(_Frozen):
    """A freshly issued credential; the only object that ever holds the secret."""

    consumer: str
    consumer_id: str
    kind: CredentialKind = "key-auth"
    key_id: str
    secret: SecretStr
    created_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def masked(self) -> str:
        return last4(self.secret.get_secret_value())

    def info(self) -> CredentialInfo:
        return CredentialInfo(key_id=self.key_id, kind=self.kind, created_at=self.created_at,
                              expires_at=self.expires_at, masked=self.masked)


class AclGroup(_Frozen):
    consumer: str
    api: str
    group: str


class RateLimit(_Frozen):
    consumer: str
    api: str
    per_minute: int = Field(ge=1, description="the limit in force (a tier may round the request up)")
    requested_per_minute: int = Field(ge=1)
    policy: str = Field(default="", description="the gateway's name for it (plugin id, tier, pipeline)")


class RouteInfo(_Frozen):
    """One route spbe made (pipeline, Kong route, WSO2 API), as listed for compliance: no secret in it.

    ``default_per_minute`` is a rate limit that holds for every consumer of the route (Express Gateway: a
    ``rate-limit`` entry without a consumer condition; Kong: a ``rate-limiting`` plugin on the route with no
    consumer; WSO2: the API's own throttling policy), ``None`` when there is none; ``consumer_limits`` counts
    the per-consumer limits on top (the SPLP quota of each issued consumer)."""

    api: str
    route_id: str
    policies: tuple[str, ...] = Field(default=(), description="the gateway's names of the route's policies/plugins")
    default_per_minute: int | None = Field(default=None, ge=1)
    consumer_limits: int = Field(default=0, ge=0)


class ConsumerInfo(_Frozen):
    """One consumer with what is attached to it, for `spbe api list`."""

    consumer: Consumer
    credentials: tuple[CredentialInfo, ...] = ()
    groups: tuple[str, ...] = ()
    rate_limits: tuple[RateLimit, ...] = ()


# ---------------------------------------------------------------------------------------------- errors


class _GatewayErrorMixin:
    """Context every gateway error carries: which product, request and status (never a secret)."""

    @staticmethod
    def context(gateway: str, method: str = "", path: str = "", status: int | None = None,
                body: str = "") -> dict[str, Any]:
        return {"gateway": gateway, "method": method, "path": path, "status": status, "body": body[:500]}


class GatewayUnavailableError(UnavailableError, _GatewayErrorMixin):
    """The admin API (or proxy) could not be reached, timed out, or answered 5xx: retry later."""


class GatewayAuthError(PermissionDeniedError, _GatewayErrorMixin):
    """The gateway refused the toolkit's own admin credential (401/403): a configuration problem."""


class GatewayConflictError(ConflictError, _GatewayErrorMixin):
    """409: the object exists already or the change contradicts the gateway's state."""


class GatewayNotFoundError(NotFoundError, _GatewayErrorMixin):
    """The API (service) or consumer does not exist on the gateway."""


class GatewayRequestError(ActionFailedError, _GatewayErrorMixin):
    """Any other refusal (400 schema violation, 422 invalid config): the request itself was wrong."""


# ---------------------------------------------------------------------------------------------- port


@runtime_checkable
class Gateway(Protocol):
    """Every adapter is built as ``Adapter(settings=Settings, **options)`` through the registry
    group ``spbe.gateways``."""

    name: str

    def ensure_route(self, api: str) -> ApiRoute:
        """Make sure ``api`` is reachable through the gateway with key/ACL protection; `GatewayNotFoundError`
        when the gateway has no such API (service) to route to."""
        ...

    def get_consumer(self, name: str) -> Consumer | None: ...

    def ensure_consumer(self, name: str) -> Consumer:
        """Create the consumer unless it exists; ``created`` tells which."""
        ...

    def issue_key_credential(self, consumer: str, ttl_days: int | None = None) -> Credential:
        """A new credential for the consumer (key-auth; client credentials on WSO2)."""
        ...

    def restrict_to_api(self, consumer: str, api: str) -> AclGroup:
        """Grant the consumer access to ``api`` only (ACL group / scope / subscription)."""
        ...

    def set_rate_limit(self, consumer: str, api: str, per_minute: int) -> RateLimit: ...

    def revoke(self, consumer: str) -> list[str]:
        """Disable every credential of the consumer; returns the key ids revoked. Idempotent."""
        ...

    def rotate(self, consumer: str, ttl_days: int | None = None) -> Credential:
        """Issue a new credential and revoke the old ones (in that order, so a failure keeps the old)."""
        ...

    def list_consumers(self) -> list[ConsumerInfo]: ...

    def delete_consumer(self, consumer: str) -> bool:
        """Remove the consumer and what hangs off it; False when there was nothing to delete."""
        ...

    def auth_headers(self, credential: Credential) -> dict[str, str]:
        """The headers a client sends to the proxy with this credential (WSO2: fetches a token first)."""
        ...

    def list_routes(self) -> list[RouteInfo]:
        """The routes spbe made (read-only), with their policies and rate limits, for compliance checks."""
        ...


@runtime_checkable
class GatewayControls(Protocol):
    """What a gateway offers besides the port so a compliance remediation can be undone: switches that
    have an inverse. Deleting a consumer or a key has none (the secret is gone), so it is not here: an
    orphan consumer or an expired key is *disabled*, and enabling it again is the undo.

    Each call is idempotent and returns the state before it, so a caller can tell what to restore."""

    def set_consumer_active(self, consumer: str, active: bool) -> bool:
        """Enable or disable the consumer at the proxy; the previous ``active``. `GatewayNotFoundError`
        for a consumer the gateway does not have."""
        ...

    def set_credential_active(self, consumer: str, key_id: str, active: bool) -> bool:
        """Enable or disable one credential of the consumer; the previous ``active``."""
        ...

    def set_default_rate_limit(self, api: str, per_minute: int | None) -> int | None:
        """Set (``None``: remove) the route-wide rate limit of ``api``'s route, keeping the per-consumer
        ones; the previous route-wide limit."""
        ...
