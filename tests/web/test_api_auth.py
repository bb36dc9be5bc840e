"""Who may call the API at all: no credential, tokens (scope, expiry, revocation), OIDC bearer JWTs (issuer,
audience, lifetime, key), and the portal's session cookie with its CSRF header. Real server, real HTTP."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from pydantic import SecretStr

from tests.web.conftest import AUDIENCE, Front
from toolkit.accounts.service import open_accounts
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.web.auth import CSRF_HEADER, SESSION_COOKIE

PUBLIC = {"/healthz", "/readyz"}
OUTSIDE_THE_SCHEMA = [("GET", "/metrics"), ("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs")]


def _schema(front: Front) -> dict[str, Any]:
    with front.client("sari") as c:
        response = c.get("/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def _routes(front: Front) -> list[tuple[str, str]]:
    routes = []
    for path, methods in _schema(front)["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        routes += [(method.upper(), "/api/v1" + concrete) for method in methods]
    return routes


@pytest.mark.slow  # several processes or a whole-tree scan: the full suite runs it, the fast tier does not
def test_every_route_but_health_needs_a_credential(front: Front) -> None:
    routes = _routes(front) + OUTSIDE_THE_SCHEMA
    assert len(routes) > 25  # the walk found the API, not an empty document
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer spbe_pat_0000000000000000_" + "A" * 43},
                        {"Authorization": "Basic c2FyaTpzYXJp"}, {"Cookie": f"{SESSION_COOKIE}={'A' * 43}"}):
            response = httpx.request(method, front.url + path, headers=headers, json={}, timeout=30)
            assert response.status_code == 401, (method, path, headers, response.text)
            body = response.json()
            assert body["error"] == "unauthenticated" and body["fields"] == []
    for path in PUBLIC:
        assert httpx.get(front.url + path).status_code == 200


def test_scopes_read_for_get_act_for_changes(front: Front) -> None:
    ticket = front.open_ticket()
    with front.client("sari", scope="read") as c:
        assert c.get(f"/tickets/{ticket['id']}").status_code == 200
        refused = c.post(f"/tickets/{ticket['id']}/check")
        assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"
    with front.client("sari") as c:
        assert c.get(f"/tickets/{ticket['id']}").json()["current_step"] == "pemeriksaan"  # nothing happened


def test_revoked_and_expired_tokens_are_refused(front: Front) -> None:
    accounts = open_accounts(front.app)
    try:
        made = accounts.tokens.create(Principal(user="andi", auth=AuthMethod.LAB_AS), "andi", "1h", "read")
        token = made.secret.get_secret_value()
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(front.api + "/tickets", headers=headers).status_code == 200
        accounts.tokens.revoke(Principal(user="andi", auth=AuthMethod.LAB_AS), made.token.id)
        revoked = httpx.get(front.api + "/tickets", headers=headers)
        assert revoked.status_code == 401

        short = accounts.tokens.create(Principal(user="andi", auth=AuthMethod.LAB_AS), "andi", "1h", "read")
        headers = {"Authorization": f"Bearer {short.secret.get_secret_value()}"}
        assert httpx.get(front.api + "/tickets", headers=headers).status_code == 200
        front.clock.advance(timedelta(hours=1, seconds=1))
        expired = httpx.get(front.api + "/tickets", headers=headers)
        assert expired.status_code == 401 and expired.headers["www-authenticate"].startswith("Bearer")
        assert expired.json()["message"] == revoked.json()["message"]  # one sentence for every cause
    finally:
        accounts.close()
    front.tokens.clear()  # the cached tokens of this module were made before the clock moved


def _jwt(front: Front, key: Any = None, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": front.jwks.issuer, "aud": AUDIENCE, "sub": "s-1", "preferred_username": "sari",
            "iat": now, "exp": now + 300} | claims
    body = {k: v for k, v in body.items() if v is not None}
    signer = key or front.jwks.key
    header = {"alg": "RS256", "kid": signer.kid} if isinstance(signer, RSAKey) else {"alg": "HS256"}
    return jwt.encode(header, body, signer, algorithms=["RS256", "HS256"])


def _as_bearer(front: Front, token: str) -> httpx.Response:
    return httpx.get(front.api + "/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_oidc_bearer_token_is_verified_against_the_jwks(front: Front) -> None:
    good = _as_bearer(front, _jwt(front))
    assert good.status_code == 200, good.text
    assert good.json()["user"] == "sari" and good.json()["auth"] == "oidc"
    now = int(time.time())
    other = RSAKey.generate_key(2048, parameters={"kid": front.jwks.key.kid})  # same key id, another key
    bad = {
        "wrong issuer": _jwt(front, iss="https://elsewhere.example"),
        "wrong audience": _jwt(front, aud="another-client"),
        "expired": _jwt(front, exp=now - 5),
        "not yet valid": _jwt(front, nbf=now + 600),
        "no expiry": _jwt(front, exp=None),
        "other key": _jwt(front, key=other),
        "symmetric": _jwt(front, key=OctKey.generate_key(256)),
        "unknown person": _jwt(front, preferred_username="mallory"),
        "hostile username": _jwt(front, preferred_username="../root"),
        "garbage": "a.b.c",
    }
    for why, token in bad.items():
        response = _as_bearer(front, token)
        assert response.status_code == 401, (why, response.text)
        assert response.json()["error"] == "unauthenticated"


def test_an_oidc_principal_is_audited_as_oidc(front: Front) -> None:
    ticket = front.open_ticket()
    token = _jwt(front)  # sari, the koordinator
    response = httpx.post(f"{front.api}/tickets/{ticket['id']}/check", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    checks = [e for e in front.audit("ticket.check") if e.ticket_id == ticket["id"]]
    assert [(e.actor, e.data["auth"]) for e in checks] == [("sari", "oidc")]
    opened = [e for e in front.audit("ticket.open") if e.ticket_id == ticket["id"]]
    assert [(e.actor, e.data["auth"]) for e in opened] == [("andi", "token")]


@pytest.fixture
def session(front: Front) -> tuple[str, str]:
    """A portal login of rina (as the portal makes it): the session id and its CSRF token."""
    accounts = open_accounts(front.app)
    try:
        password = SecretStr("kata-sandi-uji-yang-panjang-91")
        if accounts.store.get("kadis") is None:
            accounts.admin.add(Principal(user="sari", auth=AuthMethod.LAB_AS), "kadis", password)
        made = accounts.login("kadis", password)
        return made.session_id.get_secret_value(), made.session.csrf_token.get_secret_value()
    finally:
        accounts.close()


def test_session_cookie_reads_and_acts_only_with_its_csrf_token(front: Front, session: tuple[str, str]) -> None:
    session_id, csrf = session
    ticket = front.open_ticket()
    with front.client("sari") as c:
        assert c.post(f"/tickets/{ticket['id']}/check").status_code == 200
    cookies = {SESSION_COOKIE: session_id}
    url = f"{front.api}/tickets/{ticket['id']}"
    assert httpx.get(url, cookies=cookies).json()["ticket"]["status"] == "open"
    for headers in ({}, {CSRF_HEADER: "0" * 64}, {CSRF_HEADER: csrf[:-1]}):
        refused = httpx.post(url + "/approve", json={"reason": "setuju"}, cookies=cookies, headers=headers)
        assert refused.status_code == 403, refused.text
    assert httpx.get(url, cookies=cookies).json()["current_step"] == "persetujuan"
    done = httpx.post(url + "/approve", json={"reason": "setuju"}, cookies=cookies, headers={CSRF_HEADER: csrf})
    assert done.status_code == 200, done.text
    approvals = [e for e in front.audit("ticket.approve") if e.ticket_id == ticket["id"]]
    assert [(e.actor, e.data["auth"]) for e in approvals] == [("kadis", "session")]


def test_a_token_revokes_itself_whatever_its_scope(front: Front, session: tuple[str, str]) -> None:
    """`DELETE /me/token` (what `spbe logout` calls) ends the token in hand, a read one too; a request
    proved otherwise has no token to end, and a session still needs its CSRF header to ask."""
    made = front.token("budi", "read", expires="6h")
    other = front.token("budi", "act", expires="6h")
    header = {"Authorization": f"Bearer {made}"}
    assert httpx.delete(front.api + "/me/token").status_code == 401
    assert httpx.delete(front.api + "/me/token", headers=header).status_code == 204
    assert httpx.get(front.api + "/me", headers=header).status_code == 401
    assert httpx.delete(front.api + "/me/token", headers=header).status_code == 401
    assert _as_bearer(front, other).status_code == 200  # only the token in hand
    token_id = made.split("_")[2]
    assert [(e.actor, e.data["token_id"], e.data["auth"]) for e in front.audit("token.revoke")
            if e.data["token_id"] == token_id] == [("budi", token_id, "token")]
    oidc = httpx.delete(front.api + "/me/token", headers={"Authorization": f"Bearer {_jwt(front)}"})
    assert oidc.status_code == 409 and oidc.json()["error"] == "conflict"
    session_id, csrf = session
    cookies = {SESSION_COOKIE: session_id}
    assert httpx.delete(front.api + "/me/token", cookies=cookies).status_code == 403
    assert httpx.delete(front.api + "/me/token", cookies=cookies, headers={CSRF_HEADER: csrf}).status_code == 409
