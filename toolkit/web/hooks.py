"""``POST /hooks/<desk>``: an outside desk tells spbe that an issue changed.

Not behind the front door's bearer credentials: a desk signs its deliveries instead (`toolkit.desks.webhook`).
The delivery only names an issue; the intake then reads the issue from the desk and acts on each change once,
through the commands and the policy, exactly as a poll would. The answer says what was done, so a desk's
delivery log shows it; a desk or store that cannot be reached answers 503 and the desk delivers again (and the
poll finds it anyway).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from toolkit.desks.webhook import accept
from toolkit.web.auth import Ctx

log = logging.getLogger("spbe.web")
router = APIRouter()


@router.post("/hooks/{desk}", include_in_schema=False)
async def hook(desk: str, request: Request, ctx: Ctx) -> JSONResponse:
    services = ctx.services
    hub = await run_in_threadpool(lambda: services.desks)
    target = hub.get(desk)
    body = await request.body()
    secret = target.webhook_secret(services) or ""
    key = await run_in_threadpool(accept, target.mapping, secret, dict(request.headers), body, hub.records,
                                  services.clock.now())
    if key is None:
        return JSONResponse({"status": "replay"}, status_code=200)
    outcome = await run_in_threadpool(target.intake.process, key)
    log.info("desk %s: webhook for issue %s: %s", desk, key, outcome.outcomes)
    return JSONResponse({"status": "accepted", "issue": key, "ticket": outcome.ticket_id,
                         "outcomes": outcome.outcomes}, status_code=202)
