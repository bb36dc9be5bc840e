"""A FAKE WSO2 API Manager 4.x: REST APIs, key manager and a small gateway, real HTTP on 127.0.0.1.

WSO2 APIM cannot run on this machine (no distribution of it in the registries here), so the WSO2
adapter is tested against this. It follows WSO2 APIM 4.x's documented REST APIs for what the adapter
uses:

  DCR        POST /client-registration/v0.17/register (basic auth of a user) -> clientId/clientSecret
  token      POST /oauth2/token: password grant (admin, scopes) and client_credentials (applications);
             OAuth2 errors ``{"error", "error_description"}``
  Publisher  GET /api/am/publisher/v4/apis?query=name:X, /apis/{id} (GET with ``policies`` and
             ``apiThrottlingPolicy``; PUT: only ``apiThrottlingPolicy`` is applied),
             POST /subscriptions/block-subscription?subscriptionId=&blockState=, /unblock-subscription
  Admin      GET, POST /api/am/admin/v4/throttling/policies/advanced (409 for a name taken)
  Devportal  GET /api/am/devportal/v3/apis[?query=], /apis/{id} (with ``tiers``),
             /throttling-policies/subscription, /applications[?query=] (GET, POST), /applications/{id}
             (GET, DELETE), /applications/{id}/generate-keys, /applications/{id}/oauth-keys,
             /applications/{id}/oauth-keys/{keyMappingId}/regenerate-secret, /subscriptions[?applicationId=|?apiId=]
             (GET, POST), /subscriptions/{id} (PUT, DELETE)

with WSO2's shapes: lists ``{"count", "list", "pagination": {"offset", "limit", "total", "next",
"previous"}}`` paged by ``limit``/``offset``; REST errors ``{"code", "message", "description", "moreInfo",
"error": []}`` (409 for a duplicate application name, existing key mapping or subscription; 401 code
900901 for a missing or bad bearer token). The gateway (second port) serves each published API at its
context/version: 401 (900902 missing / 900901 invalid credentials), 403 (900908 not subscribed), 429
(900802 throttled out, per the subscription tier's per-minute count; 900800 over the API's advanced
policy, counted per application), then proxies to the backend.
Not modelled: API creation/lifecycle through the Publisher, scopes per resource, API keys, sandbox keys,
application-level throttling, conditional groups of advanced policies, multi-tenancy.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from tests.integrations.gateway.fakes._server import FaultyApp, HttpError, Listener, body_of, json_response
from tests.integrations.gateway.fakes.wso2_fake_devportal import DevportalMixin, wso2_random
from tests.integrations.gateway.fakes.wso2_fake_devportal import error as _error
from tests.integrations.gateway.fakes.wso2_fake_devportal import fault as _fault

DEVPORTAL = "/api/am/devportal/v3"
PUBLISHER = "/api/am/publisher/v4"
DEFAULT_TIERS = {"Bronze": 1000, "Silver": 2000, "Gold": 5000}


class Wso2Fake(DevportalMixin, FaultyApp):
    def __init__(self, username: str = "admin", password: str = "admin-pass") -> None:  # noqa: S107 - test data
        super().__init__()
        self.users = {username: password}
        self.apis: dict[str, dict[str, Any]] = {}
        self.advanced: dict[str, dict[str, Any]] = {}
        self.api_hits: dict[tuple[str, str, int], int] = {}
        self.policies: dict[str, dict[str, Any]] = {
            name: {"name": name, "displayName": name, "requestCount": count, "unitTime": 1, "timeUnit": "min",
                   "tierPlan": "FREE", "stopOnQuotaReach": True} for name, count in DEFAULT_TIERS.items()}
        self.policies["Unlimited"] = {"name": "Unlimited", "displayName": "Unlimited", "requestCount": 2147483647,
                                      "unitTime": 0, "timeUnit": "min", "tierPlan": "FREE"}
        self.clients: dict[str, dict[str, Any]] = {}  # DCR clients and application keys: clientId -> record
        self.tokens: dict[str, dict[str, Any]] = {}
        self.apps: dict[str, dict[str, Any]] = {}
        self.subs: dict[str, dict[str, Any]] = {}
        self.hits: dict[tuple[str, int], int] = {}
        self.rest_listener = Listener(self.admin, "wso2-rest")
        self.gateway_listener = Listener(self.gateway, "wso2-gateway")

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.rest_listener.url

    @property
    def gateway_url(self) -> str:
        return self.gateway_listener.url

    def start(self) -> Wso2Fake:
        self.rest_listener.start()
        self.gateway_listener.start()
        return self

    def stop(self) -> None:
        self.rest_listener.stop()
        self.gateway_listener.stop()

    def down(self) -> None:
        self.rest_listener.stop()

    def up(self) -> None:
        self.rest_listener.start()

    def add_tier(self, name: str, per_minute: int) -> None:
        with self.lock:
            self.policies[name] = {"name": name, "displayName": name, "requestCount": per_minute, "unitTime": 1,
                                   "timeUnit": "min", "tierPlan": "FREE", "stopOnQuotaReach": True}

    def add_advanced_policy(self, api: str, name: str, per_minute: int) -> None:
        """An API-level (advanced) throttling policy, attached to the published API ``api``."""
        with self.lock:
            self.advanced[name] = {"policyId": str(uuid.uuid4()), "policyName": name, "defaultLimit": {
                "type": "REQUESTCOUNTLIMIT", "requestCount": {"timeUnit": "min", "unitTime": 1,
                                                              "requestCount": per_minute}}}
            for found in self.apis.values():
                if found["name"] == api:
                    found["apiThrottlingPolicy"] = name

    def publish(self, name: str, backend_url: str, tiers: tuple[str, ...] = ("Bronze", "Silver", "Gold"),
                state: str = "PUBLISHED") -> None:
        """What the API provider does in the Publisher: create, attach tiers, publish."""
        with self.lock:
            api_id = str(uuid.uuid4())
            self.apis[api_id] = {"id": api_id, "name": name, "context": f"/{name}", "version": "1.0.0",
                                 "provider": "admin", "lifeCycleStatus": state, "backend": backend_url,
                                 "tiers": list(tiers)}

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _page(request: Request, items: list[dict[str, Any]]) -> Response:
        limit = int(request.args.get("limit", 25))
        offset = int(request.args.get("offset", 0))
        page = items[offset:offset + limit]
        base = request.path
        nxt = f"{base}?limit={limit}&offset={offset + limit}" if offset + limit < len(items) else ""
        prev = f"{base}?limit={limit}&offset={max(offset - limit, 0)}" if offset > 0 else ""
        return json_response({"count": len(page), "list": page,
                              "pagination": {"offset": offset, "limit": limit, "total": len(items),
                                             "next": nxt, "previous": prev}})

    @staticmethod
    def _basic(request: Request) -> tuple[str, str] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user, password

    def _api_view(self, api: dict[str, Any], detail: bool = False) -> dict[str, Any]:
        view = {k: v for k, v in api.items() if k not in ("backend", "tiers", "apiThrottlingPolicy")}
        if detail:
            view["tiers"] = [{"tierName": t, "tierPlan": "FREE"} for t in api["tiers"]]
        return view

    def _search(self, request: Request, published_only: bool) -> list[dict[str, Any]]:
        query = request.args.get("query", "")
        name = query.removeprefix("name:") if query else None
        return [self._api_view(a) for a in self.apis.values()
                if (name is None or a["name"] == name) and (not published_only or a["lifeCycleStatus"] == "PUBLISHED")]

    # -- REST API ----------------------------------------------------------------------------
    def fault_body(self, status: int) -> Any:
        return {"code": status, "message": "injected", "description": f"injected {status}", "moreInfo": "",
                "error": []}

    def route(self, request: Request) -> Response:
        path = request.path
        if path == "/client-registration/v0.17/register" and request.method == "POST":
            return self._register(request)
        if path == "/oauth2/token" and request.method == "POST":
            return self._token(request)
        if not path.startswith("/api/am/"):
            raise _error(404, "Not Found", "no such resource")
        header = request.headers.get("Authorization", "")
        token = self.tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if token is None or token["kind"] != "admin" or token["expires"] < time.time():
            raise HttpError(401, {"code": 900901, "message": "Invalid Credentials",
                                  "description": "Invalid Credentials. Make sure you have provided the correct "
                                                 "security credentials", "moreInfo": "", "error": []})
        if path == f"{PUBLISHER}/apis" and request.method == "GET":
            return self._page(request, self._search(request, published_only=False))
        if path.startswith(f"{PUBLISHER}/apis/") and request.method in ("GET", "PUT"):
            found = self.apis.get(path.rsplit("/", 1)[1])
            if found is None:
                raise _error(404, "Not Found", "Requested API not found")
            if request.method == "PUT":
                policy = body_of(request).get("apiThrottlingPolicy")
                if policy is not None and policy not in self.advanced:
                    raise _error(400, "Bad Request", f"Invalid API throttling policy {policy}")
                found["apiThrottlingPolicy"] = policy
            return json_response({**self._api_view(found), "policies": list(found["tiers"]),
                                  "apiThrottlingPolicy": found.get("apiThrottlingPolicy")})
        if path in (f"{PUBLISHER}/subscriptions/block-subscription", f"{PUBLISHER}/subscriptions/unblock-subscription"):
            sub = self.subs.get(request.args.get("subscriptionId", ""))
            if sub is None or request.method != "POST":
                raise _error(404, "Not Found", "Subscription not found")
            state = request.args.get("blockState") if path.endswith("/block-subscription") else "UNBLOCKED"
            if state not in ("BLOCKED", "PROD_ONLY_BLOCKED", "UNBLOCKED"):
                raise _error(400, "Bad Request", f"Invalid block state {state}")
            sub["status"] = state
            return Response(status=200)
        if path == "/api/am/admin/v4/throttling/policies/advanced" and request.method == "GET":
            return json_response({"count": len(self.advanced), "list": list(self.advanced.values())})
        if path == "/api/am/admin/v4/throttling/policies/advanced" and request.method == "POST":
            body = body_of(request)
            name = str(body.get("policyName", ""))
            if not name or name in self.advanced:
                raise _error(409, "Conflict", f"Advanced policy {name} already exists")
            self.advanced[name] = {**body, "policyId": str(uuid.uuid4())}
            return json_response(self.advanced[name], 201)
        if path.startswith(DEVPORTAL):
            return self._devportal(request, [p for p in path[len(DEVPORTAL):].split("/") if p])
        raise _error(404, "Not Found", "no such resource")

    def _register(self, request: Request) -> Response:
        auth = self._basic(request)
        if auth is None or self.users.get(auth[0]) != auth[1]:
            raise HttpError(401, {"error": "invalid_client", "error_description": "Authentication failed"})
        body = body_of(request)
        client_id, client_secret = wso2_random(), wso2_random()
        self.clients[client_id] = {"secret": client_secret, "kind": "admin", "owner": auth[0]}
        return json_response({"clientId": client_id, "clientSecret": client_secret,
                              "clientName": body.get("clientName"), "callBackURL": body.get("callbackUrl", ""),
                              "isSaasApplication": True})

    def _token(self, request: Request) -> Response:
        auth = self._basic(request)
        client = self.clients.get(auth[0]) if auth else None
        if auth is None or client is None or client["secret"] != auth[1]:
            raise HttpError(401, {"error": "invalid_client", "error_description": "Client Authentication failed."})
        grant = request.form.get("grant_type")
        if grant == "password" and client["kind"] == "admin":
            if self.users.get(request.form.get("username", "")) != request.form.get("password"):
                user = request.form.get("username", "")
                raise HttpError(400, {"error": "invalid_grant",
                                      "error_description": f"Authentication failed for {user}"})
            kind, app_id = "admin", None
        elif grant == "client_credentials" and client["kind"] == "app":
            kind, app_id = "app", client["app"]
        else:
            raise HttpError(400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"})
        access = str(uuid.uuid4())
        self.tokens[access] = {"kind": kind, "app": app_id, "client": auth[0], "expires": time.time() + 3600}
        return json_response({"access_token": access, "scope": request.form.get("scope", "default"),
                              "token_type": "Bearer", "expires_in": 3600})

    # -- gateway -----------------------------------------------------------------------------
    def gateway(self, request: Request) -> Response:
        with self.lock:
            try:
                target = self._authorize(request)
            except HttpError as exc:
                return json_response(exc.body, exc.status)
        upstream = requests.request(request.method, target, timeout=5)
        return Response(upstream.content, status=upstream.status_code,
                        mimetype=upstream.headers.get("Content-Type", "application/json"))

    def _authorize(self, request: Request) -> str:
        api = next((a for a in self.apis.values() if a["lifeCycleStatus"] == "PUBLISHED"
                    and request.path.startswith(f"{a['context']}/{a['version']}")), None)
        if api is None:
            raise _fault(404, 404, "No matching resource found for given API Request", request.path)
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise _fault(401, 900902, "Missing Credentials", "Invalid Credentials. Make sure your API invocation "
                         "call has a header: 'Authorization : Bearer ACCESS_TOKEN'")
        token = self.tokens.get(header[7:])
        if token is None or token["kind"] != "app" or token["expires"] < time.time():
            raise _fault(401, 900901, "Invalid Credentials", "Invalid Credentials. Make sure you have provided the "
                         "correct security credentials")
        sub = next((s for s in self.subs.values() if s["applicationId"] == token["app"] and s["apiId"] == api["id"]
                    and s["status"] == "UNBLOCKED"), None)
        if sub is None:
            raise _fault(403, 900908, "Resource forbidden ", "User is NOT authorized to access the Resource. API "
                         "Subscription validation failed.")
        advanced = self.advanced.get(str(api.get("apiThrottlingPolicy")))
        if advanced is not None:
            window_key = (api["id"], str(token["app"]), int(time.time() // 60))
            self.api_hits[window_key] = self.api_hits.get(window_key, 0) + 1
            if self.api_hits[window_key] > int(advanced["defaultLimit"]["requestCount"]["requestCount"]):
                raise _fault(429, 900800, "Message throttled out", "You have exceeded your quota")
        quota = int(self.policies[sub["throttlingPolicy"]]["requestCount"])
        window = (sub["subscriptionId"], int(time.time() // 60))
        self.hits[window] = self.hits.get(window, 0) + 1
        if self.hits[window] > quota:
            raise _fault(429, 900802, "Message throttled out", "You have exceeded your quota")
        rest = request.path[len(f"{api['context']}/{api['version']}"):]
        return str(api["backend"]).rstrip("/") + "/" + str(api["name"]) + rest
