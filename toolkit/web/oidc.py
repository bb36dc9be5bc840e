"""Verifying an OIDC bearer JWT against the identity provider's JWKS (``settings.http.oidc``).

The discovery document gives the issuer and the ``jwks_uri``; both are fetched on first use, then kept.
A token naming a key id the cached set lacks (the provider rotated its keys) refetches the set, at most
once per ``jwks_refresh_s``, so a stream of forged key ids cannot make us hammer the provider. A token
without a key id is accepted only when exactly one key of the set fits its algorithm (some providers,
the loopback test provider among them, sign without ``kid``).

Checked: the signature with an allowed asymmetric algorithm, ``iss`` equal to the discovered issuer,
``aud`` containing the configured audience, ``exp`` (required) and ``nbf`` with ``leeway_s``. The user is
the claim ``username_claim``, held to the username rule; roles come from the directory. Every failure
is one `AuthenticationError` (401) whose reason goes to the log, never to the client.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet
from joserfc.jws import extract_compact

from toolkit.accounts.models import parse_username
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import AuthenticationError, InvalidInputError, UnavailableError
from toolkit.web.config import OidcBearerSettings

log = logging.getLogger("spbe.web.oidc")
REFUSED = "the bearer token is not valid (signature, issuer, audience or lifetime)"  # noqa: S105 - a message
MAX_TOKEN_CHARS = 16384


class OidcVerifier:
    def __init__(self, settings: OidcBearerSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._issuer: str | None = None
        self._jwks_uri: str | None = None
        self._keys: KeySet | None = None
        self._fetched_at = 0.0

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self._settings.timeout_s, follow_redirects=False)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UnavailableError(f"the identity provider cannot be read ({type(exc).__name__})") from None
        if not isinstance(data, dict):
            raise UnavailableError("the identity provider answered something that is not a JSON object")
        return data

    def _discover(self) -> tuple[str, str]:
        if self._issuer is None or self._jwks_uri is None:
            meta = self._get(self._settings.discovery_url)
            issuer, jwks_uri = meta.get("issuer"), meta.get("jwks_uri")
            if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
                raise UnavailableError("the provider's discovery document names no issuer or jwks_uri")
            self._issuer, self._jwks_uri = issuer, jwks_uri
        return self._issuer, self._jwks_uri

    def _key_set(self, refresh: bool) -> KeySet:
        with self._lock:
            _, jwks_uri = self._discover()
            stale = time.monotonic() - self._fetched_at >= self._settings.jwks_refresh_s
            if self._keys is None or (refresh and stale):
                try:
                    self._keys = KeySet.import_key_set(self._get(jwks_uri))  # type: ignore[arg-type]
                except (JoseError, ValueError, KeyError, TypeError):
                    raise UnavailableError("the provider's JWKS cannot be read") from None
                self._fetched_at = time.monotonic()
            return self._keys

    def _pick(self, keys: KeySet, headers: dict[str, Any]) -> Key | None:
        kid, alg = headers.get("kid"), headers.get("alg")
        if alg not in self._settings.algorithms:
            return None
        if kid is not None:
            return next((k for k in keys.keys if k.kid == kid), None)
        family = {"R": "RSA", "P": "RSA", "E": "EC"}.get(str(alg)[:1], "OKP")
        fitting = [k for k in keys.keys if k.key_type == family]
        return fitting[0] if len(fitting) == 1 else None

    def _resolve(self, token: str) -> Key:
        try:
            headers = extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, TypeError):
            raise AuthenticationError(REFUSED, reason="malformed JWT") from None
        key = self._pick(self._key_set(refresh=False), headers)
        if key is None:
            key = self._pick(self._key_set(refresh=True), headers)
        if key is None:
            raise AuthenticationError(REFUSED, reason="no key of the provider fits (kid/alg)")
        return key

    def authenticate(self, token: str) -> Principal:
        settings = self._settings
        if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2 or not token.isascii():
            raise AuthenticationError(REFUSED, reason="malformed JWT")
        issuer, _ = self._discover()
        key = self._resolve(token)
        try:
            decoded = jwt.decode(token, key, algorithms=list(settings.algorithms))
            registry = jwt.JWTClaimsRegistry(leeway=settings.leeway_s, iss={"essential": True, "value": issuer},
                                             aud={"essential": True, "value": settings.audience},
                                             exp={"essential": True})
            registry.validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise AuthenticationError(REFUSED, reason=f"{type(exc).__name__}: {exc}"[:200]) from None
        try:
            user = parse_username(decoded.claims.get(settings.username_claim), settings.username_claim)
        except InvalidInputError:
            raise AuthenticationError(REFUSED, reason=f"claim {settings.username_claim} is no username") from None
        return Principal(user=user, auth=AuthMethod.OIDC)
