"""The SOP's human steps that were CLI-only, as forms on a ticket's page: record a step done with a note,
close at the closing step, a branch decision, forward to a person, cancel.

Each route calls exactly the command ``spbe ticket advance|close|decide|assign|cancel`` calls
(`desk.record_step`, `desk.close`, `incident.decide`, `desk.assign`, `revision.cancel`) with the
session's principal; the policy there decides, whatever form the page drew (`toolkit.web.portal.steps`
only chooses which forms to show). Invalid input draws the ticket's page again with the problem next to
the input and nothing recorded; any other refusal is the error page of its kind (403, 404, 409).
"""


from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from toolkit.commands import desk, incident, revision
from toolkit.errors import InvalidInputError, NotFoundError, ToolkitError
from toolkit.web.portal import views
from toolkit.web.portal.routes_tickets import ticket_response
from toolkit.web.portal.steps import FormErrors
from toolkit.web.portal.web import Portal, Viewer

Call = Callable[[dict[str, str]], Any]


def add_step_routes(router: APIRouter, portal: Portal) -> None:
    app = portal.app
    Signed = Annotated[Viewer, Depends(portal.require)]

    async def act(request: Request, viewer: Viewer, ticket_id: str, form_id: str, known: Iterable[str], done: str,
                  call: Call) -> Response:
        form = await request.form(max_files=0, max_fields=40, max_part_size=16 * 1024)
        refused = portal.csrf_refused(request, viewer, form)
        if refused is not None:
            return refused
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        try:
            views.visible_ticket(app, viewer, ticket_id)
            await run_in_threadpool(call, values)
        except InvalidInputError as exc:
            failed = FormErrors.of(form_id, exc, values, known)
            return ticket_response(portal, request, viewer, ticket_id, failed=failed, status=400)
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)
        return portal.redirect(request, f"/tiket/{ticket_id}?ok={done}")

    @router.post("/tiket/{ticket_id}/langkah")
    async def record_step(request: Request, ticket_id: str, viewer: Signed) -> Response:
        """The current human step done outside the toolkit (installation, UAT...), with a note."""
        return await act(request, viewer, ticket_id, "langkah", ["note"], "langkah-selesai",
                         lambda f: desk.record_step(app, ticket_id, viewer.principal, f.get("step", ""),
                                                    f.get("note")))

    @router.post("/tiket/{ticket_id}/tutup")
    async def close(request: Request, ticket_id: str, viewer: Signed) -> Response:
        return await act(request, viewer, ticket_id, "tutup", ["note"], "ditutup",
                         lambda f: desk.close(app, ticket_id, viewer.principal, f.get("note") or None))

    @router.post("/tiket/{ticket_id}/putuskan/{step_id}")
    async def decide(request: Request, ticket_id: str, step_id: str, viewer: Signed) -> Response:
        """A branch decision: the fields the deciding step lists (``decides``), typed by the catalog."""
        try:
            service = app.catalog.get(views.visible_ticket(app, viewer, ticket_id).service_id)
            decided = service.step(step_id).decides
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)

        def call(f: dict[str, str]) -> Any:
            chosen = {name: f[name] for name in decided if f.get(name, "") != ""}
            return incident.decide(app, ticket_id, viewer.principal, chosen, f.get("reason"))

        return await act(request, viewer, ticket_id, f"putuskan-{step_id}", [*decided, "reason"], "diputuskan", call)

    @router.post("/tiket/{ticket_id}/tugaskan")
    async def assign(request: Request, ticket_id: str, viewer: Signed) -> Response:
        """Forward the ticket to one person (for an incident: the CSIRT member who then alone contains)."""
        def call(f: dict[str, str]) -> Any:
            who = f.get("assignee", "")
            if not who:
                raise InvalidInputError("no assignee chosen", errors=[("assignee", "required")])
            try:  # the command authorises first, then looks the person up: no probing of usernames
                return desk.assign(app, ticket_id, viewer.principal, who)
            except NotFoundError:  # the ticket was found just before: the unknown one is the assignee
                raise InvalidInputError("unknown person", errors=[("assignee", "Bukan pengguna terdaftar.")]) from None

        return await act(request, viewer, ticket_id, "tugaskan", ["assignee"], "ditugaskan", call)

    @router.post("/tiket/{ticket_id}/batalkan")
    async def cancel(request: Request, ticket_id: str, viewer: Signed) -> Response:
        """The requester or the koordinator withdraws a request before approved work starts."""
        return await act(request, viewer, ticket_id, "batalkan", ["reason"], "dibatalkan",
                         lambda f: revision.cancel(app, ticket_id, viewer.principal, f.get("reason")))
