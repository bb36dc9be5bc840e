"""`Gateway` adapter for Express Gateway 1.16 (npm ``express-gateway``), through its Admin API.

Mapping (checked against the package's own routes, ``lib/rest/routes/*.js`` of 1.16.11):

* API published by its provider = a *service endpoint* named after the API (``GET /service-endpoints/{api}``);
  the route = an *api endpoint* ``{api}`` on ``/{api}`` and ``/{api}/*`` that requires the scope
  ``api-{api}``, plus a pipeline ``spbe-{api}``: ``key-auth`` (header ``Authorization: apiKey ID:SECRET``,
  query-string keys disabled so keys never land in access logs), per-consumer ``rate-limit``, ``proxy``.
  Config changes are written to gateway.config.yml by the admin API and hot-reloaded by a file watcher;
  ``GET /pipelines/{name}`` answers from memory, so it shows when a change is live.
* consumer = a *user* (``POST /users`` answers 409 ``username already exists``; ``GET /users/{name}``
  404 ``User not found``); list is paged with ``start``/``count`` and ``nextKey`` (0 at the end).
* credential = a ``key-auth`` credential (``POST /credentials`` -> ``keyId``/``keySecret``); ACL = the
  credential's scopes (``PUT /credentials/key-auth/{id}/scopes/{scope}``; scopes must exist: ``POST /scopes``
  answers 409 when they do); revoke = ``PUT /credentials/key-auth/{id}/status {"status": false}``.
* Errors are plain text bodies; a missing consumer on ``POST /credentials`` is 422.
* Key-auth credentials have no expiry in Express Gateway: ``expires_at`` is reported from ``ttl_days``
  and enforced by the toolkit (``spbe api`` lists and revokes expired consumers).
* The Admin API lists credentials *with* their secrets: they are dropped on read and never logged.
* The route listing and the compliance switches (`GatewayControls`) are in `express_gateway_switches`.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field, SecretStr

from toolkit.adapter_options import AdapterOptions
from toolkit.errors import ConfigurationError
from toolkit.masking import Masker, last4
from toolkit.ports.gateway import (
    AclGroup,
    ApiRoute,
    Consumer,
    ConsumerInfo,
    Credential,
    CredentialInfo,
    GatewayNotFoundError,
    GatewayUnavailableError,
    RateLimit,
    acl_group,
    require_gateway_name,
)
from toolkit.secret_types import ServiceUrl, reveal_url
from toolkit.settings import Settings

from ._http import AdminClient
from .express_gateway_switches import KEY_AUTH, PIPELINE_PREFIX, ExpressGatewaySwitches, limits_of
from .express_gateway_switches import limit_user as _limit_user

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def parse_js_date(value: Any) -> datetime | None:
    """Express Gateway stores ``Date.toString()``: ``Mon Nov 23 2026 11:17:40 GMT+0000 (Coordinated ...)``."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.split(" (", 1)[0], "%a %b %d %Y %H:%M:%S GMT%z")
    except ValueError:
        return None


def configured_urls(admin: str | None, proxy: str | None) -> tuple[str, str]:
    """Both URLs, or a ConfigurationError naming the missing options: there is no default gateway (a lab
    writes its own gateway's URLs into the settings file it makes)."""
    if not admin or not proxy:
        missing = [name for name, url in (("admin_url", admin), ("proxy_url", proxy)) if not url]
        raise ConfigurationError(f"express_gateway needs gateway.options {' and '.join(missing)}", missing=missing)
    return admin, proxy


class ExpressGatewayOptions(AdapterOptions):
    """``gateway.options`` of express_gateway, shared by its token routes (they talk to the same
    Admin API). Both URLs must be configured."""

    admin_url: ServiceUrl | None = Field(default=None, description="Admin API, e.g. http://127.0.0.1:9876")
    proxy_url: ServiceUrl | None = Field(default=None, description="the proxy consumers call")
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    reload_timeout_s: float = Field(default=20.0, gt=0, le=600,
                                    description="how long a config change may take to be hot-reloaded")


class ExpressGatewayAdapter(ExpressGatewaySwitches):
    name = "express_gateway"
    Options = ExpressGatewayOptions

    def __init__(self, settings: Settings, admin_url: str | SecretStr | None = None,
                 proxy_url: str | SecretStr | None = None, timeout_s: float = 10.0, reload_timeout_s: float = 20.0,
                 masker: Masker | None = None) -> None:
        self.masker = masker or Masker()
        admin, proxy = configured_urls(reveal_url(admin_url, self.masker), reveal_url(proxy_url, self.masker))
        self.admin = AdminClient("express-gateway", admin, masker=self.masker, timeout_s=timeout_s)
        self.proxy_url = proxy.rstrip("/")
        self.reload_timeout_s = reload_timeout_s
        self._config_lock = threading.Lock()  # read-modify-write of one pipeline at a time

    # ------------------------------------------------------------------ routes

    def ensure_route(self, api: str) -> ApiRoute:
        api = require_gateway_name(api, "api")
        group = acl_group(api)
        if self.admin.request("GET", f"/service-endpoints/{api}", allow=(404,)).status_code == 404:
            raise GatewayNotFoundError(
                f"API '{api}' is not published on express-gateway (no service endpoint '{api}')",
                **GatewayNotFoundError.context("express-gateway", "GET", f"/service-endpoints/{api}", 404))
        self._ensure_scope(group)
        endpoint = {"host": "*", "paths": [f"/{api}", f"/{api}/*"], "scopes": [group]}
        pipeline_name = PIPELINE_PREFIX + api
        created = False
        with self._config_lock:
            if self._get_config("api-endpoints", api) != endpoint:
                self.admin.request("PUT", f"/api-endpoints/{api}", json=endpoint)
                self._wait_config("api-endpoints", api, endpoint)
                created = True
            current = self._get_config("pipelines", pipeline_name)
            if current is None:
                pipeline = self._pipeline(api, [])
                self.admin.request("PUT", f"/pipelines/{pipeline_name}", json=pipeline)
                self._wait_config("pipelines", pipeline_name, pipeline)
                created = True
        if created:
            self._wait_route_live(api)
        return ApiRoute(api=api, route_id=pipeline_name, url=f"{self.proxy_url}/{api}", acl_group=group,
                        created=created)

    def _pipeline(self, api: str, limits: list[dict[str, Any]]) -> dict[str, Any]:
        policies: list[dict[str, Any]] = [
            {"key-auth": [{"action": {"apiKeyHeader": "Authorization", "apiKeyHeaderScheme": "apiKey",
                                      "disableQueryParam": True}}]},
        ]
        if limits:
            policies.append({"rate-limit": limits})
        policies.append({"proxy": [{"action": {"serviceEndpoint": api}}]})
        return {"apiEndpoints": [api], "policies": policies}

    def _get_config(self, kind: str, name: str) -> Any:
        response = self.admin.request("GET", f"/{kind}/{name}", allow=(404,))
        return None if response.status_code == 404 or not response.content else response.json()

    def _wait_config(self, kind: str, name: str, expected: Any) -> None:
        """Wait until the hot reload has put ``expected`` in the running config (``None``: removed)."""
        deadline = time.monotonic() + self.reload_timeout_s
        while self._get_config(kind, name) != expected:
            if time.monotonic() > deadline:
                raise GatewayUnavailableError(
                    f"express-gateway did not reload {kind}/{name} within {self.reload_timeout_s:g} s",
                    **GatewayUnavailableError.context("express-gateway", "PUT", f"/{kind}/{name}"))
            time.sleep(0.1)

    def _wait_route_live(self, api: str) -> None:
        """The config is in memory before the router is rebuilt: a keyless call answers 401 once it is."""
        deadline = time.monotonic() + self.reload_timeout_s
        while time.monotonic() < deadline:
            try:
                if self.admin.session.get(f"{self.proxy_url}/{api}", timeout=2).status_code == 401:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise GatewayUnavailableError(f"the route for '{api}' is not live on the express-gateway proxy",
                                      **GatewayUnavailableError.context("express-gateway", "GET", f"/{api}"))

    def _ensure_scope(self, scope: str) -> None:
        self.admin.request("POST", "/scopes", json={"scopes": [scope]}, ok=(201,), allow=(409,))

    # ------------------------------------------------------------------ consumers

    def _user(self, name: str) -> dict[str, Any] | None:
        response = self.admin.request("GET", f"/users/{require_gateway_name(name, 'consumer')}", allow=(404,))
        if response.status_code == 404:
            return None
        user: dict[str, Any] = response.json()
        return user

    @staticmethod
    def _consumer(user: dict[str, Any], created: bool = False) -> Consumer:
        return Consumer(id=str(user["id"]), name=str(user["username"]), active=bool(user.get("isActive", True)),
                        created_at=parse_js_date(user.get("createdAt")), created=created)

    def get_consumer(self, name: str) -> Consumer | None:
        user = self._user(name)
        return None if user is None else self._consumer(user)

    def ensure_consumer(self, name: str) -> Consumer:
        name = require_gateway_name(name, "consumer")
        user = self._user(name)
        if user is not None:
            return self._consumer(user)
        response = self.admin.request("POST", "/users", json={"username": name, "firstname": name, "lastname": "spbe"},
                                      ok=(200, 201), allow=(409,))
        if response.status_code == 409:  # created by a racing call in between: still exactly one
            user = self._user(name)
            if user is None:
                raise GatewayUnavailableError(f"express-gateway said user '{name}' exists but does not show it")
            return self._consumer(user)
        return self._consumer(response.json(), created=True)

    def _require_user(self, name: str) -> dict[str, Any]:
        user = self._user(name)
        if user is None:
            raise GatewayNotFoundError(f"consumer '{name}' does not exist on express-gateway",
                                       **GatewayNotFoundError.context("express-gateway", "GET", f"/users/{name}", 404))
        return user

    def _credentials(self, user_id: str) -> list[dict[str, Any]]:
        body = self.admin.request("GET", f"/credentials/{user_id}").json() or {}
        creds = [c for c in body.get("credentials", []) if c.get("type", KEY_AUTH) == KEY_AUTH]
        for cred in creds:
            secret = cred.pop("keySecret", None)  # the admin API returns it; it goes no further than this
            if isinstance(secret, str):
                self.masker.add(secret)
                cred["masked"] = last4(secret)
        return creds

    # ------------------------------------------------------------------ credentials

    def _issue(self, user: dict[str, Any], scopes: list[str], ttl_days: int | None) -> Credential:
        body = self.admin.json("POST", "/credentials", ok=(200, 201),
                               json={"consumerId": user["id"], "type": KEY_AUTH, "credential": {"scopes": scopes}})
        secret = str(body["keySecret"])
        self.masker.add(secret)
        created = parse_js_date(body.get("createdAt")) or datetime.now(UTC)
        return Credential(consumer=str(user["username"]), consumer_id=str(user["id"]), kind=KEY_AUTH,
                          key_id=str(body["keyId"]), secret=secret,  # type: ignore[arg-type]
                          created_at=created, expires_at=created + timedelta(days=ttl_days) if ttl_days else None)

    def issue_key_credential(self, consumer: str, ttl_days: int | None = None) -> Credential:
        return self._issue(self._require_user(consumer), [], ttl_days)

    def restrict_to_api(self, consumer: str, api: str) -> AclGroup:
        group = acl_group(api)
        user = self._require_user(consumer)
        self._ensure_scope(group)
        for cred in self._credentials(str(user["id"])):
            if cred.get("isActive") and group not in (cred.get("scopes") or []):
                self.admin.request("PUT", f"/credentials/{KEY_AUTH}/{cred['keyId']}/scopes/{group}")
        return AclGroup(consumer=consumer, api=api, group=group)

    def revoke(self, consumer: str) -> list[str]:
        user = self._require_user(consumer)
        revoked = []
        for cred in self._credentials(str(user["id"])):
            if cred.get("isActive"):
                self.admin.request("PUT", f"/credentials/{KEY_AUTH}/{cred['keyId']}/status", json={"status": False})
                revoked.append(str(cred["keyId"]))
        return revoked

    def rotate(self, consumer: str, ttl_days: int | None = None) -> Credential:
        user = self._require_user(consumer)
        old = [c for c in self._credentials(str(user["id"])) if c.get("isActive")]
        scopes = sorted({s for c in old for s in (c.get("scopes") or [])})
        new = self._issue(user, scopes, ttl_days)
        for cred in old:
            self.admin.request("PUT", f"/credentials/{KEY_AUTH}/{cred['keyId']}/status", json={"status": False})
        return new

    def auth_headers(self, credential: Credential) -> dict[str, str]:
        return {"Authorization": f"apiKey {credential.key_id}:{credential.secret.get_secret_value()}"}

    # ------------------------------------------------------------------ rate limits

    def set_rate_limit(self, consumer: str, api: str, per_minute: int) -> RateLimit:
        api = require_gateway_name(api, "api")
        user = self._require_user(consumer)
        user_id = str(user["id"])
        if not _UUID.fullmatch(user_id):  # it is spliced into an EG expression: only a UUID may be
            raise GatewayUnavailableError(f"express-gateway returned an unexpected user id for '{consumer}'")
        name = PIPELINE_PREFIX + api
        with self._config_lock:
            pipeline = self._get_config("pipelines", name)
            if pipeline is None:
                where = GatewayNotFoundError.context("express-gateway", "GET", f"/pipelines/{name}", 404)
                raise GatewayNotFoundError(f"no route for API '{api}' on express-gateway (ensure_route first)", **where)
            limits = [e for e in self._limits(pipeline) if _limit_user(e) != user_id]
            expression = f"req.user && req.user.id === '{user_id}'"
            limits.append({"condition": {"name": "expression", "expression": expression},
                           "action": {"max": per_minute, "windowMs": 60000, "rateLimitBy": "${req.user.id}"}})
            updated = self._pipeline(api, limits)
            if updated != pipeline:
                self.admin.request("PUT", f"/pipelines/{name}", json=updated)
                self._wait_config("pipelines", name, updated)
        return RateLimit(consumer=consumer, api=api, per_minute=per_minute, requested_per_minute=per_minute,
                         policy=f"{name}/rate-limit")

    @staticmethod
    def _limits(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
        return limits_of(pipeline)

    # ------------------------------------------------------------------ listing and removal

    def _user_pages(self) -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = []
        start = 0
        for _ in range(10000):
            body = self.admin.json("GET", f"/users?start={start}&count=100") or {}
            users += body.get("users", [])
            start = int(body.get("nextKey") or 0)
            if start == 0:
                return users
        raise GatewayUnavailableError("express-gateway user listing did not end")

    def _spbe_pipelines(self) -> dict[str, Any]:
        body = self.admin.json("GET", "/pipelines") or {}
        return {k: v for k, v in body.items() if k.startswith(PIPELINE_PREFIX)}

    def list_consumers(self) -> list[ConsumerInfo]:
        pipelines = self._spbe_pipelines()
        result = []
        for user in sorted(self._user_pages(), key=lambda u: str(u.get("username"))):
            try:
                consumer = self._consumer(user)
            except ValueError:
                continue  # a user not made by us, with a name outside the gateway-safe alphabet
            creds = self._credentials(consumer.id)
            infos = tuple(CredentialInfo(key_id=str(c["keyId"]), kind=KEY_AUTH, active=bool(c.get("isActive")),
                                         created_at=parse_js_date(c.get("createdAt")), masked=c.get("masked", ""))
                          for c in creds)
            groups = tuple(sorted({s for c in creds if c.get("isActive") for s in (c.get("scopes") or [])}))
            limits = tuple(RateLimit(consumer=consumer.name, api=name.removeprefix(PIPELINE_PREFIX),
                                     per_minute=int(e["action"]["max"]), requested_per_minute=int(e["action"]["max"]),
                                     policy=f"{name}/rate-limit")
                           for name, p in sorted(pipelines.items()) for e in self._limits(p)
                           if _limit_user(e) == consumer.id)
            result.append(ConsumerInfo(consumer=consumer, credentials=infos, groups=groups, rate_limits=limits))
        return result

    def delete_consumer(self, consumer: str) -> bool:
        user = self._user(consumer)
        if user is None:
            return False
        user_id = str(user["id"])
        with self._config_lock:
            for name, pipeline in self._spbe_pipelines().items():
                limits = self._limits(pipeline)
                kept = [e for e in limits if _limit_user(e) != user_id]
                if kept != limits:
                    updated = self._pipeline(name.removeprefix(PIPELINE_PREFIX), kept)
                    self.admin.request("PUT", f"/pipelines/{name}", json=updated)
                    self._wait_config("pipelines", name, updated)
        # Deleting the user deletes its credentials with it.
        return self.admin.request("DELETE", f"/users/{user_id}", ok=(204,), allow=(404,)).status_code == 204
