"""The OIDC provider fixture works for real: Authlib's client runs the authorization code flow with PKCE
(S256) against it, and the ID token verifies against the provider's JWKS (joserfc, Authlib's JOSE library).

The mock does not enforce PKCE (../shared/PEERS.md): these tests prove that our client sends a correct
S256 challenge and its verifier, not that the provider checks them. The portal's own PKCE checks are
tested on our side."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidClaimError
from joserfc.jwk import KeySet

from tests.fixtures.oidc import OidcClient, OidcProvider

REDIRECT_URI = "http://127.0.0.1:9/oidc/callback"  # never contacted: the test reads the redirect itself


@pytest.fixture
def client(oidc_provider: OidcProvider) -> OidcClient:
    return oidc_provider.register_client(REDIRECT_URI)


@pytest.fixture(autouse=True)
def _plain_http_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Authlib's client refuses an http:// redirect unless told; the provider here is on loopback."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _login_with_pkce(provider: OidcProvider, client: OidcClient, sub: str, nonce: str) -> dict[str, Any]:
    """The whole flow as the portal will run it; returns the token response and what went over the wire."""
    session = OAuth2Session(client.client_id, client.client_secret, scope="openid email profile",
                            redirect_uri=client.redirect_uri, code_challenge_method="S256")
    token_requests: list[requests.PreparedRequest] = []
    session.hooks["response"].append(lambda response, *args, **kwargs: token_requests.append(response.request))
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(provider.metadata["authorization_endpoint"],
                                                  code_verifier=verifier, nonce=nonce)
    callback = provider.login(url, sub)
    token = session.fetch_token(provider.metadata["token_endpoint"], authorization_response=str(callback),
                                code_verifier=verifier)
    return {"token": token, "authorize": parse_qs(urlsplit(url).query), "callback": callback,
            "state": state, "verifier": verifier, "token_request": token_requests[-1]}


def _verify_id_token(provider: OidcProvider, client: OidcClient, id_token: str, nonce: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(httpx.get(provider.metadata["jwks_uri"]).json())
    decoded = jwt.decode(id_token, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": provider.issuer},
                          aud={"essential": True, "value": client.client_id},
                          nonce={"essential": True, "value": nonce},
                          exp={"essential": True}, sub={"essential": True}).validate(decoded.claims)
    return dict(decoded.claims)


def test_authorization_code_flow_with_pkce_and_a_verified_id_token(oidc_provider: OidcProvider,
                                                                   client: OidcClient) -> None:
    oidc_provider.set_user("kadis-flow", {"preferred_username": "kadis", "email": "kadis@example.go.id",
                                          "name": "Kepala Dinas", "spbe_roles": ["kepala-dinas"]})
    nonce = secrets.token_urlsafe(16)
    flow = _login_with_pkce(oidc_provider, client, "kadis-flow", nonce)

    assert flow["authorize"]["code_challenge_method"] == ["S256"]
    assert flow["authorize"]["code_challenge"] == [_s256(flow["verifier"])]
    assert parse_qs(urlsplit(str(flow["callback"])).query)["state"] == [flow["state"]]
    assert f"code_verifier={flow['verifier']}" in flow["token_request"].body

    claims = _verify_id_token(oidc_provider, client, flow["token"]["id_token"], nonce)
    assert claims["sub"] == "kadis-flow"
    assert claims["email"] == "kadis@example.go.id" and claims["preferred_username"] == "kadis"
    assert claims["spbe_roles"] == ["kepala-dinas"]  # a custom claim reaches the token whatever the scope

    userinfo = httpx.get(oidc_provider.metadata["userinfo_endpoint"],
                         headers={"Authorization": f"Bearer {flow['token']['access_token']}"})
    assert userinfo.status_code == 200 and userinfo.json()["email"] == "kadis@example.go.id"


def test_a_tampered_or_foreign_id_token_is_refused(oidc_provider: OidcProvider, client: OidcClient) -> None:
    """The verification above can fail: a changed signature and a nonce from another login are refused."""
    oidc_provider.set_user("pemohon-tamper", {"email": "andi@dinkes.example.go.id"})
    nonce = secrets.token_urlsafe(16)
    id_token = _login_with_pkce(oidc_provider, client, "pemohon-tamper", nonce)["token"]["id_token"]
    header, payload, signature = id_token.split(".")
    forged = ".".join((header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]))
    with pytest.raises(BadSignatureError):
        _verify_id_token(oidc_provider, client, forged, nonce)
    with pytest.raises(InvalidClaimError):
        _verify_id_token(oidc_provider, client, id_token, "another-login")


def test_only_registered_clients_and_their_redirects_may_log_in(oidc_provider: OidcProvider,
                                                                client: OidcClient) -> None:
    """--require-registration: like a Keycloak realm, the provider knows its clients and their redirect URIs."""
    authorize = oidc_provider.metadata["authorization_endpoint"]
    for client_id, redirect in (("tidak-terdaftar", REDIRECT_URI), (client.client_id, "http://127.0.0.1:9/lain")):
        query = httpx.QueryParams({"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
                                   "scope": "openid", "state": "s"})
        with pytest.raises(AssertionError, match="refused the login"):
            oidc_provider.login(f"{authorize}?{query}", "siapa-saja")
