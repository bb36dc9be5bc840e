"""Validating an OIDC access token ourselves, with PyJWT, against the issuer's published keys.

Checks, in order, each failure a `PermissionDeniedError` that never quotes the token:

1. it is a JWS whose header names ``alg`` RS256 (anything else, ``none`` and HS256 included, is
   refused before a key is touched: no algorithm confusion) and a ``kid``;
2. the ``kid`` is one of the issuer's JWKS keys (an unknown ``kid`` refetches the JWKS once, at most
   every ``min_refresh_s``, so a key rotated in Keycloak is picked up without a restart);
3. the signature verifies; ``exp`` is in the future and ``iat``/``nbf`` not in the future (with
   ``leeway`` seconds for clock skew); ``iss`` is exactly the realm's issuer;
4. ``typ`` is ``Bearer`` (Keycloak's ID and refresh tokens are signed by the same realm and must
   not pass as access tokens);
5. ``audience`` is in ``aud`` and/or ``azp`` equals ``authorized_party`` (at least one is required).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import jwt

from toolkit.errors import ConfigurationError, PermissionDeniedError
from toolkit.ports.identity_provider import TokenClaims

ALGORITHM = "RS256"


class JwksCache:
    """The issuer's signing keys by ``kid``. ``fetch`` returns the JWKS document."""

    def __init__(self, fetch: Callable[[], Mapping[str, Any]], *, min_refresh_s: float = 30.0) -> None:
        self._fetch = fetch
        self._min_refresh_s = min_refresh_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        document = self._fetch()
        keys: dict[str, jwt.PyJWK] = {}
        for raw in document.get("keys", []):
            if not isinstance(raw, dict) or raw.get("kty") != "RSA" or raw.get("use", "sig") != "sig":
                continue
            if raw.get("alg", ALGORITHM) != ALGORITHM or not raw.get("kid"):
                continue
            try:
                keys[str(raw["kid"])] = jwt.PyJWK(raw, algorithm=ALGORITHM)
            except jwt.PyJWTError:
                continue  # a malformed key in the set must not hide the good ones
        self._keys = keys
        self._fetched_at = time.monotonic()

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            if kid not in self._keys:
                stale = self._fetched_at is None or time.monotonic() - self._fetched_at >= self._min_refresh_s
                if stale:
                    self._load()
            return self._keys.get(kid)


def _denied(reason: str) -> PermissionDeniedError:
    return PermissionDeniedError(f"access token refused: {reason}", reason=reason)


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise _denied("'aud' is neither a string nor a list")


def _roles(value: Any) -> frozenset[str]:
    roles = value.get("roles") if isinstance(value, dict) else None
    return frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset()


def validate_access_token(token: str, *, keys: JwksCache, issuer: str, audience: str | None = None,
                          authorized_party: str | None = None, leeway_s: int = 30) -> TokenClaims:
    if audience is None and authorized_party is None:
        raise ConfigurationError("token validation needs an audience or an authorized party to check")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _denied("not a signed JWT") from None
    if header.get("alg") != ALGORITHM:
        raise _denied(f"algorithm {str(header.get('alg'))[:20]!r} is not accepted (only {ALGORITHM})")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _denied("no key id (kid) in the header")
    key = keys.key(kid)
    if key is None:
        raise _denied("signed by a key the issuer does not publish")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key.key, algorithms=[ALGORITHM], issuer=issuer, leeway=leeway_s,
            options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise _denied("expired") from None
    except jwt.InvalidIssuerError:
        raise _denied("issued by another issuer") from None
    except jwt.InvalidSignatureError:
        raise _denied("signature does not verify") from None
    except jwt.ImmatureSignatureError:
        raise _denied("not valid yet (iat/nbf in the future)") from None
    except jwt.MissingRequiredClaimError as exc:
        raise _denied(f"claim {exc.claim!r} is missing") from None
    except jwt.PyJWTError as exc:
        raise _denied(f"malformed ({type(exc).__name__})") from None
    if claims.get("typ") != "Bearer":
        raise _denied("not an access token (typ is not 'Bearer')")
    aud = _as_tuple(claims.get("aud"))
    azp = claims.get("azp")
    if audience is not None and audience not in aud:
        raise _denied(f"not meant for {audience!r} (aud)")
    if authorized_party is not None and azp != authorized_party:
        raise _denied(f"not issued to {authorized_party!r} (azp)")
    resource_access = claims.get("resource_access")
    client_roles = ({str(k): _roles(v) for k, v in resource_access.items()}
                    if isinstance(resource_access, dict) else {})
    scope = claims.get("scope")
    return TokenClaims(
        subject=str(claims["sub"]), issuer=str(claims["iss"]), audience=aud,
        authorized_party=str(azp) if azp is not None else None,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
        scope=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
        realm_roles=_roles(claims.get("realm_access")), client_roles=client_roles,
        username=str(claims["preferred_username"]) if claims.get("preferred_username") else None,
    )
