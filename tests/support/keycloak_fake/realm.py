"""The data of one realm of the Keycloak fake, and the rules Keycloak applies to it.

Representations follow Keycloak 24's admin REST API (ClientRepresentation, UserRepresentation,
RoleRepresentation, UserSessionRepresentation): field names, the ``service-account-<clientId>``
user created with a service-account client, the ``default-roles-<realm>`` composite every user
gets, service-account users hidden from user search, client roles living on their client. This
module has no HTTP in it; `server` maps requests onto it.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.support.keycloak_fake.signing import RealmKeys

# The realm-management client roles the fake checks on admin calls (Keycloak has more).
ADMIN_ROLES = ("manage-clients", "view-clients", "manage-users", "view-users", "view-realm", "manage-realm")


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Role:
    name: str
    description: str | None = None
    container_id: str = ""
    client_role: bool = False
    composites: set[str] = field(default_factory=set)  # realm role names only
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def rep(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description or "",
                "composite": bool(self.composites), "clientRole": self.client_role, "containerId": self.container_id}


@dataclass
class Client:
    client_id: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    name: str | None = None
    description: str | None = None
    enabled: bool = True
    public_client: bool = False
    bearer_only: bool = False
    service_accounts_enabled: bool = False
    standard_flow_enabled: bool = True
    direct_access_grants_enabled: bool = False
    secret: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    not_before: int = 0

    def rep(self) -> dict[str, Any]:
        rep: dict[str, Any] = {
            "id": self.id, "clientId": self.client_id, "name": self.name or "", "description": self.description or "",
            "enabled": self.enabled, "publicClient": self.public_client, "bearerOnly": self.bearer_only,
            "serviceAccountsEnabled": self.service_accounts_enabled,
            "standardFlowEnabled": self.standard_flow_enabled,
            "directAccessGrantsEnabled": self.direct_access_grants_enabled,
            "clientAuthenticatorType": "client-secret", "protocol": "openid-connect",
            "attributes": dict(self.attributes), "notBefore": self.not_before,
        }
        if not self.public_client and self.secret is not None:
            rep["secret"] = self.secret
        return rep


@dataclass
class User:
    username: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    enabled: bool = True
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    password: str | None = None
    realm_roles: set[str] = field(default_factory=set)
    client_roles: dict[str, set[str]] = field(default_factory=dict)  # client internal id -> role names
    service_account_client: str | None = None  # internal id of the client it belongs to
    created: int = field(default_factory=_now_ms)

    def rep(self) -> dict[str, Any]:
        rep: dict[str, Any] = {
            "id": self.id, "username": self.username, "enabled": self.enabled, "emailVerified": False,
            "createdTimestamp": self.created, "totp": False, "disableableCredentialTypes": [],
            "requiredActions": [], "notBefore": 0, "attributes": {k: list(v) for k, v in self.attributes.items()},
        }
        for key, value in (("email", self.email), ("firstName", self.first_name), ("lastName", self.last_name)):
            if value is not None:
                rep[key] = value
        if self.service_account_client:
            rep["serviceAccountClientId"] = self.service_account_client
        return rep


@dataclass
class Session:
    user_id: str
    client_ids: set[str]
    ip: str = "127.0.0.1"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    start: int = field(default_factory=_now_ms)

    def rep(self, realm: Realm) -> dict[str, Any]:
        user = realm.users[self.user_id]
        return {"id": self.id, "username": user.username, "userId": user.id, "ipAddress": self.ip,
                "start": self.start, "lastAccess": self.start, "rememberMe": False,
                "clients": {cid: realm.clients[cid].client_id for cid in self.client_ids if cid in realm.clients}}


class Realm:
    def __init__(self, name: str) -> None:
        self.name = name
        self.id = str(uuid.uuid4())
        self.keys = RealmKeys(name)
        self.clients: dict[str, Client] = {}
        self.users: dict[str, User] = {}
        self.roles: dict[str, Role] = {}
        self.sessions: dict[str, Session] = {}
        self.access_token_lifespan = 300
        for role in ("offline_access", "uma_authorization"):
            self.add_role(role, f"${{role_{role}}}")
        self.add_role(f"default-roles-{name}", "${role_default-roles}",
                      composites={"offline_access", "uma_authorization"})
        management = self.add_client(Client(client_id="realm-management", bearer_only=True,
                                            standard_flow_enabled=False))
        for role in ADMIN_ROLES:
            management.roles[role] = Role(role, container_id=management.id, client_role=True)

    # -- roles ---------------------------------------------------------------------------------
    def add_role(self, name: str, description: str | None = None, composites: set[str] | None = None) -> Role:
        role = Role(name, description, container_id=self.id, composites=set(composites or ()))
        self.roles[name] = role
        return role

    def effective_realm_roles(self, user: User) -> set[str]:
        seen: set[str] = set()
        todo = list(user.realm_roles)
        while todo:
            name = todo.pop()
            if name in seen or name not in self.roles:
                continue
            seen.add(name)
            todo.extend(self.roles[name].composites)
        return seen

    # -- clients -------------------------------------------------------------------------------
    def client_by_client_id(self, client_id: str) -> Client | None:
        return next((c for c in self.clients.values() if c.client_id == client_id), None)

    def add_client(self, client: Client) -> Client:
        if not client.public_client and not client.bearer_only and client.secret is None:
            client.secret = secrets.token_urlsafe(24)
        self.clients[client.id] = client
        if client.service_accounts_enabled:
            self.ensure_service_account(client)
        return client

    def ensure_service_account(self, client: Client) -> User:
        existing = next((u for u in self.users.values() if u.service_account_client == client.id), None)
        if existing is not None:
            return existing
        user = User(username=f"service-account-{client.client_id}".lower(), service_account_client=client.id,
                    realm_roles={f"default-roles-{self.name}"})
        self.users[user.id] = user
        return user

    def remove_client(self, internal_id: str) -> None:
        client = self.clients.pop(internal_id)
        for user in list(self.users.values()):
            if user.service_account_client == client.id:
                del self.users[user.id]
            user.client_roles.pop(client.id, None)
        for session in self.sessions.values():
            session.client_ids.discard(client.id)

    # -- users ---------------------------------------------------------------------------------
    def user_by_username(self, username: str) -> User | None:
        return next((u for u in self.users.values() if u.username == username.lower()), None)

    def add_user(self, username: str, **fields: Any) -> User:
        user = User(username=username.lower(), **fields)
        user.realm_roles.add(f"default-roles-{self.name}")
        self.users[user.id] = user
        return user

    def sessions_of(self, user_id: str) -> list[Session]:
        return [s for s in self.sessions.values() if s.user_id == user_id]

    def logout(self, user_id: str) -> int:
        ended = [s.id for s in self.sessions_of(user_id)]
        for session_id in ended:
            del self.sessions[session_id]
        return len(ended)

    # -- tokens --------------------------------------------------------------------------------
    def token_claims(self, issuer: str, client: Client, user: User, session: Session | None) -> dict[str, Any]:
        """An access token as Keycloak 24 builds it: roles of the user, ``aud`` resolved from the
        clients whose roles it carries (other than the requesting one), ``azp`` the requester."""
        now = int(time.time())
        resource_access: dict[str, dict[str, list[str]]] = {}
        for internal_id, names in user.client_roles.items():
            owner = self.clients.get(internal_id)
            if owner is not None and names:
                resource_access[owner.client_id] = {"roles": sorted(names)}
        audience = sorted(cid for cid in resource_access if cid != client.client_id)
        claims: dict[str, Any] = {
            "exp": now + self.access_token_lifespan, "iat": now, "jti": str(uuid.uuid4()), "iss": issuer,
            "sub": user.id, "typ": "Bearer", "azp": client.client_id, "acr": "1",
            "realm_access": {"roles": sorted(self.effective_realm_roles(user))},
            "resource_access": resource_access, "scope": "openid profile email", "email_verified": False,
            "preferred_username": user.username,
        }
        if audience:
            claims["aud"] = audience[0] if len(audience) == 1 else audience
        if session is not None:
            claims["sid"] = claims["session_state"] = session.id
        if user.service_account_client:
            claims["client_id"] = client.client_id
            claims["clientHost"] = claims["clientAddress"] = "127.0.0.1"
        return claims

    def is_active(self, claims: dict[str, Any]) -> bool:
        """What Keycloak's introspection checks: not expired, client and user still enabled, the
        session (if any) still open, and not issued before a not-before policy."""
        if int(claims.get("exp", 0)) <= int(time.time()) or claims.get("typ") != "Bearer":
            return False
        client = self.client_by_client_id(str(claims.get("azp", "")))
        user = self.users.get(str(claims.get("sub", "")))
        if client is None or user is None or not client.enabled or not user.enabled:
            return False
        if int(claims.get("iat", 0)) < client.not_before:
            return False
        sid = claims.get("sid")
        return sid is None or sid in self.sessions
