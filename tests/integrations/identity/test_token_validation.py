"""Our token validation refuses every token it must, with real cryptography: tokens are signed by the
Keycloak FAKE's realm key (tests/support/keycloak_fake; Keycloak cannot run here), by a stranger's
key, or not at all, and checked against the JWKS the fake publishes over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from pydantic import SecretStr

from integrations.identity.keycloak import KeycloakIdentityProvider
from tests.support.keycloak_fake import KeycloakFake
from tests.support.keycloak_fake.signing import RsaKey
from toolkit.errors import ConfigurationError, PermissionDeniedError
from toolkit.masking import Masker
from toolkit.ports.identity_provider import ConsumerClientSpec
from toolkit.settings import Settings


@pytest.fixture
def idp(idp_settings: Settings) -> KeycloakIdentityProvider:
    return KeycloakIdentityProvider(settings=idp_settings, masker=Masker(), jwks_min_refresh_s=0)


@pytest.fixture
def good_claims(idp: KeycloakIdentityProvider, keycloak: KeycloakFake) -> dict[str, Any]:
    """The claims of a real token of a consumer client, to tamper with."""
    import jwt

    idp.ensure_consumer_client(ConsumerClientSpec(client_id="app-uji", name="Aplikasi Uji", api_role="kependudukan"))
    token = idp.client_credentials_token("app-uji", idp.client_secret("app-uji")).token.get_secret_value()
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign_with(key: RsaKey, claims: dict[str, Any], kid: str | None = None) -> SecretStr:
    import jwt

    return SecretStr(jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": kid or key.kid}))


def _realm_key(keycloak: KeycloakFake) -> RsaKey:
    return keycloak.realm("spbe").keys.active


def test_the_untampered_token_passes(idp: KeycloakIdentityProvider, keycloak: KeycloakFake,
                                     good_claims: dict[str, Any]) -> None:
    claims = idp.validate_token(_sign_with(_realm_key(keycloak), good_claims), required_role="kependudukan")
    assert claims.authorized_party == "app-uji"


@pytest.mark.parametrize(("change", "reason"), [
    ({"exp": int(time.time()) - 120}, "expired"),
    ({"iss": "http://127.0.0.1:1/realms/spbe"}, "issued by another issuer"),
    ({"typ": "ID"}, "not an access token"),
    ({"typ": "Refresh"}, "not an access token"),
    ({"aud": "account"}, "not meant for 'spbe-gateway'"),
    ({"iat": int(time.time()) + 3600}, "not valid yet"),
    ({"nbf": int(time.time()) + 3600}, "not valid yet"),
    ({"exp": None}, "'exp' is missing"),
    ({"sub": None}, "'sub' is missing"),
])
def test_claims_that_must_not_pass(idp: KeycloakIdentityProvider, keycloak: KeycloakFake,
                                   good_claims: dict[str, Any], change: dict[str, Any], reason: str) -> None:
    claims = {k: v for k, v in {**good_claims, **change}.items() if v is not None}
    with pytest.raises(PermissionDeniedError, match=reason):
        idp.validate_token(_sign_with(_realm_key(keycloak), claims))


def test_a_stranger_key_does_not_verify(idp: KeycloakIdentityProvider, keycloak: KeycloakFake,
                                        good_claims: dict[str, Any]) -> None:
    stranger = RsaKey("spbe")
    with pytest.raises(PermissionDeniedError, match="signature does not verify"):
        idp.validate_token(_sign_with(stranger, good_claims, kid=_realm_key(keycloak).kid))
    with pytest.raises(PermissionDeniedError, match="key the issuer does not publish"):
        idp.validate_token(_sign_with(stranger, good_claims))


def test_algorithm_confusion_is_refused(idp: KeycloakIdentityProvider, keycloak: KeycloakFake,
                                       good_claims: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives import serialization

    body = _b64(json.dumps(good_claims).encode())
    kid = _realm_key(keycloak).kid
    unsigned = f"{_b64(json.dumps({'alg': 'none', 'kid': kid}).encode())}.{body}."
    with pytest.raises(PermissionDeniedError, match="algorithm 'none' is not accepted"):
        idp.validate_token(SecretStr(unsigned))
    public_pem = _realm_key(keycloak).private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'kid': kid}).encode())}.{body}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(PermissionDeniedError, match="algorithm 'HS256' is not accepted"):
        idp.validate_token(SecretStr(f"{signing_input}.{_b64(mac)}"))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 5000, "eyJhbGciOiJSUzI1NiJ9.e30."])
def test_garbage_is_refused_without_quoting_it(idp: KeycloakIdentityProvider, garbage: str) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        idp.validate_token(SecretStr(garbage))
    assert len(garbage) < 4 or garbage not in str(info.value)


def test_a_rotated_realm_key_is_picked_up(idp: KeycloakIdentityProvider, keycloak: KeycloakFake,
                                          good_claims: dict[str, Any]) -> None:
    idp.validate_token(_sign_with(_realm_key(keycloak), good_claims))  # JWKS now cached
    old = _realm_key(keycloak)
    keycloak.realm("spbe").keys.rotate(retire_old=True)
    idp.validate_token(_sign_with(_realm_key(keycloak), good_claims))  # unknown kid: JWKS fetched again
    with pytest.raises(PermissionDeniedError, match="key the issuer does not publish"):
        idp.validate_token(_sign_with(old, good_claims))


def test_refetching_keys_is_rate_limited(idp_settings: Settings, keycloak: KeycloakFake,
                                         good_claims: dict[str, Any]) -> None:
    """A flood of tokens with made-up key ids must not become a flood of requests to Keycloak."""
    limited = KeycloakIdentityProvider(settings=idp_settings, jwks_min_refresh_s=3600)
    stranger = RsaKey("spbe")
    for _ in range(5):
        with pytest.raises(PermissionDeniedError):
            limited.validate_token(_sign_with(stranger, good_claims))
    assert sum(path.endswith("/certs") for _, path in keycloak.requests) == 1


def test_validation_needs_something_to_check_the_audience_against() -> None:
    from integrations.identity.jwt_validation import JwksCache, validate_access_token

    with pytest.raises(ConfigurationError):
        validate_access_token("a.b.c", keys=JwksCache(lambda: {"keys": []}), issuer="x")
