"""`Gateway` adapter for WSO2 API Manager 4.x, the product behind the national SPLP.

Mapping, per WSO2 APIM 4.x's REST APIs (Devportal v3, Publisher v4) and its key manager:

* admin access token: Dynamic Client Registration ``POST /client-registration/v0.17/register`` (basic
  auth of the admin user) gives a client id/secret; ``POST /oauth2/token`` with the password grant and
  the ``apim:*`` scopes gives the bearer token. A 401 from a REST call refreshes the token once.
* API published by its provider = an API in state PUBLISHED found by
  ``GET /api/am/publisher/v4/apis?query=name:{api}``; the route is the API's context on the gateway.
* consumer = a Devportal *application* (``POST /api/am/devportal/v3/applications``; 409 when the name is
  taken); credential = OAuth2 client credentials from ``POST /applications/{id}/generate-keys`` (grant
  ``client_credentials``), or, when the application already has keys, a new secret from
  ``POST /applications/{id}/oauth-keys/{keyMappingId}/regenerate-secret`` (the old secret stops working).
* ACL = a *subscription* of the application to the API (``POST /subscriptions``); quota = the
  subscription's throttling tier: WSO2 limits by tier, not by an arbitrary number, so the smallest
  subscription tier of that API whose per-minute quota covers the request is chosen, and the quota in
  force is reported (`RateLimit.per_minute` may be higher than requested, never lower).
* revoke = remove the subscriptions and regenerate the secret without keeping it; delete = delete the app.
* Lists are ``{"count", "list": [...], "pagination": {"offset", "limit", "total", "next", "previous"}}``;
  errors are ``{"code", "message", "description", ...}``.
* The route listing and the compliance switches (`GatewayControls`) are in `wso2_throttling`.
* Credential expiry: application keys do not expire in WSO2; ``expires_at`` is reported from ``ttl_days``
  and enforced by the toolkit.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

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
    acl_group,
    require_gateway_name,
)
from toolkit.secret_types import SecretName, ServiceUrl, reveal_url
from toolkit.settings import Settings

from ._http import AdminClient, json_message
from .wso2_throttling import DEVPORTAL, PUBLISHER, UNLIMITED, Wso2Switches
from .wso2_throttling import tier_per_minute as _tier_per_minute

SCOPES = ("apim:subscribe apim:app_manage apim:sub_manage apim:api_view apim:api_key apim:admin_tier_view "
          "apim:admin_tier_manage apim:api_create apim:subscription_block")
MAX_PAGES = 10000


class Wso2Options(AdapterOptions):
    """``gateway.options`` of wso2."""

    base_url: ServiceUrl = Field(description="API Manager (REST APIs, DCR, token endpoint), e.g. https://apim:9443")
    gateway_url: ServiceUrl = Field(description="the gateway consumers call, e.g. https://apim:8243")
    username: str = Field(default="admin", min_length=1, max_length=128)
    password_secret: SecretName = Field(default="wso2_admin_password",
                                        description="the settings.secrets entry holding the admin password")
    timeout_s: float = Field(default=15.0, gt=0, le=600)
    verify_tls: bool = True


class Wso2Adapter(Wso2Switches):
    name = "wso2"
    Options = Wso2Options

    def __init__(self, settings: Settings, base_url: str | SecretStr, gateway_url: str | SecretStr,
                 username: str = "admin",
                 password_secret: str = "wso2_admin_password",  # noqa: S107 - a secret's name, not a secret
                 timeout_s: float = 15.0, verify_tls: bool = True,
                 masker: Masker | None = None) -> None:
        self.masker = masker or Masker()
        self.username = username
        self.password = settings.secret(password_secret)
        self.masker.add(self.password)
        self.base_url = str(reveal_url(base_url, self.masker)).rstrip("/")
        self.gateway_url = str(reveal_url(gateway_url, self.masker)).rstrip("/")
        self.rest = AdminClient("wso2", self.base_url, masker=self.masker, timeout_s=timeout_s,
                                message=json_message("description", "message", "error_description"),
                                verify=verify_tls)
        self._token_lock = threading.Lock()
        self._token_expires = 0.0

    # ------------------------------------------------------------------ admin token

    def _login(self) -> None:
        auth = (self.username, self.password.get_secret_value())
        client = self.rest.json("POST", "/client-registration/v0.17/register", auth=auth, json={
            "callbackUrl": "", "clientName": "spbe-toolkit", "owner": self.username,
            "grantType": "password refresh_token", "saasApp": True})
        client_secret = str(client["clientSecret"])
        self.masker.add(client_secret)
        token = self.rest.json("POST", "/oauth2/token", auth=(str(client["clientId"]), client_secret), data={
            "grant_type": "password", "username": self.username, "password": self.password.get_secret_value(),
            "scope": SCOPES})
        access = str(token["access_token"])
        self.masker.add(access)
        self.rest.session.headers["Authorization"] = f"Bearer {access}"
        self._token_expires = time.monotonic() + float(token.get("expires_in", 3600)) - 30

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        with self._token_lock:
            if time.monotonic() >= self._token_expires:
                self._login()
        allow = tuple(kwargs.pop("allow", ()))
        response = self.rest.request(method, path, allow=(401, *allow), **kwargs)
        if response.status_code == 401:  # the token was revoked or expired early: one fresh login
            with self._token_lock:
                self._login()
            response = self.rest.request(method, path, allow=allow, **kwargs)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._call(method, path, **kwargs)
        return response.json() if response.content else None

    def _pages(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        offset = 0
        joiner = "&" if "?" in path else "?"
        for _ in range(MAX_PAGES):
            body = self._json("GET", f"{path}{joiner}limit=25&offset={offset}") or {}
            page = body.get("list", [])
            items += page
            total = int((body.get("pagination") or {}).get("total", len(items)))
            offset += len(page)
            if not page or offset >= total:
                return items
        raise GatewayUnavailableError(f"wso2 listing {path} did not end")

    # ------------------------------------------------------------------ APIs

    def _api(self, api: str, portal: str = PUBLISHER) -> dict[str, Any]:
        api = require_gateway_name(api, "api")
        found = [a for a in self._pages(f"{portal}/apis?query={quote('name:' + api)}") if a.get("name") == api]
        published = [a for a in found if a.get("lifeCycleStatus", "PUBLISHED") == "PUBLISHED"]
        if not published:
            state = f" (state {found[0].get('lifeCycleStatus')})" if found else ""
            raise GatewayNotFoundError(f"API '{api}' is not published on wso2{state}",
                                       **GatewayNotFoundError.context("wso2", "GET", f"{portal}/apis", 404))
        return published[0]

    def ensure_route(self, api: str) -> ApiRoute:
        found = self._api(api)
        context = str(found.get("context", f"/{api}")).rstrip("/")
        version = str(found.get("version", ""))
        url = f"{self.gateway_url}{context}" + (f"/{version}" if version and version not in context else "")
        return ApiRoute(api=api, route_id=str(found["id"]), url=url, auth="oauth2-client", acl_group=acl_group(api))

    # ------------------------------------------------------------------ applications

    def _app(self, name: str) -> dict[str, Any] | None:
        name = require_gateway_name(name, "consumer")
        apps = self._pages(f"{DEVPORTAL}/applications?query={quote(name)}")
        return next((a for a in apps if a.get("name") == name), None)

    def _require_app(self, name: str) -> dict[str, Any]:
        app = self._app(name)
        if app is None:
            raise GatewayNotFoundError(f"consumer application '{name}' does not exist on wso2",
                                       **GatewayNotFoundError.context("wso2", "GET", f"{DEVPORTAL}/applications", 404))
        return app

    @staticmethod
    def _consumer(app: dict[str, Any], created: bool = False) -> Consumer:
        return Consumer(id=str(app["applicationId"]), name=str(app["name"]),
                        active=str(app.get("status", "APPROVED")) == "APPROVED", created=created)

    def get_consumer(self, name: str) -> Consumer | None:
        app = self._app(name)
        return None if app is None else self._consumer(app)

    def ensure_consumer(self, name: str) -> Consumer:
        app = self._app(name)
        if app is not None:
            return self._consumer(app)
        response = self._call("POST", f"{DEVPORTAL}/applications", ok=(201,), allow=(409,), json={
            "name": name, "throttlingPolicy": UNLIMITED, "description": "SPBE SPLP consumer", "tokenType": "JWT"})
        if response.status_code == 409:
            return self._consumer(self._require_app(name))
        return self._consumer(response.json(), created=True)

    # ------------------------------------------------------------------ keys

    def _key_mappings(self, app_id: str) -> list[dict[str, Any]]:
        keys = (self._json("GET", f"{DEVPORTAL}/applications/{app_id}/oauth-keys") or {}).get("list", [])
        for key in keys:
            secret = key.pop("consumerSecret", None)
            if isinstance(secret, str):
                self.masker.add(secret)
        return [k for k in keys if k.get("keyType", "PRODUCTION") == "PRODUCTION"]

    def _new_secret(self, app: dict[str, Any], ttl_days: int | None) -> Credential:
        app_id = str(app["applicationId"])
        mappings = self._key_mappings(app_id)
        if mappings:
            mapping = mappings[0]
            body = self._json("POST", f"{DEVPORTAL}/applications/{app_id}/oauth-keys/{mapping['keyMappingId']}"
                                      "/regenerate-secret")
            key_id = str(body.get("consumerKey") or mapping["consumerKey"])
        else:
            body = self._json("POST", f"{DEVPORTAL}/applications/{app_id}/generate-keys", json={
                "keyType": "PRODUCTION", "keyManager": "Resident Key Manager",
                "grantTypesToBeSupported": ["client_credentials"], "callbackUrl": "", "scopes": ["default"],
                "validityTime": 3600, "additionalProperties": {}})
            key_id = str(body["consumerKey"])
        secret = str(body["consumerSecret"])
        self.masker.add(secret)
        now = datetime.now(UTC)
        return Credential(consumer=str(app["name"]), consumer_id=app_id, kind="oauth2-client", key_id=key_id,
                          secret=SecretStr(secret), created_at=now,
                          expires_at=now + timedelta(days=ttl_days) if ttl_days else None)

    def issue_key_credential(self, consumer: str, ttl_days: int | None = None) -> Credential:
        return self._new_secret(self._require_app(consumer), ttl_days)

    def rotate(self, consumer: str, ttl_days: int | None = None) -> Credential:
        """WSO2 regenerates the secret in one step: the new one works, the old one no longer does."""
        return self._new_secret(self._require_app(consumer), ttl_days)

    def auth_headers(self, credential: Credential) -> dict[str, str]:
        """Client credentials grant at the key manager, then the bearer token for the gateway."""
        token = self.rest.json("POST", "/oauth2/token", data={"grant_type": "client_credentials"},
                               auth=(credential.key_id, credential.secret.get_secret_value()))
        access = str(token["access_token"])
        self.masker.add(access)
        return {"Authorization": f"Bearer {access}"}

    # ------------------------------------------------------------------ subscriptions and tiers

    def _subscriptions(self, app_id: str) -> list[dict[str, Any]]:
        return self._pages(f"{DEVPORTAL}/subscriptions?applicationId={app_id}")

    def _tiers(self, api: dict[str, Any]) -> list[tuple[str, float | None]]:
        details = self._json("GET", f"{DEVPORTAL}/apis/{api['id']}") or {}
        allowed = [t.get("tierName") for t in details.get("tiers", [])]
        policies = {p["name"]: p for p in self._pages(f"{DEVPORTAL}/throttling-policies/subscription")}
        return [(name, _tier_per_minute(policies[name])) for name in allowed if name in policies]

    def restrict_to_api(self, consumer: str, api: str) -> AclGroup:
        app = self._require_app(consumer)
        found = self._api(api, DEVPORTAL)
        subs = self._subscriptions(str(app["applicationId"]))
        if not any(s.get("apiId") == found["id"] for s in subs):
            tiers = self._tiers(found)
            if not tiers:
                raise GatewayRequestError(f"API '{api}' on wso2 offers no subscription tier")
            smallest = min(tiers, key=lambda t: t[1] if t[1] is not None else float("inf"))
            self._call("POST", f"{DEVPORTAL}/subscriptions", ok=(201,), allow=(409,), json={
                "applicationId": app["applicationId"], "apiId": found["id"], "throttlingPolicy": smallest[0]})
        return AclGroup(consumer=consumer, api=api, group=acl_group(api))

    def set_rate_limit(self, consumer: str, api: str, per_minute: int) -> RateLimit:
        app = self._require_app(consumer)
        found = self._api(api, DEVPORTAL)
        covering = sorted((q, name) for name, q in self._tiers(found) if q is not None and q >= per_minute)
        if not covering:
            offered = ", ".join(f"{n} ({q:g}/min)" for n, q in self._tiers(found) if q is not None) or "none"
            raise GatewayRequestError(f"no subscription tier of API '{api}' on wso2 allows {per_minute} requests "
                                      f"per minute; offered: {offered}", requested=per_minute)
        quota, tier = covering[0]
        sub = next((s for s in self._subscriptions(str(app["applicationId"])) if s.get("apiId") == found["id"]), None)
        if sub is None:
            raise GatewayNotFoundError(f"'{consumer}' is not subscribed to '{api}' on wso2 (restrict_to_api first)")
        if sub.get("throttlingPolicy") != tier:
            self._call("PUT", f"{DEVPORTAL}/subscriptions/{sub['subscriptionId']}", json={
                "applicationId": app["applicationId"], "apiId": found["id"], "throttlingPolicy": tier,
                "subscriptionId": sub["subscriptionId"]})
        return RateLimit(consumer=consumer, api=api, per_minute=int(quota), requested_per_minute=per_minute,
                         policy=tier)

    def revoke(self, consumer: str) -> list[str]:
        app = self._require_app(consumer)
        app_id = str(app["applicationId"])
        for sub in self._subscriptions(app_id):
            self._call("DELETE", f"{DEVPORTAL}/subscriptions/{sub['subscriptionId']}", ok=(200, 204), allow=(404,))
        revoked = []
        for mapping in self._key_mappings(app_id):
            body = self._json("POST", f"{DEVPORTAL}/applications/{app_id}/oauth-keys/{mapping['keyMappingId']}"
                                      "/regenerate-secret")
            self.masker.add(str(body.get("consumerSecret", "")))  # thrown away: nobody holds a working secret
            revoked.append(str(mapping["consumerKey"]))
        return revoked

    # ------------------------------------------------------------------ listing and removal

    def list_consumers(self) -> list[ConsumerInfo]:
        apis = {a["id"]: a["name"] for a in self._pages(f"{DEVPORTAL}/apis")}
        tiers = self._pages(f"{DEVPORTAL}/throttling-policies/subscription")
        policies = {p["name"]: _tier_per_minute(p) for p in tiers}
        result = []
        for app in sorted(self._pages(f"{DEVPORTAL}/applications"), key=lambda a: str(a.get("name"))):
            try:
                consumer = self._consumer(app)
            except ValueError:
                continue
            creds = tuple(CredentialInfo(key_id=str(k["consumerKey"]), kind="oauth2-client",
                                         active=k.get("keyState", "COMPLETED") == "COMPLETED")
                          for k in self._key_mappings(consumer.id))
            subs = [s for s in self._subscriptions(consumer.id) if s.get("status", "UNBLOCKED") == "UNBLOCKED"]
            # An application reaches an API only through an unblocked subscription (see set_consumer_active).
            consumer = consumer.model_copy(update={"active": consumer.active and bool(subs)})
            groups = tuple(sorted(acl_group(apis[s["apiId"]]) for s in subs if s.get("apiId") in apis))
            limits = tuple(RateLimit(consumer=consumer.name, api=apis.get(s["apiId"], "?"),
                                     per_minute=int(policies.get(s.get("throttlingPolicy", "")) or 1),
                                     requested_per_minute=int(policies.get(s.get("throttlingPolicy", "")) or 1),
                                     policy=str(s.get("throttlingPolicy")))
                           for s in subs if policies.get(s.get("throttlingPolicy", "")))
            result.append(ConsumerInfo(consumer=consumer, credentials=creds, groups=groups, rate_limits=limits))
        return result

    def delete_consumer(self, consumer: str) -> bool:
        app = self._app(consumer)
        if app is None:
            return False
        self._call("DELETE", f"{DEVPORTAL}/applications/{app['applicationId']}", ok=(200, 204), allow=(404,))
        return True
