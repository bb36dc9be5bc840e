"""Liveness, readiness and metrics: what an orchestrator and Prometheus ask.

``/healthz`` says the process answers. ``/readyz`` says the ticket store and the job queue answer a
read (503 naming which does not), so a load balancer stops sending requests that would fail.
``/metrics`` is the engine's Prometheus collector (`toolkit.engine.metrics`); unlike the loopback-only
endpoint of ``spbe serve --metrics`` this one is on the front door, so it needs a credential of a staff
member (Prometheus sends one with ``authorization: credentials_file``): who opens tickets for which
service is not for the public.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from toolkit.errors import PermissionDeniedError, ToolkitError
from toolkit.web.auth import Ctx, Who

log = logging.getLogger("spbe.web")
router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], responses={503: {"description": "a store does not answer"}})
def readyz(ctx: Ctx) -> JSONResponse:
    checks: dict[str, str] = {}
    for name, probe in (("tickets", lambda: ctx.services.tickets.active_ticket_ids()),
                        ("queue", lambda: ctx.services.queue.outbox_pending_count())):
        try:
            probe()
            checks[name] = "ok"
        except (ToolkitError, OSError, RuntimeError) as exc:  # sqlite3.Error is wrapped as UnavailableError
            log.warning("readyz: %s: %s", name, ctx.services.masker(f"{type(exc).__name__}: {exc}"))
            checks[name] = "unavailable"
        except Exception as exc:  # noqa: BLE001 - readiness answers 503 for any failure of a store
            log.warning("readyz: %s: %s", name, ctx.services.masker(f"{type(exc).__name__}: {exc}"))
            checks[name] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "unavailable", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, ctx: Ctx, who: Who) -> Response:
    if not ctx.services.policy.is_staff(who):
        raise PermissionDeniedError("metrics are for the service desk's staff", user=who.user)
    registry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
