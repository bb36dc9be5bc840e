"""`Gateway` adapter for Kong Gateway (3.x Admin API, OSS or Enterprise).

Mapping, per Kong's Admin API reference:

* API published by its provider = a *service* named after the API (``GET /services/{name}``, 404
  ``{"message": "Not found"}``); the route = ``spbe-{api}`` on ``/{api}`` (``POST /services/{s}/routes``)
  with the ``key-auth`` plugin (header ``apikey``, never the query string, credentials hidden from the
  upstream) and the ``acl`` plugin allowing group ``api-{api}``.
* consumer = ``POST /consumers {"username", "tags"}`` (409 ``unique constraint violation`` when it exists);
  credential = ``POST /consumers/{c}/key-auth`` (Kong generates ``key``; ``ttl`` in seconds gives the expiry);
  ACL = ``POST /consumers/{c}/acls {"group"}``; quota = a ``rate-limiting`` plugin scoped to consumer and
  route (``config.minute``); revoke = ``DELETE /consumers/{c}/key-auth/{id}``.
* Lists are paged: ``{"data": [...], "next": "/consumers?offset=..." | null, "offset": ...}``.
* Errors are JSON ``{"message": ...}`` (plus ``code``/``name``/``fields`` for schema and unique errors).
* Compliance switches (`GatewayControls`): Kong consumers have no status, so a consumer is disabled the way
  Kong documents for it, a consumer-scoped ``request-termination`` plugin (403), and enabled by deleting that
  plugin (``DELETE /plugins/{id}``). A route-wide limit is a ``rate-limiting`` plugin on the route with no
  consumer. key-auth credentials have no status either: Kong deletes a key at its ``ttl`` by itself, and a
  deleted key cannot be given back, so `set_credential_active` refuses rather than delete.
* Admin API auth: Enterprise RBAC takes the ``Kong-Admin-Token`` header (``admin_token_secret`` names the
  secret in ``settings.secrets``); OSS has none and must stay on a loopback/admin network.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field, SecretStr

from toolkit.adapter_options import AdapterOptions
from toolkit.masking import Masker
from toolkit.ports.gateway import (
    AclGroup,
    ApiRoute,
    Consumer,
    ConsumerInfo,
    Credential,
    CredentialInfo,
    GatewayNotFoundError,
    GatewayRequestError,
    GatewayUnavailableError,
    RateLimit,
    RouteInfo,
    acl_group,
    require_gateway_name,
    require_key_id,
)
from toolkit.secret_types import SecretName, ServiceUrl, reveal_url
from toolkit.settings import Settings

from ._http import AdminClient, json_message

TAG = "spbe"
DISABLED_TAG = "spbe-disabled"
TERMINATION = {"status_code": 403, "message": "Konsumen API dinonaktifkan (kepatuhan SPLP)"}
MAX_PAGES = 10000


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int | float) else None


class KongOptions(AdapterOptions):
    """``gateway.options`` of kong."""

    admin_url: ServiceUrl = Field(description="Admin API, e.g. http://127.0.0.1:8001")
    proxy_url: ServiceUrl = Field(description="the proxy consumers call")
    admin_token_secret: SecretName | None = Field(
        default=None, description="Enterprise RBAC: the settings.secrets entry holding the Kong-Admin-Token")
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    verify_tls: bool = True


class KongAdapter:
    name = "kong"
    Options = KongOptions

    def __init__(self, settings: Settings, admin_url: str | SecretStr, proxy_url: str | SecretStr,
                 admin_token_secret: str | None = None, timeout_s: float = 10.0, verify_tls: bool = True,
                 masker: Masker | None = None) -> None:
        self.masker = masker or Masker()
        admin, proxy = str(reveal_url(admin_url, self.masker)), str(reveal_url(proxy_url, self.masker))
        headers = {}
        if admin_token_secret:
            token = settings.secret(admin_token_secret)
            self.masker.add(token)
            headers["Kong-Admin-Token"] = token.get_secret_value()
        self.admin = AdminClient("kong", admin, masker=self.masker, timeout_s=timeout_s, headers=headers,
                                 message=json_message("message"), verify=verify_tls)
        self.proxy_url = proxy.rstrip("/")

    # ------------------------------------------------------------------ helpers

    def _get(self, path: str) -> dict[str, Any] | None:
        response = self.admin.request("GET", path, allow=(404,))
        if response.status_code == 404:
            return None
        body: dict[str, Any] = response.json()
        return body

    def _pages(self, path: str) -> list[dict[str, Any]]:
        """Follow ``next`` until it is null."""
        items: list[dict[str, Any]] = []
        next_path: str | None = path
        for _ in range(MAX_PAGES):
            if not next_path:
                return items
            body = self.admin.json("GET", next_path) or {}
            items += body.get("data", [])
            next_path = body.get("next")
        raise GatewayUnavailableError(f"kong listing {path} did not end")

    def _require_consumer(self, name: str) -> dict[str, Any]:
        body = self._get(f"/consumers/{require_gateway_name(name, 'consumer')}")
        if body is None:
            raise GatewayNotFoundError(f"consumer '{name}' does not exist on kong",
                                       **GatewayNotFoundError.context("kong", "GET", f"/consumers/{name}", 404))
        return body

    @staticmethod
    def _consumer(body: dict[str, Any], created: bool = False) -> Consumer:
        return Consumer(id=str(body["id"]), name=str(body["username"]), created_at=_epoch(body.get("created_at")),
                        created=created)

    # ------------------------------------------------------------------ routes

    def ensure_route(self, api: str) -> ApiRoute:
        api = require_gateway_name(api, "api")
        group = acl_group(api)
        if self._get(f"/services/{api}") is None:
            raise GatewayNotFoundError(f"API '{api}' is not published on kong (no service '{api}')",
                                       **GatewayNotFoundError.context("kong", "GET", f"/services/{api}", 404))
        route_name = f"spbe-{api}"
        created = False
        route = self._get(f"/routes/{route_name}")
        if route is None:
            response = self.admin.request("POST", f"/services/{api}/routes", ok=(201,), allow=(409,), json={
                "name": route_name, "paths": [f"/{api}"], "strip_path": False, "protocols": ["http", "https"],
                "tags": [TAG]})
            created = response.status_code == 201
            route = response.json() if created else self._get(f"/routes/{route_name}")
            if route is None:
                raise GatewayUnavailableError(f"kong said route '{route_name}' exists but does not show it")
        plugins = {p["name"]: p for p in self._pages(f"/routes/{route_name}/plugins")}
        wanted = {
            "key-auth": {"key_names": ["apikey"], "key_in_header": True, "key_in_query": False,
                         "key_in_body": False, "hide_credentials": True},
            "acl": {"allow": [group], "hide_groups_header": True},
        }
        for plugin, config in wanted.items():
            if plugin not in plugins:
                self.admin.request("POST", f"/routes/{route_name}/plugins", ok=(201,), allow=(409,),
                                   json={"name": plugin, "config": config, "tags": [TAG]})
                created = True
        return ApiRoute(api=api, route_id=str(route["id"]), url=f"{self.proxy_url}/{api}", acl_group=group,
                        created=created)

    # ------------------------------------------------------------------ consumers

    def get_consumer(self, name: str) -> Consumer | None:
        body = self._get(f"/consumers/{require_gateway_name(name, 'consumer')}")
        return None if body is None else self._consumer(body)

    def ensure_consumer(self, name: str) -> Consumer:
        existing = self.get_consumer(name)
        if existing is not None:
            return existing
        response = self.admin.request("POST", "/consumers", ok=(201,), allow=(409,),
                                      json={"username": name, "tags": [TAG]})
        if response.status_code == 409:  # a racing create won; it is the same one consumer
            return self._consumer(self._require_consumer(name))
        return self._consumer(response.json(), created=True)

    # ------------------------------------------------------------------ credentials

    def _issue(self, consumer: dict[str, Any], ttl_days: int | None) -> Credential:
        payload: dict[str, Any] = {"tags": [TAG]}
        if ttl_days:
            payload["ttl"] = ttl_days * 86400
        body = self.admin.json("POST", f"/consumers/{consumer['id']}/key-auth", ok=(201,), json=payload)
        secret = str(body["key"])
        self.masker.add(secret)
        created = _epoch(body.get("created_at")) or datetime.now(UTC)
        return Credential(consumer=str(consumer["username"]), consumer_id=str(consumer["id"]), key_id=str(body["id"]),
                          secret=secret, created_at=created,  # type: ignore[arg-type]
                          expires_at=created + timedelta(days=ttl_days) if ttl_days else None)

    def issue_key_credential(self, consumer: str, ttl_days: int | None = None) -> Credential:
        return self._issue(self._require_consumer(consumer), ttl_days)

    def _keys(self, consumer_id: str) -> list[dict[str, Any]]:
        keys = self._pages(f"/consumers/{consumer_id}/key-auth")
        for key in keys:
            secret = key.pop("key", None)
            if isinstance(secret, str):
                self.masker.add(secret)
        return keys

    def restrict_to_api(self, consumer: str, api: str) -> AclGroup:
        group = acl_group(api)
        body = self._require_consumer(consumer)
        groups = {a["group"] for a in self._pages(f"/consumers/{body['id']}/acls")}
        if group not in groups:
            self.admin.request("POST", f"/consumers/{body['id']}/acls", ok=(201,), allow=(409,),
                               json={"group": group, "tags": [TAG]})
        return AclGroup(consumer=consumer, api=api, group=group)

    def set_rate_limit(self, consumer: str, api: str, per_minute: int) -> RateLimit:
        api = require_gateway_name(api, "api")
        body = self._require_consumer(consumer)
        route = self._get(f"/routes/spbe-{api}")
        if route is None:
            raise GatewayNotFoundError(f"no route for API '{api}' on kong (ensure_route first)",
                                       **GatewayNotFoundError.context("kong", "GET", f"/routes/spbe-{api}", 404))
        config = {"minute": per_minute, "policy": "local", "limit_by": "consumer"}
        existing = [p for p in self._pages(f"/consumers/{body['id']}/plugins")
                    if p.get("name") == "rate-limiting" and (p.get("route") or {}).get("id") == route["id"]]
        if existing:
            plugin = self.admin.json("PATCH", f"/plugins/{existing[0]['id']}", json={"config": config})
        else:
            plugin = self.admin.json("POST", "/plugins", ok=(201,), json={
                "name": "rate-limiting", "consumer": {"id": body["id"]}, "route": {"id": route["id"]},
                "config": config, "tags": [TAG]})
        return RateLimit(consumer=consumer, api=api, per_minute=per_minute, requested_per_minute=per_minute,
                         policy=str(plugin["id"]))

    def revoke(self, consumer: str) -> list[str]:
        body = self._require_consumer(consumer)
        revoked = []
        for key in self._keys(str(body["id"])):
            self.admin.request("DELETE", f"/consumers/{body['id']}/key-auth/{key['id']}", ok=(204,), allow=(404,))
            revoked.append(str(key["id"]))
        return revoked

    def rotate(self, consumer: str, ttl_days: int | None = None) -> Credential:
        body = self._require_consumer(consumer)
        old = self._keys(str(body["id"]))
        new = self._issue(body, ttl_days)
        for key in old:
            self.admin.request("DELETE", f"/consumers/{body['id']}/key-auth/{key['id']}", ok=(204,), allow=(404,))
        return new

    def auth_headers(self, credential: Credential) -> dict[str, str]:
        return {"apikey": credential.secret.get_secret_value()}

    # ------------------------------------------------------------------ listing and removal

    def list_consumers(self) -> list[ConsumerInfo]:
        routes = {r["id"]: str(r.get("name", "")).removeprefix("spbe-") for r in self._pages(f"/routes?tags={TAG}")}
        result = []
        for body in sorted(self._pages(f"/consumers?tags={TAG}"), key=lambda c: str(c.get("username"))):
            consumer = self._consumer(body)
            creds = tuple(CredentialInfo(key_id=str(k["id"]), created_at=_epoch(k.get("created_at")),
                                         # Kong reports ``ttl`` as the seconds still left
                                         expires_at=(datetime.now(UTC) + timedelta(seconds=int(k["ttl"]))
                                                     if k.get("ttl") else None))
                          for k in self._keys(consumer.id))
            groups = tuple(sorted(a["group"] for a in self._pages(f"/consumers/{consumer.id}/acls")))
            plugins = self._pages(f"/consumers/{consumer.id}/plugins")
            limits = tuple(
                RateLimit(consumer=consumer.name, api=routes.get((p.get("route") or {}).get("id", ""), "?"),
                          per_minute=int(p["config"]["minute"]), requested_per_minute=int(p["config"]["minute"]),
                          policy=str(p["id"]))
                for p in plugins if p.get("name") == "rate-limiting")
            if _termination(plugins) is not None:
                consumer = consumer.model_copy(update={"active": False})
            result.append(ConsumerInfo(consumer=consumer, credentials=creds, groups=groups, rate_limits=limits))
        return result

    def list_routes(self) -> list[RouteInfo]:
        plugins = self._pages(f"/plugins?tags={TAG}")
        result = []
        for route in sorted(self._pages(f"/routes?tags={TAG}"), key=lambda r: str(r.get("name"))):
            mine = [p for p in plugins if (p.get("route") or {}).get("id") == route["id"]]
            default = [p for p in mine if p.get("name") == "rate-limiting" and not p.get("consumer")]
            result.append(RouteInfo(
                api=str(route.get("name", "")).removeprefix("spbe-"), route_id=str(route["id"]),
                policies=tuple(sorted({str(p.get("name")) for p in mine if not p.get("consumer")})),
                default_per_minute=int(default[0]["config"]["minute"]) if default else None,
                consumer_limits=sum(1 for p in mine if p.get("name") == "rate-limiting" and p.get("consumer"))))
        return result

    # ------------------------------------------------------------------ compliance switches (GatewayControls)

    def set_consumer_active(self, consumer: str, active: bool) -> bool:
        body = self._require_consumer(consumer)
        stop = _termination(self._pages(f"/consumers/{body['id']}/plugins"))
        before = stop is None
        if active and stop is not None:
            self.admin.request("DELETE", f"/plugins/{stop['id']}", ok=(204,), allow=(404,))
        elif not active and stop is None:
            self.admin.request("POST", "/plugins", ok=(201,), allow=(409,), json={
                "name": "request-termination", "consumer": {"id": body["id"]}, "config": TERMINATION,
                "tags": [TAG, DISABLED_TAG]})
        return before

    def set_credential_active(self, consumer: str, key_id: str, active: bool) -> bool:
        require_key_id(key_id)
        body = self._require_consumer(consumer)
        if not any(str(k["id"]) == key_id for k in self._keys(str(body["id"]))):
            raise GatewayNotFoundError(f"consumer '{consumer}' has no key '{key_id}' on kong",
                                       **GatewayNotFoundError.context("kong", "GET", "/consumers/key-auth", 404))
        if active:
            return True
        raise GatewayRequestError("kong key-auth credentials have no status: a key can only be deleted (not undone); "
                                  "Kong deletes it by itself at its ttl",
                                  **GatewayRequestError.context("kong", "PATCH", f"/consumers/key-auth/{key_id}"))

    def set_default_rate_limit(self, api: str, per_minute: int | None) -> int | None:
        api = require_gateway_name(api, "api")
        route = self._get(f"/routes/spbe-{api}")
        if route is None:
            raise GatewayNotFoundError(f"no route for API '{api}' on kong",
                                       **GatewayNotFoundError.context("kong", "GET", f"/routes/spbe-{api}", 404))
        found = [p for p in self._pages(f"/routes/{route['id']}/plugins")
                 if p.get("name") == "rate-limiting" and not p.get("consumer")]
        before = int(found[0]["config"]["minute"]) if found else None
        if per_minute is None:
            for plugin in found:
                self.admin.request("DELETE", f"/plugins/{plugin['id']}", ok=(204,), allow=(404,))
        elif found:
            self.admin.request("PATCH", f"/plugins/{found[0]['id']}", json={"config": {"minute": per_minute}})
        else:
            self.admin.request("POST", f"/routes/{route['id']}/plugins", ok=(201,), json={
                "name": "rate-limiting", "config": {"minute": per_minute, "policy": "local", "limit_by": "consumer"},
                "tags": [TAG]})
        return before

    def delete_consumer(self, consumer: str) -> bool:
        body = self._get(f"/consumers/{require_gateway_name(consumer, 'consumer')}")
        if body is None:
            return False
        # Kong cascades: the consumer's credentials, ACL groups and consumer-scoped plugins go with it.
        self.admin.request("DELETE", f"/consumers/{body['id']}", ok=(204,))
        return True


def _termination(plugins: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The request-termination plugin spbe put on a consumer to disable it, if any."""
    return next((p for p in plugins if p.get("name") == "request-termination"
                 and DISABLED_TAG in (p.get("tags") or [])), None)
