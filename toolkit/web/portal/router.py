"""`build_router(services)`: the portal's routes, its static files, and its collaborators, once per process.

The HTTP server (`toolkit.web`) includes this router at ``/``; the API lives under ``/api/v1`` beside it.
Static files are the portal's own stylesheet and one small script (the SLA countdown ticking); every
form works without it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from toolkit.engine.services import EngineServices
from toolkit.web.portal.routes_auth import add_auth_routes
from toolkit.web.portal.routes_csirt import add_csirt_routes
from toolkit.web.portal.routes_schedule import add_schedule_routes
from toolkit.web.portal.routes_signing import add_signing_routes
from toolkit.web.portal.routes_steps import add_step_routes
from toolkit.web.portal.routes_survey import add_survey_routes
from toolkit.web.portal.routes_tickets import add_ticket_routes
from toolkit.web.portal.routes_work import add_work_routes
from toolkit.web.portal.web import Portal

STATIC = Path(__file__).resolve().parent / "static"
_STATIC_TYPES = {"portal.css": "text/css", "portal.js": "text/javascript"}


def build_router(services: EngineServices) -> APIRouter:
    portal = Portal(services)
    router = APIRouter(include_in_schema=False)  # pages, not API: kept out of /api/v1/openapi.json

    @router.get("/static/portal/{name}")
    def static(name: str) -> Response:
        media_type = _STATIC_TYPES.get(name)
        if media_type is None:
            return Response(status_code=404)
        return FileResponse(STATIC / name, media_type=media_type, headers={
            "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})

    add_auth_routes(router, portal)
    add_ticket_routes(router, portal)
    add_work_routes(router, portal)
    add_step_routes(router, portal)
    add_csirt_routes(router, portal)
    add_signing_routes(router, portal)
    add_survey_routes(router, portal)
    add_schedule_routes(router, portal)
    router.portal = portal  # type: ignore[attr-defined]  # tests and the server reach the collaborators
    return router
