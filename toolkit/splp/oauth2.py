"""OAuth2 clients for SPLP consumers: a confidential Keycloak client per consumer application.

When the request asks for ``oauth2`` (ticket field ``jenis_kredensial``), step 5 also creates a
confidential client with only the client-credentials grant whose service account holds the client
role of the approved API (`toolkit.ports.identity_provider`), and stores its secret in the vault next to
the API key. The try-out (step 6) then does what the consumer application will do: it asks the
token endpoint for a token with that secret and checks it with our own RS256 validation (signature
against the realm's JWKS, expiry, issuer, audience, and the API's role) before calling the gateway.

The client id is the consumer's gateway name, so an operator finds the same name at the gateway and
in Keycloak; the client carries the ticket id in its attributes, and a client of that id made for
another ticket is a conflict, never silently taken over.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr, TypeAdapter, ValidationError

from toolkit.errors import ConfigurationError, InvalidInputError, UnavailableError
from toolkit.ports.identity_provider import (
    AccessToken,
    ClientId,
    ConsumerClientSpec,
    EnsuredClient,
    IdentityProvider,
    TokenClaims,
)
from toolkit.settings import Settings

KIND_FIELD = "jenis_kredensial"
KINDS = ("api-key", "oauth2")
_CLIENT_ID = TypeAdapter(ClientId)


def wants_oauth2(fields: dict[str, Any]) -> bool:
    kind = str(fields.get(KIND_FIELD) or "api-key")
    if kind not in KINDS:
        raise InvalidInputError(f"{KIND_FIELD} must be one of {', '.join(KINDS)}", errors=[(KIND_FIELD, "invalid")])
    return kind == "oauth2"


def client_id_for(consumer: str) -> str:
    try:
        return _CLIENT_ID.validate_python(consumer)
    except ValidationError:
        raise InvalidInputError(f"consumer {consumer[:80]!r} cannot be an OAuth2 client id (a-z first, 3-64 chars)",
                                errors=[("aplikasi_konsumen", "not a client id")]) from None


def ensure_client(idp: IdentityProvider, *, consumer: str, api: str, ticket_id: str, needs: str) -> EnsuredClient:
    """The consumer's confidential client with the API's role (its secret is read separately, so a
    failure there still knows the client was made and undoes it)."""
    spec = ConsumerClientSpec(client_id=client_id_for(consumer), name=f"{consumer} (API {api})", api_role=api,
                              ticket_id=ticket_id, description=f"SPLP {ticket_id}: {needs}"[:500])
    return idp.ensure_consumer_client(spec)


def obtain_and_validate(idp: IdentityProvider, client_id: str, secret: SecretStr,
                        api: str) -> tuple[AccessToken, TokenClaims]:
    """A client-credentials token, validated as the gateway would: RS256 against the realm's keys,
    exp/iss/aud, and the approved API's role. Any failure is a `PermissionDeniedError`."""
    token = idp.client_credentials_token(client_id, secret)
    claims = idp.validate_token(token.token, required_role=api)
    return token, claims


def issuer_of(settings: Settings) -> str:
    cfg = settings.identity
    if cfg is None:
        raise ConfigurationError("no identity provider is configured (settings.identity)")
    return f"{cfg.server_url.rstrip('/')}/realms/{cfg.realm}"


def realm_public_key_pem(settings: Settings) -> str:
    """The realm's RS256 signing key as PEM, from its public JWKS (no credential involved), for a
    gateway that verifies tokens itself. The first RS256 signature key is the active one."""
    import jwt
    import requests
    from cryptography.hazmat.primitives import serialization

    cfg = settings.identity
    url = f"{issuer_of(settings)}/protocol/openid-connect/certs"
    try:
        answer = requests.get(url, timeout=cfg.timeout_s if cfg else 10, verify=cfg.verify_tls if cfg else True)
        answer.raise_for_status()
        keys = answer.json().get("keys", [])
    except (requests.RequestException, ValueError) as exc:
        raise UnavailableError(f"the realm's signing keys could not be read from {url} ({type(exc).__name__})",
                               url=url) from None
    for raw in keys:
        if isinstance(raw, dict) and raw.get("kty") == "RSA" and raw.get("use", "sig") == "sig" \
                and raw.get("alg", "RS256") == "RS256":
            key = jwt.PyJWK(raw, algorithm="RS256").key
            return str(key.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii"))
    raise UnavailableError(f"the realm publishes no RS256 signing key at {url}", url=url)
