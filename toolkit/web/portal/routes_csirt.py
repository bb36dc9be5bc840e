"""The CSIRT's containment page for an incident ticket: isolate a host, quarantine a switch port, change
access (lock local accounts, disable gateway consumers and identity-provider users), and release.

Every form is parsed into the same request models as ``spbe contain`` and the API
(`toolkit.containment.models`); a malformed one is refused before anything is touched, audited the same
way (`ContainmentService.refuse_invalid`), and drawn again with each problem next to its input. Then
`ContainmentService` does what it does for the CLI: it asks the policy (`authorize_containment`: the
CSIRT, and only the member the incident was forwarded to) and requires a verified incident. Its
refusals are shown on the same page with the status of their kind; nothing was changed.
"""


import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from toolkit.containment.models import (
    AccessRequest,
    ContainmentRecord,
    IsolateHostRequest,
    QuarantinePortRequest,
    ReleaseRequest,
)
from toolkit.containment.service import ContainmentService
from toolkit.errors import InvalidInputError, ToolkitError
from toolkit.web.portal import texts, views
from toolkit.web.portal.steps import FormErrors
from toolkit.web.portal.web import Portal, Viewer, status_of

_LIST = re.compile(r"[\s,]+")
# form -> (request model, audited operation, the inputs it has, which of them are lists)
FORMS: dict[str, tuple[type[BaseModel], str, tuple[str, ...], tuple[str, ...]]] = {
    "host": (IsolateHostRequest, "isolate_host", ("host", "management_cidrs", "reason"), ("management_cidrs",)),
    "port": (QuarantinePortRequest, "quarantine_port", ("device", "interface", "mode", "vlan", "reason"), ()),
    "akses": (AccessRequest, "access", ("host", "accounts", "gateway_consumers", "idp_users", "reason"),
              ("accounts", "gateway_consumers", "idp_users")),
    "lepas": (ReleaseRequest, "release", ("record_id", "reason"), ()),
}


def request_values(form: str, raw: dict[str, str]) -> dict[str, Any]:
    """The typed text as the model's input: lists split on commas and whitespace, blanks as "not given"
    (the settings' or the inventory's default), everything else exactly as typed for the model to judge."""
    _, _, names, lists = FORMS[form]
    out: dict[str, Any] = {}
    for name in names:
        text = raw.get(name, "")
        if name in lists:
            items = tuple(p for p in _LIST.split(text) if p)
            if items or name != "management_cidrs":
                out[name] = items
        elif name == "reason":
            out[name] = text
        elif text.strip():
            out[name] = text.strip()
    return out


def validated(service: ContainmentService, form: str, ticket_id: str, viewer: Viewer, raw: dict[str, str]) -> Any:
    """The request model, or an audited refusal naming each field (as the CLI's and the API's ``_request``)."""
    model, operation, _, _ = FORMS[form]
    values = request_values(form, raw)
    who = viewer.principal
    try:
        return model(**values, ticket_id=ticket_id, actor=who.user, auth=who.auth)
    except ValidationError as exc:
        errors = [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
        service.refuse_invalid(operation, ticket_id, who.user, errors, auth=who.auth.value)
        raise InvalidInputError("; ".join(f"{f}: {m}" for f, m in errors), errors=errors) from None


def add_csirt_routes(router: APIRouter, portal: Portal) -> None:
    app = portal.app
    Signed = Annotated[Viewer, Depends(portal.require)]

    def page(request: Request, viewer: Viewer, ticket_id: str, *, failed: FormErrors | None = None,
             status: int = 200, ok: str = "") -> Response:
        try:
            view = views.ticket_view(app, viewer, views.visible_ticket(app, viewer, ticket_id))
            app.policy.authorize_role(viewer.principal, app.policy.containment_roles, "contain")
            records: list[ContainmentRecord] = ContainmentService(app).list(ticket_id)
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)
        return portal.render(request, "penahanan.html.j2", {
            "v": view, "catatan": records, "gagal": failed, "sekarang": app.clock.now(),
            "pesan": texts.NOTICES.get(ok)}, viewer=viewer, status=status)

    @router.get("/tiket/{ticket_id}/penahanan", response_class=HTMLResponse)
    def containment_page(request: Request, ticket_id: str, viewer: Signed, ok: str = "") -> Response:
        return page(request, viewer, ticket_id, ok=ok)

    @router.post("/tiket/{ticket_id}/penahanan/{form}")
    async def contain(request: Request, ticket_id: str, form: str, viewer: Signed) -> Response:
        if form not in FORMS:
            return Response(status_code=404)
        posted = await request.form(max_files=0, max_fields=20, max_part_size=16 * 1024)
        refused = portal.csrf_refused(request, viewer, posted)
        if refused is not None:
            return refused
        raw = {k: v for k, v in posted.items() if isinstance(v, str) and k != "csrf"}
        service = ContainmentService(app)

        def run() -> ContainmentRecord:
            request_ = validated(service, form, ticket_id, viewer, raw)
            if form == "host":
                return service.isolate_host(request_)
            if form == "port":
                return service.quarantine_port(request_)
            if form == "akses":
                return service.change_access(request_)
            return service.release(request_)

        try:
            views.visible_ticket(app, viewer, ticket_id)
            await run_in_threadpool(run)
        except InvalidInputError as exc:
            return page(request, viewer, ticket_id, failed=FormErrors.of(form, exc, raw, FORMS[form][2]), status=400)
        except ToolkitError as exc:
            status, _ = status_of(exc)
            failed = FormErrors(form=form, general=[app.masker(exc.message)], values=raw)
            return page(request, viewer, ticket_id, failed=failed, status=status)
        done = "dilepas" if form == "lepas" else "ditahan"
        return portal.redirect(request, f"/tiket/{ticket_id}/penahanan?ok={done}")
