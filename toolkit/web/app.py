"""`create_app(services, settings)`: the one ASGI application of the front door.

The API is a FastAPI application mounted at ``/api/v1`` (its OpenAPI document at
``/api/v1/openapi.json``), beside ``/healthz``, ``/readyz`` and ``/metrics``, and the portal's router
from `toolkit.web.portal`. The body-size limit wraps everything, outermost, so no layer buffers an
oversized body. The stores and the accounts are opened here, once, before the first request: the
routes run in a thread pool and must not race to build them.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CollectorRegistry

from toolkit.accounts.service import open_accounts
from toolkit.desks.hub import DeskServices
from toolkit.engine.metrics import StoreCollector
from toolkit.settings import Settings
from toolkit.web import errors, hooks
from toolkit.web.api import health, operations, survey, tickets, workflow
from toolkit.web.auth import WebContext, Who
from toolkit.web.limits import BodyLimit
from toolkit.web.oidc import OidcVerifier
from toolkit.web.portal import portal_router

API_PREFIX = "/api/v1"
API_VERSION = "1.0.0"
DESCRIPTION = ("Aplikasi Layanan SPBE: tickets that do the work. Authenticate with `Authorization: Bearer <personal "
               "access token | OIDC token>`; a token's scope `read` allows GET, `act` everything else.")


def _warm(services: DeskServices) -> None:
    """Build the lazily made collaborators now, in one thread (see the module docstring)."""
    for name in ("catalog", "tickets", "queue", "directory", "policy", "audit", "renderer", "actions"):
        getattr(services, name)


def api_app(ctx: WebContext) -> FastAPI:
    api = FastAPI(title="spbe API", version=API_VERSION, openapi_url=None, docs_url=None, redoc_url=None,
                  description=DESCRIPTION)
    api.state.spbe = ctx

    # The document and its browser view need a credential like every route (only health and readiness
    # do not): FastAPI's own would be public.
    @api.get("/openapi.json", include_in_schema=False)
    def openapi(who: Who) -> JSONResponse:
        return JSONResponse(api.openapi())

    @api.get("/docs", include_in_schema=False)
    def docs(request: Request, who: Who) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}/openapi.json", title="spbe API")

    errors.install(api, ctx.services)
    api.include_router(tickets.router)
    api.include_router(workflow.router)
    api.include_router(operations.router)
    api.include_router(survey.router)
    return api


def create_app(services: DeskServices, settings: Settings) -> FastAPI:
    _warm(services)
    http = settings.http
    ctx = WebContext(services=services, settings=settings, accounts=open_accounts(services),
                     oidc=OidcVerifier(http.oidc) if http.oidc is not None else None)
    app = FastAPI(title="spbe", version=API_VERSION, openapi_url=None, docs_url=None,
                  redoc_url=None)
    app.state.spbe = ctx
    registry = CollectorRegistry()
    registry.register(StoreCollector(services))
    app.state.metrics_registry = registry
    errors.install(app, services)
    app.include_router(health.router)
    app.include_router(hooks.router)  # outside desks' webhooks: signed deliveries, no bearer credential
    app.mount(API_PREFIX, api_app(ctx))
    app.include_router(portal_router(services))  # the portal's pages at "/" (their 303 to /masuk passes through)
    app.add_middleware(BodyLimit, max_bytes=http.max_body_bytes)
    return app
