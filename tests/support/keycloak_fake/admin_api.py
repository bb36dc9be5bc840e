"""The admin REST API of the Keycloak fake (Keycloak 24 behaviour; see `server` for the scope).

Details kept from Keycloak because adapters trip on them: create answers 201 with an empty body
and the new id only in ``Location``; updates, deletes, logouts and role-mapping posts answer 204;
``GET /clients?clientId=`` is an exact match returning a list; ``GET /users?username=`` is a
substring match unless ``exact=true``; service-account users are not returned by user search;
``PUT`` applies only the fields present (``{"enabled": false}`` disables); a duplicate ``clientId``
is 409 ``{"errorMessage": "Client <id> already exists"}``; an unknown id is 404.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from tests.support.keycloak_fake.realm import Client, Realm, Role, User
from tests.support.keycloak_fake.responses import error, fail, json_response, no_content

if TYPE_CHECKING:
    from tests.support.keycloak_fake.server import KeycloakFake

_WRITE = {"POST", "PUT", "DELETE"}
_CLIENT_FIELDS = {"name": "name", "description": "description", "enabled": "enabled",
                  "publicClient": "public_client", "bearerOnly": "bearer_only",
                  "serviceAccountsEnabled": "service_accounts_enabled",
                  "standardFlowEnabled": "standard_flow_enabled",
                  "directAccessGrantsEnabled": "direct_access_grants_enabled", "secret": "secret"}
_USER_FIELDS = {"enabled": "enabled", "email": "email", "firstName": "first_name", "lastName": "last_name"}


def _flag(value: str | None, default: bool = False) -> bool:
    return default if value is None else value.lower() == "true"


def _page(request: Request, items: list[Any], default_max: int | None = 100) -> list[Any]:
    first = int(request.args.get("first", "0") or 0)
    maximum = request.args.get("max")
    count = int(maximum) if maximum not in (None, "") else default_max
    return items[first:] if count is None or count < 0 else items[first:first + count]


def _body(request: Request) -> Any:
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise fail(400, "Unable to parse JSON") from None


def _authorise(fake: KeycloakFake, realm: Realm, request: Request, resource: str) -> None:
    found = fake.bearer_claims(request)
    if found is None:
        raise fail(401, "HTTP 401 Unauthorized")
    token_realm, claims = found
    user = token_realm.users.get(str(claims.get("sub")))
    if user is None:
        raise fail(401, "HTTP 401 Unauthorized")
    if token_realm.name == "master" and "admin" in token_realm.effective_realm_roles(user):
        return
    management = realm.client_by_client_id("realm-management")
    held = user.client_roles.get(management.id, set()) if management and token_realm is realm else set()
    needed = {f"manage-{resource}"} if request.method in _WRITE else {f"manage-{resource}", f"view-{resource}"}
    if not held & needed:
        raise fail(403, "HTTP 403 Forbidden")


def handle(fake: KeycloakFake, realm: Realm, request: Request, rest: list[str]) -> Response:
    if not rest:
        return error(404, "HTTP 404 Not Found")
    kind = rest[0]
    resource = {"clients": "clients", "users": "users", "roles": "realm"}.get(kind)
    if resource is None:
        return error(404, "HTTP 404 Not Found")
    if kind == "users" and "role-mappings" in rest and request.method in _WRITE:
        resource = "users"
    _authorise(fake, realm, request, resource)
    base = f"{request.host_url.rstrip('/')}/admin/realms/{realm.name}"
    if kind == "clients":
        return _clients(realm, request, rest[1:], base)
    if kind == "users":
        return _users(realm, request, rest[1:])
    return _roles(realm, request, rest[1:])


# -- clients -----------------------------------------------------------------------------------------
def _client(realm: Realm, internal_id: str) -> Client:
    client = realm.clients.get(internal_id)
    if client is None:
        raise fail(404, "Could not find client")
    return client


def _apply_client(client: Client, rep: dict[str, Any]) -> None:
    for key, attr in _CLIENT_FIELDS.items():
        if rep.get(key) is not None:
            setattr(client, attr, rep[key])
    if isinstance(rep.get("attributes"), dict):
        client.attributes.update({str(k): str(v) for k, v in rep["attributes"].items()})


def _clients(realm: Realm, request: Request, rest: list[str], base: str) -> Response:
    method = request.method
    if not rest:
        if method == "GET":
            wanted = request.args.get("clientId")
            search = _flag(request.args.get("search"))
            found = [c for c in realm.clients.values()
                     if wanted is None or (wanted in c.client_id if search else c.client_id == wanted)]
            return json_response([c.rep() for c in _page(request, found, None)])
        if method == "POST":
            return _create_client(realm, request, base)
        return error(405, "HTTP 405 Method Not Allowed")
    client = _client(realm, rest[0])
    sub = rest[1:]
    if not sub:
        if method == "GET":
            return json_response(client.rep())
        if method == "PUT":
            rep = _body(request)
            if not isinstance(rep, dict):
                raise fail(400, "Unable to parse JSON")
            other = realm.client_by_client_id(str(rep.get("clientId", client.client_id)))
            if other is not None and other is not client:
                raise fail(409, f"Client {rep['clientId']} already exists")
            _apply_client(client, rep)
            if client.service_accounts_enabled:
                realm.ensure_service_account(client)
            return no_content()
        if method == "DELETE":
            realm.remove_client(client.id)
            return no_content()
    elif sub == ["client-secret"]:
        if client.public_client or client.bearer_only:
            raise fail(400, "Client is not confidential")
        if method == "POST":
            client.secret = secrets.token_urlsafe(24)
        return json_response({"type": "secret", "value": client.secret})
    elif sub == ["service-account-user"] and method == "GET":
        if not client.service_accounts_enabled:
            raise fail(400, f"Service account not enabled for the client '{client.client_id}'")
        return json_response(realm.ensure_service_account(client).rep())
    elif sub and sub[0] == "roles":
        return _client_roles(client, request, sub[1:], f"{base}/clients/{client.id}/roles")
    return error(405 if not sub or sub == ["client-secret"] else 404, "HTTP 404 Not Found")


def _create_client(realm: Realm, request: Request, base: str) -> Response:
    rep = _body(request)
    if not isinstance(rep, dict) or not rep.get("clientId"):
        raise fail(400, "Client id is required")  # Keycloak 24 refuses a client without clientId
    if realm.client_by_client_id(str(rep["clientId"])) is not None or str(rep.get("id")) in realm.clients:
        raise fail(409, f"Client {rep['clientId']} already exists")
    client = Client(client_id=str(rep["clientId"]))
    if rep.get("id"):  # Keycloak keeps an id given on create (RepresentationToModel.createClient)
        client.id = str(rep["id"])
    client.standard_flow_enabled = True
    _apply_client(client, rep)
    realm.add_client(client)
    return Response(status=201, headers={"Location": f"{base}/clients/{client.id}"})


def _client_roles(client: Client, request: Request, rest: list[str], location: str) -> Response:
    if not rest:
        if request.method == "GET":
            return json_response([r.rep() for r in sorted(client.roles.values(), key=lambda r: r.name)])
        if request.method == "POST":
            rep = _body(request)
            if not isinstance(rep, dict) or not rep.get("name"):
                raise fail(400, "Role name is required")
            name = str(rep["name"])
            if name in client.roles:
                raise fail(409, f"Role with name {name} already exists")
            client.roles[name] = Role(name, rep.get("description"), container_id=client.id, client_role=True)
            return Response(status=201, headers={"Location": f"{location}/{name}"})
    elif len(rest) == 1 and request.method == "GET":
        role = client.roles.get(rest[0])
        if role is None:
            raise fail(404, "Could not find role")
        return json_response(role.rep())
    return error(404, "HTTP 404 Not Found")


# -- users -------------------------------------------------------------------------------------------
def _user(realm: Realm, user_id: str) -> User:
    user = realm.users.get(user_id)
    if user is None:
        raise fail(404, "User not found")
    return user


def _users(realm: Realm, request: Request, rest: list[str]) -> Response:
    method = request.method
    if not rest:
        if method != "GET":
            return error(405, "HTTP 405 Method Not Allowed")
        return json_response([u.rep() for u in _page(request, _search_users(realm, request))])
    user = _user(realm, rest[0])
    sub = rest[1:]
    if not sub and method == "GET":
        return json_response(user.rep())
    if not sub and method == "PUT":
        rep = _body(request)
        if not isinstance(rep, dict):
            raise fail(400, "Unable to parse JSON")
        if rep.get("username") not in (None, user.username):
            raise fail(400, "error-user-attribute-read-only")
        for key, attr in _USER_FIELDS.items():
            if key in rep:
                setattr(user, attr, rep[key])
        if isinstance(rep.get("attributes"), dict):
            user.attributes = {str(k): [str(x) for x in (v if isinstance(v, list) else [v])]
                               for k, v in rep["attributes"].items()}
        return no_content()
    if sub == ["logout"] and method == "POST":
        realm.logout(user.id)
        return no_content()
    if sub == ["sessions"] and method == "GET":
        return json_response([s.rep(realm) for s in realm.sessions_of(user.id)])
    if sub[:1] == ["role-mappings"]:
        return _role_mappings(realm, user, request, sub[1:])
    return error(404, "HTTP 404 Not Found")


def _search_users(realm: Realm, request: Request) -> list[User]:
    people = [u for u in realm.users.values() if u.service_account_client is None]
    username = request.args.get("username")
    if username is not None:
        wanted = username.lower()
        exact = _flag(request.args.get("exact"))
        people = [u for u in people if (u.username == wanted if exact else wanted in u.username)]
    search = (request.args.get("search") or "").lower().strip("*")
    if search:
        people = [u for u in people if any(search in (v or "").lower()
                                           for v in (u.username, u.email, u.first_name, u.last_name))]
    if request.args.get("enabled") is not None:
        people = [u for u in people if u.enabled == _flag(request.args.get("enabled"))]
    query = request.args.get("q")  # Keycloak 22+: space-separated key:value pairs, exact attribute values
    if query:
        wanted_pairs = [pair.partition(":") for pair in query.split()]
        people = [u for u in people if all(v in u.attributes.get(k, []) for k, _, v in wanted_pairs)]
    return sorted(people, key=lambda u: u.username)


def _role_mappings(realm: Realm, user: User, request: Request, rest: list[str]) -> Response:
    if rest == ["realm"] and request.method == "GET":
        return json_response([realm.roles[n].rep() for n in sorted(user.realm_roles) if n in realm.roles])
    if rest == ["realm", "composite"] and request.method == "GET":
        return json_response([realm.roles[n].rep() for n in sorted(realm.effective_realm_roles(user))])
    if rest == ["realm"] and request.method in ("POST", "DELETE"):
        names = _role_names(_body(request), realm.roles)
        (user.realm_roles.update if request.method == "POST" else user.realm_roles.difference_update)(names)
        return no_content()
    if len(rest) == 2 and rest[0] == "clients":
        client = _client(realm, rest[1])
        held = user.client_roles.setdefault(client.id, set())
        if request.method == "GET":
            return json_response([client.roles[n].rep() for n in sorted(held) if n in client.roles])
        if request.method in ("POST", "DELETE"):
            names = _role_names(_body(request), client.roles)
            (held.update if request.method == "POST" else held.difference_update)(names)
            return no_content()
    return error(404, "HTTP 404 Not Found")


def _role_names(body: Any, roles: dict[str, Role]) -> set[str]:
    if not isinstance(body, list):
        raise fail(400, "Unable to parse JSON")
    by_id = {r.id: r.name for r in roles.values()}
    names: set[str] = set()
    for rep in body:
        if not isinstance(rep, dict):
            raise fail(400, "Unable to parse JSON")
        name = rep.get("name")
        if name not in roles:
            name = by_id.get(str(rep.get("id")))
        if name is None:
            raise fail(404, "Role not found")
        names.add(name)
    return names


# -- realm roles -------------------------------------------------------------------------------------
def _roles(realm: Realm, request: Request, rest: list[str]) -> Response:
    if request.method != "GET":
        return error(405, "HTTP 405 Method Not Allowed")
    if not rest:
        search = (request.args.get("search") or "").lower()
        roles = sorted((r for r in realm.roles.values() if search in r.name.lower()), key=lambda r: r.name)
        return json_response([r.rep() for r in _page(request, roles)])
    role = realm.roles.get(rest[0])
    if role is None:
        raise fail(404, "Could not find role")
    if len(rest) == 1:
        return json_response(role.rep())
    if rest[1:] == ["users"]:
        members = sorted((u for u in realm.users.values() if role.name in u.realm_roles), key=lambda u: u.username)
        return json_response([u.rep() for u in _page(request, members)])
    return error(404, "HTTP 404 Not Found")
