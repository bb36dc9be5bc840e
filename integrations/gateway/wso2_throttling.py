"""WSO2 API Manager's API roots, throttling quotas, and the adapter's route listing and compliance switches
(`GatewayControls`) as a capability mixin of `Wso2Adapter`.

* Routes (`list_routes`): each published API, its subscription tiers (Publisher ``policies``) and its
  API-level *advanced* throttling policy (``apiThrottlingPolicy``, resolved through the Admin API
  ``GET /api/am/admin/v4/throttling/policies/advanced``): that policy is the route-wide limit; each
  subscription on a tier other than ``Unlimited`` is a per-consumer limit.
* An application has no status of its own in the REST APIs, so it is disabled by blocking each of its
  subscriptions (Publisher ``POST /subscriptions/block-subscription?subscriptionId=&blockState=BLOCKED``)
  and enabled by unblocking them (``/unblock-subscription``); the adapter's listing reports an application
  without an unblocked subscription as inactive (it reaches no API).
* A route-wide limit is an advanced policy (Admin API ``POST /throttling/policies/advanced``, one per quota,
  named ``spbe-{N}-per-min``) set as the API's ``apiThrottlingPolicy`` by ``PUT /apis/{id}`` with the API as
  read; removing it sets ``null``.
* Application keys have no status: regenerating a secret cannot be undone, so `set_credential_active`
  refuses rather than regenerate.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

from toolkit.errors import InvalidInputError
from toolkit.ports.gateway import (
    GatewayNotFoundError,
    GatewayRequestError,
    RouteInfo,
    require_gateway_name,
    require_key_id,
)

DEVPORTAL = "/api/am/devportal/v3"
PUBLISHER = "/api/am/publisher/v4"
ADMIN = "/api/am/admin/v4"
UNLIMITED = "Unlimited"
BLOCKED = ("BLOCKED", "PROD_ONLY_BLOCKED")
_PER_MINUTE = {"sec": 60.0, "second": 60.0, "min": 1.0, "minute": 1.0, "hour": 1 / 60, "day": 1 / 1440}


def tier_per_minute(policy: dict[str, Any]) -> float | None:
    """A subscription tier's request quota per minute (None: unlimited or not a request-count tier)."""
    if policy.get("name") == UNLIMITED:
        return None
    count, unit_time = policy.get("requestCount"), policy.get("unitTime") or 1
    factor = _PER_MINUTE.get(str(policy.get("timeUnit", "")).lower())
    if not isinstance(count, int) or count <= 0 or factor is None:
        return None
    return count * factor / unit_time


def advanced_per_minute(policy: dict[str, Any]) -> float | None:
    """An advanced (API-level) policy's default request limit per minute (None: bandwidth or unknown)."""
    limit = (policy.get("defaultLimit") or {}).get("requestCount") or {}
    return tier_per_minute({"name": policy.get("policyName"), **limit}) if limit else None


class _Adapter(Protocol):
    """What the switches use of `Wso2Adapter`."""

    def _call(self, method: str, path: str, **kwargs: Any) -> Any: ...

    def _json(self, method: str, path: str, **kwargs: Any) -> Any: ...

    def _pages(self, path: str) -> list[dict[str, Any]]: ...

    def _api(self, api: str, portal: str = PUBLISHER) -> dict[str, Any]: ...

    def _require_app(self, name: str) -> dict[str, Any]: ...

    def _key_mappings(self, app_id: str) -> list[dict[str, Any]]: ...

    def _subscriptions(self, app_id: str) -> list[dict[str, Any]]: ...


class Wso2Switches:
    """`Gateway.list_routes` and `GatewayControls` for `Wso2Adapter` (a mixin: it holds no state)."""

    def list_routes(self: _Adapter) -> list[RouteInfo]:
        advanced = {p.get("policyName"): advanced_per_minute(p)
                    for p in self._pages(f"{ADMIN}/throttling/policies/advanced")}
        tiers = {p["name"]: tier_per_minute(p) for p in self._pages(f"{DEVPORTAL}/throttling-policies/subscription")}
        result = []
        for found in self._pages(f"{PUBLISHER}/apis"):
            if found.get("lifeCycleStatus", "PUBLISHED") != "PUBLISHED":
                continue
            try:
                api = require_gateway_name(str(found.get("name", "")), "api")
            except InvalidInputError:
                continue  # an API not named in the gateway-safe alphabet is not one spbe routes to
            details = self._json("GET", f"{PUBLISHER}/apis/{found['id']}") or {}
            policy = details.get("apiThrottlingPolicy")
            per_minute = advanced.get(policy) if policy else None
            subs = self._pages(f"{DEVPORTAL}/subscriptions?apiId={found['id']}")
            result.append(RouteInfo(
                api=api, route_id=str(found["id"]),
                policies=tuple(str(t) for t in details.get("policies", [])) + ((str(policy),) if policy else ()),
                default_per_minute=int(per_minute) if per_minute else None,
                consumer_limits=sum(1 for s in subs if tiers.get(str(s.get("throttlingPolicy")))
                                    and s.get("status", "UNBLOCKED") == "UNBLOCKED")))
        return sorted(result, key=lambda r: r.api)

    def set_consumer_active(self: _Adapter, consumer: str, active: bool) -> bool:
        app = self._require_app(consumer)
        subs = self._subscriptions(str(app["applicationId"]))
        before = any(s.get("status", "UNBLOCKED") == "UNBLOCKED" for s in subs)
        for sub in subs:
            sid = quote(str(sub["subscriptionId"]), safe="")
            if active and sub.get("status") in BLOCKED:
                self._call("POST", f"{PUBLISHER}/subscriptions/unblock-subscription?subscriptionId={sid}")
            elif not active and sub.get("status", "UNBLOCKED") == "UNBLOCKED":
                self._call("POST", f"{PUBLISHER}/subscriptions/block-subscription?subscriptionId={sid}"
                                   "&blockState=BLOCKED")
        return before

    def set_credential_active(self: _Adapter, consumer: str, key_id: str, active: bool) -> bool:
        require_key_id(key_id)
        app = self._require_app(consumer)
        if not any(str(k.get("consumerKey")) == key_id for k in self._key_mappings(str(app["applicationId"]))):
            raise GatewayNotFoundError(f"consumer '{consumer}' has no key '{key_id}' on wso2",
                                       **GatewayNotFoundError.context("wso2", "GET", f"{DEVPORTAL}/oauth-keys", 404))
        if active:
            return True
        raise GatewayRequestError("wso2 application keys have no status: a secret can only be regenerated (not "
                                  "undone)", **GatewayRequestError.context("wso2", "POST", "regenerate-secret"))

    def set_default_rate_limit(self: _Adapter, api: str, per_minute: int | None) -> int | None:
        found = self._api(api)
        path = f"{PUBLISHER}/apis/{quote(str(found['id']), safe='')}"
        details = self._json("GET", path) or {}
        advanced = {p.get("policyName"): p for p in self._pages(f"{ADMIN}/throttling/policies/advanced")}
        current = details.get("apiThrottlingPolicy")
        previous = advanced_per_minute(advanced[current]) if current in advanced else None
        wanted = None
        if per_minute is not None:
            wanted = f"spbe-{int(per_minute)}-per-min"
            if wanted not in advanced:
                self._call("POST", f"{ADMIN}/throttling/policies/advanced", ok=(201,), allow=(409,), json={
                    "policyName": wanted, "description": "SPBE: batas laju rute (kepatuhan SPLP)",
                    "defaultLimit": {"type": "REQUESTCOUNTLIMIT", "requestCount": {
                        "timeUnit": "min", "unitTime": 1, "requestCount": int(per_minute)}}})
        if current != wanted:
            self._call("PUT", path, json={**details, "apiThrottlingPolicy": wanted})
        return int(previous) if previous else None
