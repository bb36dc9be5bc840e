"""Express Gateway's route listing and compliance switches (`GatewayControls`), a capability mixin of
`ExpressGatewayAdapter`, with the pipeline vocabulary both share.

* A consumer is disabled with ``PUT /users/{id}/status {"status": false}`` (key-auth then refuses every key
  of it), a credential with ``PUT /credentials/key-auth/{id}/status``; both answer the same for a repeated
  call (``lib/rest/routes/users.js`` and ``credentials.js`` of 1.16.11).
* A route-wide rate limit is a ``rate-limit`` entry without a condition, keyed ``{api}-default:${req.user.id}``
  so it counts apart from the per-consumer quota entries (they share one store: the same key would count
  each request twice). Per-consumer entries carry an ``expression`` condition naming the user's id.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Literal, Protocol

from toolkit.ports.gateway import GatewayNotFoundError, RouteInfo, require_gateway_name, require_key_id

from ._http import AdminClient

KEY_AUTH: Literal["key-auth"] = "key-auth"
PIPELINE_PREFIX = "spbe-"
_EXPR = re.compile(r"^req\.user && req\.user\.id === '([0-9a-f-]{36})'$")


def limits_of(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries of the pipeline's ``rate-limit`` policy (none: no such policy)."""
    for policy in pipeline.get("policies", []):
        if "rate-limit" in policy:
            return list(policy["rate-limit"] or [])
    return []


def limit_user(entry: dict[str, Any]) -> str | None:
    """The user id a per-consumer limit entry is for; None for a route-wide one."""
    match = _EXPR.fullmatch(str(entry.get("condition", {}).get("expression", "")))
    return match.group(1) if match else None


def default_key(api: str) -> str:
    return f"{api}-default:${{req.user.id}}"


class _Adapter(Protocol):
    """What the switches use of `ExpressGatewayAdapter`."""

    admin: AdminClient
    _config_lock: threading.Lock

    def _require_user(self, name: str) -> dict[str, Any]: ...

    def _credentials(self, user_id: str) -> list[dict[str, Any]]: ...

    def _get_config(self, kind: str, name: str) -> Any: ...

    def _wait_config(self, kind: str, name: str, expected: Any) -> None: ...

    def _pipeline(self, api: str, limits: list[dict[str, Any]]) -> dict[str, Any]: ...

    def _spbe_pipelines(self) -> dict[str, Any]: ...


class ExpressGatewaySwitches:
    """`Gateway.list_routes` and `GatewayControls` for `ExpressGatewayAdapter` (a mixin: it holds no state)."""

    def list_routes(self: _Adapter) -> list[RouteInfo]:
        routes = []
        for name, pipeline in sorted(self._spbe_pipelines().items()):
            limits = limits_of(pipeline)
            default = [e for e in limits if limit_user(e) is None]
            routes.append(RouteInfo(
                api=name.removeprefix(PIPELINE_PREFIX), route_id=name,
                policies=tuple(str(k) for p in pipeline.get("policies", []) for k in p),
                default_per_minute=int(default[0]["action"]["max"]) if default else None,
                consumer_limits=len(limits) - len(default)))
        return routes

    def set_consumer_active(self: _Adapter, consumer: str, active: bool) -> bool:
        user = self._require_user(consumer)
        before = bool(user.get("isActive", True))
        if before != active:
            self.admin.request("PUT", f"/users/{user['id']}/status", json={"status": active})
        return before

    def set_credential_active(self: _Adapter, consumer: str, key_id: str, active: bool) -> bool:
        key_id = require_key_id(key_id)
        user = self._require_user(consumer)
        cred = next((c for c in self._credentials(str(user["id"])) if str(c.get("keyId")) == key_id), None)
        if cred is None:
            raise GatewayNotFoundError(
                f"consumer '{consumer}' has no credential '{key_id}' on express-gateway",
                **GatewayNotFoundError.context("express-gateway", "GET", f"/credentials/{user['id']}", 404))
        before = bool(cred.get("isActive"))
        if before != active:
            self.admin.request("PUT", f"/credentials/{KEY_AUTH}/{key_id}/status", json={"status": active})
        return before

    def set_default_rate_limit(self: _Adapter, api: str, per_minute: int | None) -> int | None:
        api = require_gateway_name(api, "api")
        name = PIPELINE_PREFIX + api
        with self._config_lock:
            pipeline = self._get_config("pipelines", name)
            if pipeline is None:
                where = GatewayNotFoundError.context("express-gateway", "GET", f"/pipelines/{name}", 404)
                raise GatewayNotFoundError(f"no route for API '{api}' on express-gateway", **where)
            limits = limits_of(pipeline)
            before = next((int(e["action"]["max"]) for e in limits if limit_user(e) is None), None)
            kept = [e for e in limits if limit_user(e) is not None]
            if per_minute is not None:
                kept.append({"action": {"max": int(per_minute), "windowMs": 60000, "rateLimitBy": default_key(api)}})
            updated = self._pipeline(api, kept)
            if updated != pipeline:
                self.admin.request("PUT", f"/pipelines/{name}", json=updated)
                self._wait_config("pipelines", name, updated)
        return before
