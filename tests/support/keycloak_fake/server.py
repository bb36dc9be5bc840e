"""A FAKE Keycloak: a real HTTP server on 127.0.0.1 that answers the way Keycloak 24 does.

Keycloak cannot run on this machine (no Java distribution of it in the registries), so the
identity adapter is tested against this instead. It follows Keycloak 24's documented admin REST
API and OIDC endpoints as python-keycloak 5 calls them (paths, query parameters, bodies, status
codes, the ``Location`` header of a create, error shapes ``{"errorMessage": ...}`` for admin
conflicts and ``{"error": ..., "error_description": ...}`` for OAuth2 and not-found), signs real
RS256 tokens with a ``kid`` and publishes the JWKS, so token validation in our code is real.

Served:
  OIDC   /realms/{r}/.well-known/openid-configuration, .../protocol/openid-connect/certs,
         .../token (client_credentials, password, refresh_token), .../token/introspect
  Admin  /admin/realms/{r}/clients[?clientId=] (GET, POST), /clients/{id} (GET, PUT, DELETE),
         /clients/{id}/client-secret (GET, POST), /clients/{id}/service-account-user,
         /clients/{id}/roles[/{name}], /users[?username=&exact=&search=], /users/{id} (GET, PUT),
         /users/{id}/logout, /users/{id}/sessions, /users/{id}/role-mappings/realm[/composite],
         /users/{id}/role-mappings/clients/{id} (GET, POST), /roles, /roles/{name}, /roles/{name}/users
Admin calls need a Bearer token of this realm whose user holds the realm-management role the call
needs (or the ``admin`` realm role in ``master``), as in Keycloak.

Not modelled: groups, client scopes and protocol mappers (the audience comes from client roles, as
Keycloak's audience-resolve mapper does by default), user federation, consent, events.

Fault injection for tests: `KeycloakFake.fail` answers the next N matching requests with a status
(401/409/500/...); `slow` carries out the next N matching requests but answers them late (a loaded
Keycloak: the client may give up waiting and resend); `down` closes the listening socket (connection
refused) and `up` reopens it on the same port.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from tests.support.http_listener import Listener
from tests.support.keycloak_fake import admin_api, oidc_api
from tests.support.keycloak_fake.realm import Client, Realm
from tests.support.keycloak_fake.responses import HttpError, error, json_response


@dataclass
class Fault:
    status: int
    method: str | None
    path: re.Pattern[str]
    times: int
    body: Any


class KeycloakFake:
    """One fake server holding any number of realms. Thread-safe: one lock around each request."""

    def __init__(self, port: int = 0) -> None:
        self.realms: dict[str, Realm] = {}
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.delays: list[Fault] = []  # `status` unused: the request is carried out, only answered late
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for assertions
        self._listener = Listener(self._handle, "keycloak-fake", port=port)

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._listener.port

    @property
    def url(self) -> str:
        return self._listener.url

    def start(self) -> KeycloakFake:
        self._listener.start()
        return self

    def stop(self) -> None:
        self._listener.stop()

    def down(self) -> None:
        """Keycloak unreachable: the port refuses connections until `up`."""
        self.stop()

    def up(self) -> None:
        if not self._listener.running:
            self.start()

    def __enter__(self) -> KeycloakFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test set-up ---------------------------------------------------------------------------
    def realm(self, name: str) -> Realm:
        with self.lock:
            if name not in self.realms:
                self.realms[name] = Realm(name)
            return self.realms[name]

    def add_admin_client(self, realm: str, client_id: str, secret: str,
                         roles: tuple[str, ...] = ("manage-clients", "manage-users", "view-realm")) -> Client:
        """A confidential client whose service account may use the admin API (realm-management roles)."""
        with self.lock:
            r = self.realm(realm)
            client = r.add_client(Client(client_id=client_id, secret=secret, service_accounts_enabled=True,
                                         standard_flow_enabled=False))
            management = r.client_by_client_id("realm-management")
            assert management is not None
            r.ensure_service_account(client).client_roles.setdefault(management.id, set()).update(roles)
            return client

    def fail(self, status: int, *, path: str = ".*", method: str | None = None, times: int = 1,
             body: Any = None) -> None:
        """Answer the next ``times`` requests whose path matches the regex ``path`` with ``status``."""
        with self.lock:
            self.faults.append(Fault(status, method.upper() if method else None, re.compile(path), times, body))

    def slow(self, seconds: float, *, path: str = ".*", method: str | None = None, times: int = 1) -> None:
        """Carry out the next ``times`` requests whose path matches ``path``, then answer each only
        after ``seconds`` (outside the lock: other requests, a resent one too, are served meanwhile)."""
        with self.lock:
            self.delays.append(Fault(0, method.upper() if method else None, re.compile(path), times, seconds))

    # -- WSGI ----------------------------------------------------------------------------------
    def _handle(self, request: Request) -> Response:
        with self.lock:
            self.requests.append((request.method, request.path))
            response = self._fault(request) or self._dispatch(request)
            delay = self._delay(request)
        if delay:
            time.sleep(delay)
        return response

    def _delay(self, request: Request) -> float:
        for slow in self.delays:
            if slow.times > 0 and slow.path.search(request.path) and slow.method in (None, request.method):
                slow.times -= 1
                return float(slow.body)
        return 0.0

    def _fault(self, request: Request) -> Response | None:
        for fault in self.faults:
            if fault.times > 0 and fault.path.search(request.path) and fault.method in (None, request.method):
                fault.times -= 1
                body = fault.body if fault.body is not None else {"error": f"injected {fault.status}"}
                return json_response(body, fault.status)
        return None

    def _dispatch(self, request: Request) -> Response:
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        try:
            if len(parts) >= 2 and parts[0] == "realms":
                realm = self.realms.get(parts[1])
                if realm is None:
                    return error(404, "Realm does not exist")
                return oidc_api.handle(self, realm, request, parts[2:])
            if len(parts) >= 3 and parts[:2] == ["admin", "realms"]:
                realm = self.realms.get(parts[2])
                if realm is None:
                    return error(404, "Realm not found.")
                return admin_api.handle(self, realm, request, parts[3:])
        except HttpError as exc:
            return exc.response
        return error(404, "HTTP 404 Not Found")

    # -- shared by the APIs ----------------------------------------------------------------------
    def issuer(self, request: Request, realm: Realm) -> str:
        return f"{request.host_url.rstrip('/')}/realms/{realm.name}"

    def bearer_claims(self, request: Request) -> tuple[Realm, dict[str, Any]] | None:
        """The verified, active claims of the request's Bearer token, and the realm that issued it."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        token = header[len("Bearer "):]
        for realm in self.realms.values():
            claims = realm.keys.verify(token)
            if claims is not None and claims.get("iss") == self.issuer(request, realm) and realm.is_active(claims):
                return realm, claims
        return None

    @staticmethod
    def basic_auth(request: Request) -> tuple[str, str] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return None
        return unquote(user), unquote(password)

    @staticmethod
    def now() -> int:
        return int(time.time())
