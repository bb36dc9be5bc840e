"""Errors as JSON: ``{"error": kind, "message": ..., "fields": [{"field": ..., "problem": ...}]}``.

The kinds are the CLI's exit-code kinds (`toolkit.errors`), so a script reads the same categories from
``spbe --json-errors`` and from the API. One table maps each `ToolkitError` class to its status; a
subclass finds its nearest ancestor. Messages go through the process's masker (a secret that slipped
into an exception never reaches a response). An `AuthenticationError` says one sentence whatever the
cause; its ``details['reason']`` goes to the server log only. A refused permission is audited here,
once, with the principal and how it was authenticated, so every door (token, OIDC, session) leaves
the same trace of who tried what.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from toolkit.domain.principal import Principal
from toolkit.errors import (
    PermissionDeniedError,
    ToolkitError,
)
from toolkit.services import Services
from toolkit.web.kinds import STATUS

log = logging.getLogger("spbe.web")

HTTP_KINDS = {400: "invalid_input", 401: "unauthenticated", 403: "permission_denied", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
              503: "unavailable"}


def status_of(exc: ToolkitError) -> tuple[int, str]:
    for cls, status, kind in STATUS:
        if isinstance(exc, cls):
            return status, kind
    return 500, "error"


def body(kind: str, message: str, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"error": kind, "message": message, "fields": fields or []}


def error_response(status: int, kind: str, message: str, fields: list[dict[str, str]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body(kind, message, fields), status_code=status, headers=headers)


def _fields(exc: ToolkitError, services: Services) -> list[dict[str, str]]:
    errors = exc.details.get("errors") or []
    out = []
    for item in errors:
        if isinstance(item, (tuple, list)) and len(item) == 2:
            out.append({"field": services.masker(str(item[0]))[:200], "problem": services.masker(str(item[1]))[:500]})
    missing = exc.details.get("missing")
    if isinstance(missing, (list, tuple)):
        out += [{"field": str(name)[:200], "problem": "missing"} for name in missing]
    return out


def audit_refusal(services: Services, request: Request, exc: PermissionDeniedError) -> None:
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        return
    ticket = request.path_params.get("ticket_id")
    services.audit.append(principal.user, "api.refused", str(ticket) if ticket else None, {
        "method": request.method, "route": _route(request), "reason": services.masker(str(exc))[:500],
        **principal.audit_data()})


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


def install(app: FastAPI, services: Services) -> None:
    """Register the handlers on ``app``: toolkit errors, request validation, HTTP errors, the rest."""

    async def toolkit_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ToolkitError)
        status, kind = status_of(exc)
        headers = None
        if status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="spbe"'}
            log.info("401 %s %s: %s", request.method, request.url.path, exc.details.get("reason", "-"))
        elif isinstance(exc, PermissionDeniedError):
            audit_refusal(services, request, exc)
        if status >= 500:
            log.warning("%d %s %s: %s", status, request.method, request.url.path, services.masker(str(exc)))
        return error_response(status, kind, services.masker(str(exc)), _fields(exc, services), headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        fields = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header", "cookie")]
            fields.append({"field": ".".join(loc)[:200] or "body", "problem": str(err.get("msg", "invalid"))[:300]})
        names = ", ".join(f["field"] for f in fields[:5])
        return error_response(400, "invalid_input", f"invalid request: {names}", fields)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = HTTP_KINDS.get(exc.status_code, "error")
        return error_response(exc.status_code, kind, str(exc.detail), headers=dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("500 %s %s: %s", request.method, request.url.path, services.masker(f"{type(exc).__name__}: {exc}"))
        return error_response(500, "error", "internal error; the server log has the details")

    app.add_exception_handler(ToolkitError, toolkit_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
