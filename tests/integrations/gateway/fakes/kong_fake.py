"""A FAKE Kong Gateway (3.x): its Admin API and a small data plane, real HTTP on 127.0.0.1.

Kong cannot run on this machine (no package of it in the registries here), so the Kong adapter is
tested against this. It follows Kong's documented Admin API for what the adapter uses:

  /services/{name|id} (GET), /services (POST), /services/{s}/routes (POST), /routes/{name|id} (GET),
  /routes?tags= (GET), /routes/{r}/plugins (GET, POST), /consumers?tags= (GET, POST),
  /consumers/{username|id} (GET, DELETE, cascading), /consumers/{c}/key-auth (GET, POST),
  /consumers/{c}/key-auth/{id} (DELETE), /consumers/{c}/acls (GET, POST), /consumers/{c}/plugins (GET),
  /plugins (GET, POST), /plugins/{id} (PATCH, DELETE)

with Kong's shapes: entities carry ``id`` (UUID) and ``created_at`` (epoch seconds); lists are
``{"data": [...], "next": "/path?offset=...&size=N" | null, "offset": ...}`` paged by ``size`` (the
default page size is small here so paging is exercised); errors are ``{"message": ...}``, a unique
violation is 409 ``{"code": 5, "name": "unique constraint violation", ...}``, a missing entity 404
``{"message": "Not found"}``, and a missing/bad ``Kong-Admin-Token`` (when one is set) 401.
key-auth generates a 32-character key when none is given and honours ``ttl`` (seconds).

The data plane (a second port) does what the route's plugins would: key-auth on the ``apikey`` header
(401 without or with a bad/expired key), acl ``allow`` groups (403), rate-limiting per consumer per minute and
route-wide per consumer (429), a consumer-scoped request-termination (its status, 403), in Kong's plugin
priority order, then proxies the request to the service URL. Not modelled: workspaces, upstreams/targets,
certificates, other plugins, DB-less mode.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from tests.integrations.gateway.fakes._server import FaultyApp, HttpError, Listener, body_of, json_response

NOT_FOUND = {"message": "Not found"}


def _unique(fields: dict[str, Any]) -> HttpError:
    shown = ", ".join(f'{k}="{v}"' for k, v in fields.items())
    return HttpError(409, {"code": 5, "name": "unique constraint violation",
                           "message": f"UNIQUE violation detected on '{{{shown}}}'", "fields": fields})


class KongFake(FaultyApp):
    def __init__(self, admin_token: str | None = None, page_size: int = 2) -> None:
        super().__init__()
        self.admin_token = admin_token
        self.page_size = page_size
        self.services: dict[str, dict[str, Any]] = {}
        self.routes: dict[str, dict[str, Any]] = {}
        self.consumers: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, dict[str, Any]] = {}
        self.acls: dict[str, dict[str, Any]] = {}
        self.plugins: dict[str, dict[str, Any]] = {}
        self.hits: dict[tuple[str, str, int], int] = {}
        self.admin_listener = Listener(self.admin, "kong-admin")
        self.proxy_listener = Listener(self.proxy, "kong-proxy")

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.admin_listener.url

    @property
    def proxy_url(self) -> str:
        return self.proxy_listener.url

    def start(self) -> KongFake:
        self.admin_listener.start()
        self.proxy_listener.start()
        return self

    def stop(self) -> None:
        self.admin_listener.stop()
        self.proxy_listener.stop()

    def down(self) -> None:
        self.admin_listener.stop()

    def up(self) -> None:
        self.admin_listener.start()

    def publish(self, name: str, url: str) -> None:
        """What the API provider does on Kong: a service for its backend."""
        with self.lock:
            self._create(self.services, {"name": name, "url": url, "protocol": "http"})

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _create(table: dict[str, dict[str, Any]], entity: dict[str, Any]) -> dict[str, Any]:
        entity = {"id": str(uuid.uuid4()), "created_at": int(time.time()), **entity}
        table[entity["id"]] = entity
        return entity

    @staticmethod
    def _find(table: dict[str, dict[str, Any]], key: str, name_field: str | None) -> dict[str, Any]:
        if key in table:
            return table[key]
        for entity in table.values():
            if name_field and entity.get(name_field) == key:
                return entity
        raise HttpError(404, NOT_FOUND)

    def _page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        tags = request.args.get("tags")
        if tags:
            items = [i for i in items if tags in (i.get("tags") or [])]
        items = sorted(items, key=lambda i: (i["created_at"], i["id"]))
        size = int(request.args.get("size", self.page_size))
        start = int(base64.b64decode(request.args["offset"]).decode()) if request.args.get("offset") else 0
        page = items[start:start + size]
        nxt = None
        offset = None
        if start + size < len(items):
            offset = base64.b64encode(str(start + size).encode()).decode()
            extra = f"&tags={tags}" if tags else ""
            nxt = f"{request.path}?offset={offset}&size={size}{extra}"
        body: dict[str, Any] = {"data": page, "next": nxt}
        if offset:
            body["offset"] = offset
        return json_response(body)

    # -- admin API ---------------------------------------------------------------------------
    def route(self, request: Request) -> Response:  # noqa: C901 - a URL table, flat on purpose
        if self.admin_token is not None and request.headers.get("Kong-Admin-Token") != self.admin_token:
            raise HttpError(401, {"message": "Invalid credentials. Token or User credentials required"})
        parts = [p for p in request.path.split("/") if p]
        method = request.method
        if parts[:1] == ["services"]:
            if len(parts) == 1 and method == "POST":
                body = body_of(request)
                if any(s["name"] == body.get("name") for s in self.services.values()):
                    raise _unique({"name": body.get("name")})
                return json_response(self._create(self.services, body), 201)
            service = self._find(self.services, parts[1], "name")
            if len(parts) == 2 and method == "GET":
                return json_response(service)
            if parts[2:] == ["routes"] and method == "POST":
                body = body_of(request)
                if any(r.get("name") == body.get("name") for r in self.routes.values()):
                    raise _unique({"name": body.get("name")})
                if not body.get("paths"):
                    raise HttpError(400, {"code": 2, "name": "schema violation", "message": "must set one of "
                                          "'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is "
                                          "'https'", "fields": {}})
                return json_response(self._create(self.routes, {**body, "service": {"id": service["id"]}}), 201)
        if parts[:1] == ["routes"]:
            if len(parts) == 1 and method == "GET":
                return self._page(request, list(self.routes.values()))
            route = self._find(self.routes, parts[1], "name")
            if len(parts) == 2 and method == "GET":
                return json_response(route)
            if parts[2:] == ["plugins"]:
                if method == "GET":
                    return self._page(request, [p for p in self.plugins.values()
                                                if (p.get("route") or {}).get("id") == route["id"]
                                                and not p.get("consumer")])
                if method == "POST":
                    body = body_of(request)
                    return self._add_plugin({**body, "route": {"id": route["id"]}})
        if parts[:1] == ["plugins"]:
            if len(parts) == 1 and method == "GET":
                return self._page(request, list(self.plugins.values()))
            if len(parts) == 1 and method == "POST":
                return self._add_plugin(body_of(request))
            if method == "DELETE":
                self.plugins.pop(parts[1], None)
                return Response(status=204)  # Kong answers 204 for an absent entity too
            plugin = self._find(self.plugins, parts[1], None)
            if method == "PATCH":
                body = body_of(request)
                plugin["config"] = {**plugin.get("config", {}), **body.get("config", {})}
                return json_response(plugin)
        if parts[:1] == ["consumers"]:
            return self._consumers(request, parts, method)
        raise HttpError(404, NOT_FOUND)

    def _add_plugin(self, body: dict[str, Any]) -> Response:
        key = (body.get("name"), (body.get("route") or {}).get("id"), (body.get("consumer") or {}).get("id"))
        for plugin in self.plugins.values():
            if (plugin.get("name"), (plugin.get("route") or {}).get("id"),
                    (plugin.get("consumer") or {}).get("id")) == key:
                raise _unique({"name": body.get("name")})
        if body.get("name") == "rate-limiting" and not any(
                isinstance(v, int) and v > 0 for v in (body.get("config") or {}).values()):
            raise HttpError(400, {"code": 2, "name": "schema violation", "message": "schema violation "
                                  "(config: at least one of these fields must be non-empty: 'config.second', "
                                  "'config.minute', ...)", "fields": {}})
        return json_response(self._create(self.plugins, body), 201)

    def _consumers(self, request: Request, parts: list[str], method: str) -> Response:
        if len(parts) == 1:
            if method == "GET":
                return self._page(request, list(self.consumers.values()))
            if method == "POST":
                body = body_of(request)
                if not body.get("username") and not body.get("custom_id"):
                    raise HttpError(400, {"code": 2, "name": "schema violation",
                                          "message": "at least one of these fields must be non-empty: "
                                                     "'custom_id', 'username'", "fields": {}})
                if any(c.get("username") == body.get("username") for c in self.consumers.values()):
                    raise _unique({"username": body["username"]})
                return json_response(self._create(self.consumers, body), 201)
        if len(parts) == 2 and method == "DELETE":
            try:
                consumer = self._find(self.consumers, parts[1], "username")
            except HttpError:
                return Response(status=204)  # Kong answers 204 for an absent entity too
            cid = consumer["id"]
            del self.consumers[cid]
            for table in (self.keys, self.acls, self.plugins):
                for eid in [k for k, v in table.items() if (v.get("consumer") or {}).get("id") == cid]:
                    del table[eid]
            return Response(status=204)
        consumer = self._find(self.consumers, parts[1], "username")
        cid = consumer["id"]
        if len(parts) == 2 and method == "GET":
            return json_response(consumer)
        sub = parts[2] if len(parts) > 2 else ""
        if sub == "key-auth":
            if len(parts) == 3 and method == "GET":
                return self._page(request, [k for k in self.keys.values() if k["consumer"]["id"] == cid])
            if len(parts) == 3 and method == "POST":
                body = body_of(request)
                key = body.get("key") or secrets.token_hex(16)
                if any(k["key"] == key for k in self.keys.values()):
                    raise _unique({"key": key})
                return json_response(self._create(self.keys, {**body, "key": key, "consumer": {"id": cid},
                                                              "ttl": body.get("ttl")}), 201)
            if len(parts) == 4 and method == "DELETE":
                entity = self._find(self.keys, parts[3], None)
                del self.keys[entity["id"]]
                return Response(status=204)
        if sub == "acls":
            if method == "GET":
                return self._page(request, [a for a in self.acls.values() if a["consumer"]["id"] == cid])
            if method == "POST":
                body = body_of(request)
                if any(a["consumer"]["id"] == cid and a["group"] == body.get("group") for a in self.acls.values()):
                    raise _unique({"consumer": {"id": cid}, "group": body.get("group")})
                return json_response(self._create(self.acls, {**body, "consumer": {"id": cid}}), 201)
        if sub == "plugins" and method == "GET":
            return self._page(request, [p for p in self.plugins.values()
                                        if (p.get("consumer") or {}).get("id") == cid])
        raise HttpError(404, NOT_FOUND)

    # -- data plane --------------------------------------------------------------------------
    def proxy(self, request: Request) -> Response:
        with self.lock:
            try:
                target = self._authorize(request)
            except HttpError as exc:
                return json_response(exc.body, exc.status)
        upstream = requests.request(request.method, target, timeout=5)
        return Response(upstream.content, status=upstream.status_code,
                        mimetype=upstream.headers.get("Content-Type", "application/json"))

    def _authorize(self, request: Request) -> str:
        route = next((r for r in self.routes.values()
                      if any(request.path == p or request.path.startswith(p.rstrip("/") + "/") for p in r["paths"])),
                     None)
        if route is None:
            raise HttpError(404, {"message": "no Route matched with those values"})
        plugins = {p["name"]: p for p in self.plugins.values()
                   if (p.get("route") or {}).get("id") == route["id"] and not p.get("consumer")}
        consumer_id = None
        if "key-auth" in plugins:
            names = plugins["key-auth"].get("config", {}).get("key_names", ["apikey"])
            presented = next((request.headers.get(n) for n in names if request.headers.get(n)), None)
            if not presented:
                raise HttpError(401, {"message": "No API key found in request"})
            key = next((k for k in self.keys.values() if k["key"] == presented), None)
            if key is None or (key.get("ttl") and time.time() > key["created_at"] + key["ttl"]):
                raise HttpError(401, {"message": "Invalid authentication credentials"})
            consumer_id = key["consumer"]["id"]
        if "acl" in plugins:
            allow = set(plugins["acl"].get("config", {}).get("allow", []))
            groups = {a["group"] for a in self.acls.values() if a["consumer"]["id"] == consumer_id}
            if not allow & groups:
                raise HttpError(403, {"message": "You cannot consume this service"})
        for plugin in self.plugins.values():
            scoped = (plugin.get("consumer") or {}).get("id")
            if (plugin.get("name") == "rate-limiting" and scoped in (consumer_id, None)
                    and (plugin.get("route") or {}).get("id") == route["id"]):
                window = (plugin["id"], str(consumer_id), int(time.time() // 60))
                self.hits[window] = self.hits.get(window, 0) + 1
                if self.hits[window] > int(plugin["config"]["minute"]):
                    raise HttpError(429, {"message": "API rate limit exceeded"})
        # request-termination has the lowest priority (2) of these: it answers after auth, ACL and limits
        for plugin in self.plugins.values():
            if (plugin.get("name") == "request-termination" and consumer_id is not None
                    and (plugin.get("consumer") or {}).get("id") == consumer_id):
                config = plugin.get("config") or {}
                raise HttpError(int(config.get("status_code", 503)), {"message": config.get("message", "")})
        service = self.services[route["service"]["id"]]
        query = ("?" + request.query_string.decode()) if request.query_string else ""
        return str(service["url"]).rstrip("/") + request.path + query
