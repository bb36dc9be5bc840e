"""`TokenRoutes` for Express Gateway 1.16: an OAuth2 (JWT) route per API beside its key-auth route.

What is built, through the Admin API (checked against ``lib/policies/jwt``, ``lib/conditions`` and
``lib/rest/routes`` of 1.16.11):

* the ``jwt`` policy is activated (``PUT /policies/jwt``; the lab's starting config lists only
  key-auth, proxy, rate-limit, expression and terminate);
* a service endpoint ``oauth2-{api}`` to the API's own backend URL with ``/{api}`` appended, and an
  api endpoint ``oauth2-{api}`` on ``/oauth2/{api}`` and ``/oauth2/{api}/*``; the proxy strips that
  prefix (``stripPath``), so ``/oauth2/{api}/x`` reaches the backend as ``/{api}/x``;
* a pipeline ``oauth2-{api}``: ``jwt`` (``authBearer``, RS256 only, the realm's public key, ``issuer``,
  ``audience``; ``checkCredentialExistence: false``, since the client lives in Keycloak, not in the
  gateway), then ``terminate`` 403 unless the token's ``resource_access[client].roles`` holds the API
  (an ``expression`` condition; the names are spliced in as JSON string literals, and are already
  restricted to ``[A-Za-z0-9._-]`` by `TokenRouteSpec`), then ``proxy``.

The key-auth route of the same API is untouched (its pipeline is `ExpressGatewayAdapter`'s).
"""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import SecretStr

from integrations.gateway._http import AdminClient
from integrations.gateway.express_gateway import ExpressGatewayOptions, configured_urls
from toolkit.masking import Masker
from toolkit.ports.gateway import ApiRoute, GatewayNotFoundError, GatewayUnavailableError, acl_group
from toolkit.secret_types import reveal_url
from toolkit.settings import Settings
from toolkit.splp.token_route import TokenRouteSpec

PREFIX = "oauth2-"


class ExpressGatewayTokenRoutes:
    name = "express_gateway"
    Options = ExpressGatewayOptions  # built from the gateway's own options

    def __init__(self, settings: Settings, admin_url: str | SecretStr | None = None,
                 proxy_url: str | SecretStr | None = None, timeout_s: float = 10.0, reload_timeout_s: float = 20.0,
                 masker: Masker | None = None) -> None:
        masker = masker or Masker()
        admin, proxy = configured_urls(reveal_url(admin_url, masker), reveal_url(proxy_url, masker))
        self.admin = AdminClient("express-gateway", admin, masker=masker, timeout_s=timeout_s)
        self.proxy_url = proxy.rstrip("/")
        self.reload_timeout_s = reload_timeout_s

    def _get(self, kind: str, name: str) -> Any:
        response = self.admin.request("GET", f"/{kind}/{name}", allow=(404,))
        return None if response.status_code == 404 or not response.content else response.json()

    def _put(self, kind: str, name: str, body: Any) -> bool:
        """PUT unless already so, then wait for the hot reload; True when something changed."""
        if self._get(kind, name) == body:
            return False
        self.admin.request("PUT", f"/{kind}/{name}", json=body)
        deadline = time.monotonic() + self.reload_timeout_s
        while self._get(kind, name) != body:
            if time.monotonic() > deadline:
                raise GatewayUnavailableError(f"express-gateway did not reload {kind}/{name}",
                                              **GatewayUnavailableError.context("express-gateway", "PUT", kind))
            time.sleep(0.1)
        return True

    @staticmethod
    def role_expression(spec: TokenRouteSpec) -> str:
        client, role = json.dumps(spec.role_client), json.dumps(spec.api)
        return (f"!!(req.user && req.user.resource_access && req.user.resource_access[{client}] && "
                f"Array.isArray(req.user.resource_access[{client}].roles) && "
                f"req.user.resource_access[{client}].roles.indexOf({role}) !== -1)")

    def pipeline(self, spec: TokenRouteSpec) -> dict[str, Any]:
        name = PREFIX + spec.api
        return {"apiEndpoints": [name], "policies": [
            {"jwt": [{"action": {"jwtExtractor": "authBearer", "secretOrPublicKey": spec.public_key_pem,
                                 "checkCredentialExistence": False, "issuer": spec.issuer,
                                 "audience": spec.audience, "algorithms": ["RS256"]}}]},
            {"terminate": [{"condition": {"name": "not", "condition": {
                "name": "expression", "expression": self.role_expression(spec)}},
                "action": {"statusCode": 403, "message": "token does not grant this API"}}]},
            {"proxy": [{"action": {"serviceEndpoint": name, "stripPath": True}}]},
        ]}

    def ensure_token_route(self, spec: TokenRouteSpec) -> ApiRoute:
        upstream = self._get("service-endpoints", spec.api)
        if not isinstance(upstream, dict) or not upstream.get("url"):
            raise GatewayNotFoundError(f"API '{spec.api}' is not published on express-gateway",
                                       **GatewayNotFoundError.context("express-gateway", "GET",
                                                                      f"/service-endpoints/{spec.api}", 404))
        name = PREFIX + spec.api
        self.admin.request("PUT", "/policies/jwt")
        changed = self._put("service-endpoints", name, {"url": str(upstream["url"]).rstrip("/") + "/" + spec.api})
        changed |= self._put("api-endpoints", name, {"host": "*", "paths": [f"/oauth2/{spec.api}",
                                                                              f"/oauth2/{spec.api}/*"]})
        changed |= self._put("pipelines", name, self.pipeline(spec))
        url = f"{self.proxy_url}/oauth2/{spec.api}"
        if changed:
            self._wait_live(url)
        return ApiRoute(api=spec.api, route_id=name, url=url, auth="oauth2-client", acl_group=acl_group(spec.api),
                        created=changed)

    def _wait_live(self, url: str) -> None:
        """The router is rebuilt after the config reload: a call without a token answers 401 once it is."""
        deadline = time.monotonic() + self.reload_timeout_s
        while time.monotonic() < deadline:
            try:
                if self.admin.session.get(url, timeout=2).status_code == 401:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise GatewayUnavailableError(f"the token route {url} is not live on the express-gateway proxy",
                                      **GatewayUnavailableError.context("express-gateway", "GET", url))

    def bearer_headers(self, token: SecretStr) -> dict[str, str]:
        return {"Authorization": f"Bearer {token.get_secret_value()}"}
