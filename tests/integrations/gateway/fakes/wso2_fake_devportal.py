"""The Devportal half of the WSO2 fake (applications, keys, subscriptions) and the helpers both halves share;
split from `wso2_fake` only to keep each file readable. What is modelled is listed in `wso2_fake`'s docstring.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from tests.integrations.gateway.fakes._server import HttpError, body_of, json_response


def wso2_random() -> str:
    """A consumer key or secret as WSO2's OAuthUtil.getRandomNumber() makes one: base64 of an HMAC-SHA1 with the
    characters its registry cannot hold mapped away, so about one in 64 starts with "_" (the adapter must take it)."""
    raw = hmac.new(uuid.uuid4().bytes, uuid.uuid4().bytes, hashlib.sha1).digest()
    return base64.b64encode(raw).decode().replace("/", "_").replace("=", "a").replace("+", "f")


def error(status: int, message: str, description: str) -> HttpError:
    return HttpError(status, {"code": status, "message": message, "description": description, "moreInfo": "",
                              "error": []})


def fault(status: int, code: int, message: str, description: str) -> HttpError:
    return HttpError(status, {"fault": {"code": code, "message": message, "description": description}})


class DevportalMixin:
    """Uses the fake's stores (``apis``, ``apps``, ``subs``, ``clients``, ``tokens``, ``policies``) and its
    listing helpers, declared here for the type checker."""

    apis: dict[str, dict[str, Any]]
    apps: dict[str, dict[str, Any]]
    subs: dict[str, dict[str, Any]]
    clients: dict[str, dict[str, Any]]
    tokens: dict[str, dict[str, Any]]
    policies: dict[str, dict[str, Any]]

    if TYPE_CHECKING:
        @staticmethod
        def _page(request: Request, items: list[dict[str, Any]]) -> Response: ...
        def _search(self, request: Request, published_only: bool) -> list[dict[str, Any]]: ...
        def _api_view(self, api: dict[str, Any], detail: bool = False) -> dict[str, Any]: ...

    def _devportal(self, request: Request, parts: list[str]) -> Response:  # noqa: C901 - a URL table
        method = request.method
        if parts == ["apis"] and method == "GET":
            return self._page(request, self._search(request, published_only=True))
        if len(parts) == 2 and parts[0] == "apis" and method == "GET":
            api = self.apis.get(parts[1])
            if api is None or api["lifeCycleStatus"] != "PUBLISHED":
                raise error(404, "Not Found", f"Requested API with id '{parts[1]}' not found")
            return json_response(self._api_view(api, detail=True))
        if parts == ["throttling-policies", "subscription"] and method == "GET":
            return self._page(request, list(self.policies.values()))
        if parts[:1] == ["applications"]:
            return self._applications(request, parts, method)
        if parts[:1] == ["subscriptions"]:
            return self._subscriptions(request, parts, method)
        raise error(404, "Not Found", "no such resource")

    def _applications(self, request: Request, parts: list[str], method: str) -> Response:
        if len(parts) == 1 and method == "GET":
            query = request.args.get("query")
            apps = [self._app_view(a) for a in self.apps.values() if not query or query in a["name"]]
            return self._page(request, apps)
        if len(parts) == 1 and method == "POST":
            body = body_of(request)
            if not body.get("name") or not body.get("throttlingPolicy"):
                raise error(400, "Bad Request", "name and throttlingPolicy are required")
            if any(a["name"] == body["name"] for a in self.apps.values()):
                raise error(409, "Conflict", f"A duplicate application already exists by the name - {body['name']}")
            app_id = str(uuid.uuid4())
            self.apps[app_id] = {"applicationId": app_id, "name": body["name"], "throttlingPolicy":
                                 body["throttlingPolicy"], "description": body.get("description", ""),
                                 "tokenType": body.get("tokenType", "JWT"), "status": "APPROVED", "groups": [],
                                 "attributes": {}, "owner": "admin", "keys": {}}
            return json_response(self._app_view(self.apps[app_id]), 201)
        app = self.apps.get(parts[1])
        if app is None:
            raise error(404, "Not Found", f"Application with id {parts[1]} not found")
        if len(parts) == 2 and method == "GET":
            return json_response(self._app_view(app))
        if len(parts) == 2 and method == "DELETE":
            for key in app["keys"].values():
                self.clients.pop(key["consumerKey"], None)
            for sid in [s for s, v in self.subs.items() if v["applicationId"] == app["applicationId"]]:
                del self.subs[sid]
            del self.apps[parts[1]]
            return Response(status=200)
        if parts[2:] == ["generate-keys"] and method == "POST":
            body = body_of(request)
            key_type = body.get("keyType", "PRODUCTION")
            if any(k["keyType"] == key_type for k in app["keys"].values()):
                raise error(409, "Conflict", f"Key Mappings already exists for application {app['name']}")
            mapping = {"keyMappingId": str(uuid.uuid4()), "keyManager": "Resident Key Manager",
                       "consumerKey": wso2_random(), "consumerSecret": wso2_random(),
                       "supportedGrantTypes": body.get("grantTypesToBeSupported", []), "callbackUrl": "",
                       "keyState": "COMPLETED", "keyType": key_type, "mode": "CREATED", "groupId": None,
                       "token": None, "additionalProperties": {}}
            app["keys"][mapping["keyMappingId"]] = mapping
            self.clients[mapping["consumerKey"]] = {"secret": mapping["consumerSecret"], "kind": "app",
                                                    "app": app["applicationId"]}
            return json_response(mapping)
        if parts[2:] == ["oauth-keys"] and method == "GET":
            keys = list(app["keys"].values())
            return json_response({"count": len(keys), "list": keys})
        if len(parts) == 5 and parts[2] == "oauth-keys" and parts[4] == "regenerate-secret" and method == "POST":
            mapping = app["keys"].get(parts[3])
            if mapping is None:
                raise error(404, "Not Found", f"Key mapping {parts[3]} not found")
            mapping["consumerSecret"] = wso2_random()
            self.clients[mapping["consumerKey"]]["secret"] = mapping["consumerSecret"]
            for token in [t for t, v in self.tokens.items() if v["client"] == mapping["consumerKey"]]:
                del self.tokens[token]  # tokens of the old secret are revoked with it
            return json_response({"consumerKey": mapping["consumerKey"], "consumerSecret": mapping["consumerSecret"]})
        raise error(404, "Not Found", "no such resource")

    @staticmethod
    def _app_view(app: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in app.items() if k != "keys"}

    def _subscriptions(self, request: Request, parts: list[str], method: str) -> Response:
        if len(parts) == 1 and method == "GET":
            app_id, api_id = request.args.get("applicationId"), request.args.get("apiId")
            return self._page(request, [s for s in self.subs.values() if (not app_id or s["applicationId"] == app_id)
                                        and (not api_id or s["apiId"] == api_id)])
        if len(parts) == 1 and method == "POST":
            body = body_of(request)
            self._check_subscription(body)
            if any(s["applicationId"] == body["applicationId"] and s["apiId"] == body["apiId"]
                   for s in self.subs.values()):
                raise error(409, "Conflict", "Subscription already exists")
            sid = str(uuid.uuid4())
            self.subs[sid] = {"subscriptionId": sid, "applicationId": body["applicationId"], "apiId": body["apiId"],
                              "throttlingPolicy": body["throttlingPolicy"],
                              "requestedThrottlingPolicy": body["throttlingPolicy"], "status": "UNBLOCKED"}
            return json_response(self.subs[sid], 201)
        sub = self.subs.get(parts[1])
        if sub is None:
            raise error(404, "Not Found", f"Subscription {parts[1]} not found")
        if method == "PUT":
            body = body_of(request)
            self._check_subscription(body)
            sub["throttlingPolicy"] = sub["requestedThrottlingPolicy"] = body["throttlingPolicy"]
            return json_response(sub)
        if method == "DELETE":
            del self.subs[parts[1]]
            return Response(status=200)
        raise error(405, "Method Not Allowed", "method not allowed")

    def _check_subscription(self, body: dict[str, Any]) -> None:
        api = self.apis.get(str(body.get("apiId")))
        if str(body.get("applicationId")) not in self.apps or api is None:
            raise error(404, "Not Found", "application or API not found")
        if body.get("throttlingPolicy") not in api["tiers"]:
            raise error(400, "Bad Request", f"Invalid throttling tier {body.get('throttlingPolicy')}")
