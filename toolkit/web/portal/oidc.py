"""'Masuk dengan SSO': the OpenID Connect authorization-code flow with PKCE (S256), through Authlib.

The provider (Keycloak in production) is found through the discovery URL in ``settings.portal.oidc``.
Leaving for the provider, the portal makes a fresh ``state``, ``nonce`` and PKCE ``code_verifier`` and
keeps them in a signed, time-limited, HttpOnly cookie (`FLOW_COOKIE`, path ``/masuk/sso``): nothing of the
flow is trusted from the query string alone. Coming back, the callback is refused unless that cookie is
present, its signature and age are good, and the returned ``state`` equals the one in it; then the code is
exchanged *with the verifier from the cookie*, and the ID token's signature (the provider's JWKS), issuer,
audience, expiry and ``nonce`` are checked here. A provider that does not enforce PKCE (the test
provider does not) still cannot be fed a code from another browser's flow: the state binds it to this
browser's cookie. The person is the directory's user named by ``username_claim``; roles come from the
directory, never from the token.

The cookie's signing key is ``state_dir/portal_cookie.key`` (0600), made once; every process of one
installation reads the same key, so a login may start on one process and end on another.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from authlib.integrations.requests_client import OAuth2Session
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from toolkit.errors import AuthenticationError, ConfigurationError, UnavailableError
from toolkit.private_files import open_private
from toolkit.settings import Settings
from toolkit.web.portal.config import OidcClientSettings

log = logging.getLogger("spbe.portal")
FLOW_COOKIE = "spbe_sso"
FLOW_PATH = "/masuk/sso"
_DISCOVERY_TTL_S = 3600.0


def cookie_key(state_dir: Path) -> bytes:
    """The installation's cookie-signing key: 32 random bytes, created exclusively once (0600)."""
    path = Path(state_dir) / "portal_cookie.key"
    try:
        fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) < 32:
            raise ConfigurationError(f"{path} is shorter than 32 bytes: remove it to make a new one") from None
        return key
    key = secrets.token_bytes(32)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    return key


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    verifier: str
    target: str


@dataclass(frozen=True)
class Identity:
    username: str
    subject: str


class OidcLogin:
    def __init__(self, settings: Settings, client: OidcClientSettings) -> None:
        self._settings = settings
        self._client = client
        self._signer = URLSafeTimedSerializer(cookie_key(settings.state_dir), salt="spbe-portal-sso-flow")
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._keys: tuple[float, KeySet] | None = None

    @property
    def max_age(self) -> int:
        return self._settings.portal.login_flow_s

    def _secret(self) -> str | None:
        name = self._client.client_secret_secret
        return self._settings.secret(name).get_secret_value() if name else None

    def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata[0] > _DISCOVERY_TTL_S:
            body = self._get(self._client.discovery_url)
            for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(body.get(key), str):
                    raise UnavailableError(f"the identity provider's discovery document has no {key}")
            self._metadata = (time.monotonic(), body)
        return self._metadata[1]

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self._client.timeout_s)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UnavailableError(f"the identity provider cannot be reached: {type(exc).__name__}") from None
        if not isinstance(body, dict):
            raise UnavailableError("the identity provider answered with something that is not a JSON object")
        return body

    def _session(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(self._client.client_id, self._secret(), scope=self._client.scope,
                             redirect_uri=redirect_uri, code_challenge_method="S256")

    def begin(self, redirect_uri: str, target: str) -> tuple[str, str]:
        """(the provider's authorization URL, the signed flow cookie's value)."""
        flow = Flow(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                    verifier=secrets.token_urlsafe(64), target=target)
        with self._session(redirect_uri) as session:
            url, _ = session.create_authorization_url(self.metadata()["authorization_endpoint"], state=flow.state,
                                                      code_verifier=flow.verifier, nonce=flow.nonce)
        cookie = self._signer.dumps({"s": flow.state, "n": flow.nonce, "v": flow.verifier, "t": target})
        return str(url), cookie

    def flow(self, cookie: str | None, state: str | None) -> Flow:
        """The flow this browser started, checked: `AuthenticationError` when the cookie is missing,
        forged, too old, or was made for another ``state``."""
        if not cookie or not state:
            raise AuthenticationError("SSO login refused", reason="no flow cookie or no state")
        try:
            data = self._signer.loads(cookie, max_age=self.max_age)
        except BadSignature:
            raise AuthenticationError("SSO login refused", reason="flow cookie invalid or expired") from None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "snvt"):
            raise AuthenticationError("SSO login refused", reason="flow cookie malformed")
        if not secrets.compare_digest(data["s"].encode(), state.encode("utf-8", "replace")):
            raise AuthenticationError("SSO login refused", reason="state mismatch")
        return Flow(state=data["s"], nonce=data["n"], verifier=data["v"], target=data["t"])

    def finish(self, flow: Flow, redirect_uri: str, code: str) -> Identity:
        """Exchange ``code`` with the flow's verifier and check the ID token; the person it names."""
        metadata = self.metadata()
        try:
            with self._session(redirect_uri) as session:
                token = session.fetch_token(metadata["token_endpoint"], grant_type="authorization_code", code=code,
                                            code_verifier=flow.verifier, timeout=self._client.timeout_s)
        except Exception as exc:  # noqa: BLE001 - Authlib's and httpx's errors alike: the login is refused
            raise AuthenticationError("SSO login refused", reason=f"token exchange failed: {type(exc).__name__}") \
                from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise AuthenticationError("SSO login refused", reason="no ID token")
        claims = self._verify(id_token, flow.nonce, str(metadata["issuer"]))
        username = claims.get(self._client.username_claim)
        if not isinstance(username, str) or not username:
            raise AuthenticationError("SSO login refused", reason=f"no {self._client.username_claim} claim")
        return Identity(username=username, subject=str(claims["sub"]))

    def _key_set(self, refresh: bool = False) -> KeySet:
        if refresh or self._keys is None or time.monotonic() - self._keys[0] > _DISCOVERY_TTL_S:
            self._keys = (time.monotonic(), KeySet.import_key_set(self._get(self.metadata()["jwks_uri"])))  # type: ignore[arg-type]
        return self._keys[1]

    def _verify(self, id_token: str, nonce: str, issuer: str) -> dict[str, Any]:
        registry = jwt.JWTClaimsRegistry(iss={"essential": True, "value": issuer},
                                         aud={"essential": True, "value": self._client.client_id},
                                         nonce={"essential": True, "value": nonce},
                                         exp={"essential": True}, sub={"essential": True}, leeway=60)
        for refresh in (False, True):  # a key rotated at the provider: fetch the set once more
            try:
                decoded = jwt.decode(id_token, self._key_set(refresh), algorithms=["RS256", "ES256", "PS256"])
                registry.validate(decoded.claims)
                return dict(decoded.claims)
            except JoseError as exc:
                reason = f"ID token refused: {type(exc).__name__}"
        raise AuthenticationError("SSO login refused", reason=reason)
