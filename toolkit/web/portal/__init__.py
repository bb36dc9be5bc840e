"""The web portal (Aplikasi Layanan SPBE, issue 13 point 3): server-rendered pages in Bahasa Indonesia.

``portal_router(services)`` gives the FastAPI router the HTTP server mounts at ``/``. This ``__init__``
imports nothing at module level: ``toolkit.settings`` imports `config`, and the router needs the settings.

One module per concern: `config` (``settings.portal``), `web` (session cookie, CSRF, the viewer, the root
path, errors as pages), `oidc` and `oidc_sessions` ("Masuk dengan SSO"), `views` (what a page shows of a
ticket), `forms` (the request form from the catalog), `steps` (which human-step forms a viewer is offered,
and refused forms drawn again), `plans` (the plan an approver approves, made readable), `markup`
(comments as safe Markdown), and the routes in `routes_*` (`routes_steps`: record, close, decide,
forward, cancel; `routes_csirt`: containment and release).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter

    from toolkit.engine.services import EngineServices


def portal_router(services: EngineServices) -> APIRouter:
    """The portal's routes on ``services`` (the composition root's `App`), built once per process."""
    from toolkit.web.portal.router import build_router

    return build_router(services)
