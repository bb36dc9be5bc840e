"""The OIDC endpoints of the Keycloak fake (Keycloak 24 behaviour; see `server` for the scope).

Client authentication is ``client_secret_post`` or ``client_secret_basic``. The refusals are the
ones Keycloak gives: a wrong or unknown secret is 401 ``unauthorized_client`` "Invalid client or
Invalid client credentials"; a disabled client is 400 ``unauthorized_client`` "Invalid client
credentials"; a client without a service account asking for client credentials is 401
``unauthorized_client``; bad user credentials are 401 ``invalid_grant``; a disabled account is 400
``invalid_grant`` "Account disabled".
"""

from __future__ import annotations

import hmac
import time
import uuid
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from tests.support.keycloak_fake.realm import Client, Realm, Session, User
from tests.support.keycloak_fake.responses import error, fail, json_response

if TYPE_CHECKING:
    from tests.support.keycloak_fake.server import KeycloakFake

_BAD_CLIENT = "Invalid client or Invalid client credentials"
REFRESH_LIFESPAN = 1800


def handle(fake: KeycloakFake, realm: Realm, request: Request, rest: list[str]) -> Response:
    issuer = fake.issuer(request, realm)
    if rest == [".well-known", "openid-configuration"] and request.method == "GET":
        return json_response(_discovery(issuer))
    if rest[:2] != ["protocol", "openid-connect"]:
        return error(404, "HTTP 404 Not Found")
    endpoint = rest[2:]
    if endpoint == ["certs"] and request.method == "GET":
        return json_response(realm.keys.jwks())
    if endpoint == ["token"] and request.method == "POST":
        return _token(fake, realm, request, issuer)
    if endpoint == ["token", "introspect"] and request.method == "POST":
        return _introspect(fake, realm, request, issuer)
    return error(405 if endpoint in (["certs"], ["token"], ["token", "introspect"]) else 404, "HTTP 404 Not Found")


def _discovery(issuer: str) -> dict[str, Any]:
    oidc = f"{issuer}/protocol/openid-connect"
    return {
        "issuer": issuer, "authorization_endpoint": f"{oidc}/auth", "token_endpoint": f"{oidc}/token",
        "introspection_endpoint": f"{oidc}/token/introspect", "userinfo_endpoint": f"{oidc}/userinfo",
        "end_session_endpoint": f"{oidc}/logout", "jwks_uri": f"{oidc}/certs",
        "grant_types_supported": ["authorization_code", "client_credentials", "password", "refresh_token"],
        "response_types_supported": ["code", "id_token", "token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["openid", "profile", "email", "roles"],
    }


def _authenticate(fake: KeycloakFake, realm: Realm, request: Request) -> Client:
    basic = fake.basic_auth(request)
    client_id = basic[0] if basic else request.form.get("client_id", "")
    secret = basic[1] if basic else request.form.get("client_secret", "")
    if not client_id:
        raise fail(400, "Missing parameter: client_id", oauth="invalid_client")
    client = realm.client_by_client_id(client_id)
    if client is None:
        raise fail(401, _BAD_CLIENT, oauth="unauthorized_client")
    if not client.enabled:
        raise fail(400, "Invalid client credentials", oauth="unauthorized_client")
    if client.bearer_only:
        raise fail(400, "Bearer-only not allowed", oauth="unauthorized_client")
    if client.public_client:
        return client
    if not secret or client.secret is None or not hmac.compare_digest(secret.encode(), client.secret.encode()):
        raise fail(401, _BAD_CLIENT, oauth="unauthorized_client")
    return client


def _token(fake: KeycloakFake, realm: Realm, request: Request, issuer: str) -> Response:
    client = _authenticate(fake, realm, request)
    grant = request.form.get("grant_type", "")
    session: Session | None = None
    if grant == "client_credentials":
        if client.public_client:
            raise fail(401, "Public client not allowed to retrieve service account", oauth="unauthorized_client")
        if not client.service_accounts_enabled:
            raise fail(401, "Client not enabled to retrieve service account", oauth="unauthorized_client")
        user = realm.ensure_service_account(client)
    elif grant == "password":
        if not client.direct_access_grants_enabled:
            raise fail(400, "Client not allowed for direct access grants", oauth="unauthorized_client")
        user = _password_user(realm, request)
        session = Session(user_id=user.id, client_ids={client.id}, ip=request.remote_addr or "127.0.0.1")
        realm.sessions[session.id] = session
    elif grant == "refresh_token":
        user, session = _refresh(realm, request, client)
    else:
        raise fail(400, "Unsupported grant_type", oauth="unsupported_grant_type")
    if not user.enabled:
        raise fail(400, "Account disabled", oauth="invalid_grant")
    claims = realm.token_claims(issuer, client, user, session)
    body: dict[str, Any] = {
        "access_token": realm.keys.sign(claims), "expires_in": realm.access_token_lifespan,
        "refresh_expires_in": 0, "token_type": "Bearer", "not-before-policy": 0, "scope": claims["scope"],
    }
    if "openid" in request.form.get("scope", "").split():
        body["id_token"] = realm.keys.sign(_id_token(claims, client))
    if session is not None:
        body["session_state"] = session.id
        body["refresh_expires_in"] = REFRESH_LIFESPAN
        body["refresh_token"] = realm.keys.sign_refresh({
            "exp": int(time.time()) + REFRESH_LIFESPAN, "iat": int(time.time()), "jti": str(uuid.uuid4()),
            "iss": issuer, "aud": issuer, "sub": user.id, "typ": "Refresh", "azp": client.client_id,
            "sid": session.id})
    return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _password_user(realm: Realm, request: Request) -> User:
    username = request.form.get("username", "")
    user = realm.user_by_username(username) if username else None
    if user is None or user.service_account_client is not None or user.password is None or not hmac.compare_digest(
            request.form.get("password", "").encode(), user.password.encode()):
        raise fail(401, "Invalid user credentials", oauth="invalid_grant")
    if not user.enabled:  # checked before any session exists, as Keycloak's authenticator does
        raise fail(400, "Account disabled", oauth="invalid_grant")
    return user


def _refresh(realm: Realm, request: Request, client: Client) -> tuple[User, Session]:
    claims = realm.keys.verify_refresh(request.form.get("refresh_token", ""))
    if claims is None or claims.get("typ") != "Refresh":
        raise fail(400, "Invalid refresh token", oauth="invalid_grant")
    if claims.get("azp") != client.client_id:
        raise fail(400, "Invalid refresh token. Token client and authorized client don't match", oauth="invalid_grant")
    session = realm.sessions.get(str(claims.get("sid")))
    user = realm.users.get(str(claims.get("sub")))
    if session is None or user is None:
        raise fail(400, "Session not active", oauth="invalid_grant")
    return user, session


def _id_token(access: dict[str, Any], client: Client) -> dict[str, Any]:
    kept = ("exp", "iat", "iss", "sub", "azp", "preferred_username", "email_verified", "acr")
    claims: dict[str, Any] = {k: access[k] for k in kept if k in access}
    claims.update({"jti": str(uuid.uuid4()), "aud": client.client_id, "typ": "ID"})
    if "sid" in access:
        claims["sid"] = access["sid"]
    return claims


def _introspect(fake: KeycloakFake, realm: Realm, request: Request, issuer: str) -> Response:
    client = _authenticate(fake, realm, request)
    if client.public_client:
        raise fail(403, "Client not allowed.", oauth="invalid_request")
    claims = realm.keys.verify(request.form.get("token", ""))
    if claims is None or claims.get("iss") != issuer or not realm.is_active(claims):
        return json_response({"active": False})
    return json_response({**claims, "active": True, "client_id": claims.get("azp"),
                          "username": claims.get("preferred_username"), "token_type": "Bearer"})
