"""Diskominfo's work: the koordinator's queue (check, return with a note), the kepala dinas's approvals
(the concrete plan attached; approve or defer with a reason), the applicant's resubmission, the SPLP
applicant's reveal-once page and the CSIRT's incident view.

Every change calls the command layer with the session's principal (`desk.check`, `desk.approve`,
`desk.defer`, `revision.return_for_revision`, `revision.resubmit`, `SecretVault.reveal`), the same calls
as the CLI; the policy there decides. The pages only list what the viewer's roles may act on.

The revealed secret is put into that one response (``Cache-Control: no-store``) and nowhere else: not in
a log line, not in a redirect, not in the ticket.
"""


from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from toolkit.commands import desk, incident, revision
from toolkit.domain.catalog.models import StepKind, StepPurpose
from toolkit.domain.confidentiality import reporter_confidential
from toolkit.errors import PermissionDeniedError, ToolkitError
from toolkit.web.portal import forms, plans, views
from toolkit.web.portal.web import Portal, Viewer


class Form(dict[str, list[str]]):
    """A posted form's text values (a checkbox group gives several under one name)."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        values = super().get(key)
        return values[-1] if values else default

    def all(self, key: str) -> list[str]:
        return list(super().get(key) or [])


def add_work_routes(router: APIRouter, portal: Portal) -> None:
    app = portal.app
    Signed = Annotated[Viewer, Depends(portal.require)]

    @router.get("/antrean", response_class=HTMLResponse)
    def queue(request: Request, viewer: Signed) -> Response:
        rows = views.waiting_for(app, StepPurpose.COMPLETENESS_CHECK, None, viewer)
        return portal.render(request, "antrean.html.j2", {"baris": rows, "sekarang": app.clock.now()}, viewer=viewer)

    @router.get("/persetujuan", response_class=HTMLResponse)
    def approvals(request: Request, viewer: Signed) -> Response:
        rows = views.waiting_for(app, None, StepKind.APPROVAL, viewer)
        return portal.render(request, "persetujuan.html.j2", {"baris": rows, "sekarang": app.clock.now()},
                             viewer=viewer)

    @router.get("/persetujuan/{ticket_id}", response_class=HTMLResponse)
    def approval_page(request: Request, ticket_id: str, viewer: Signed) -> Response:
        try:
            ticket = views.visible_ticket(app, viewer, ticket_id)
            view = views.ticket_view(app, viewer, ticket)
            jobs = plans.approval_plans(app, view.service, ticket_id, view.state, viewer.user)
            texts_ = views.text_documents(app, view)
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)
        return portal.render(request, "setujui.html.j2", {"v": view, "jobs": jobs, "dokumen_teks": texts_,
                                                          "diff_lines": plans.diff_lines,
                                                          "sekarang": app.clock.now()}, viewer=viewer)

    async def act(request: Request, viewer: Viewer, ticket_id: str, done: str, then: str,
                  call: Callable[[Form], Any]) -> Response:
        form = await request.form(max_files=0, max_fields=60, max_part_size=16 * 1024)
        refused = portal.csrf_refused(request, viewer, form)
        if refused is not None:
            return refused
        values = Form({k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form})
        try:
            views.visible_ticket(app, viewer, ticket_id)
            await run_in_threadpool(call, values)
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)
        return portal.redirect(request, f"{then}?ok={done}")

    @router.post("/tiket/{ticket_id}/periksa")
    async def check(request: Request, ticket_id: str, viewer: Signed) -> Response:
        return await act(request, viewer, ticket_id, "diperiksa", f"/tiket/{ticket_id}",
                         lambda f: desk.check(app, ticket_id, viewer.principal))

    @router.post("/tiket/{ticket_id}/kembalikan")
    async def give_back(request: Request, ticket_id: str, viewer: Signed) -> Response:
        return await act(request, viewer, ticket_id, "dikembalikan", f"/tiket/{ticket_id}",
                         lambda f: revision.return_for_revision(app, ticket_id, viewer.principal,
                                                                f.all("kurang"), f.get("catatan")))

    @router.post("/tiket/{ticket_id}/setujui")
    async def approve(request: Request, ticket_id: str, viewer: Signed) -> Response:
        return await act(request, viewer, ticket_id, "disetujui", f"/tiket/{ticket_id}",
                         lambda f: desk.approve(app, ticket_id, viewer.principal, f.get("alasan")))

    @router.post("/tiket/{ticket_id}/tunda")
    async def defer(request: Request, ticket_id: str, viewer: Signed) -> Response:
        return await act(request, viewer, ticket_id, "ditunda", f"/tiket/{ticket_id}",
                         lambda f: desk.defer(app, ticket_id, viewer.principal, f.get("alasan")))

    @router.post("/tiket/{ticket_id}/tidak-terverifikasi")
    async def reject(request: Request, ticket_id: str, viewer: Signed) -> Response:
        return await act(request, viewer, ticket_id, "tidak-terverifikasi", f"/tiket/{ticket_id}",
                         lambda f: incident.reject(app, ticket_id, viewer.principal, f.get("alasan")))

    @router.post("/tiket/{ticket_id}/ajukan-ulang")
    async def resubmit(request: Request, ticket_id: str, viewer: Signed) -> Response:
        try:
            service = app.catalog.get(views.visible_ticket(app, viewer, ticket_id).service_id)
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)
        form = await request.form(max_files=len(service.requirements.attachments) + 1, max_fields=20,
                                  max_part_size=16 * 1024)
        try:
            refused = portal.csrf_refused(request, viewer, form)
            if refused is not None:
                return refused
            note = form.get("catatan")
            try:
                uploads = await run_in_threadpool(forms.uploads, service, form)
                await run_in_threadpool(revision.resubmit, app, ticket_id, viewer.principal,
                                        note if isinstance(note, str) else "", uploads)
            except ToolkitError as exc:
                return portal.failure(request, viewer, exc)
            return portal.redirect(request, f"/tiket/{ticket_id}?ok=diajukan-ulang")
        finally:
            await form.close()  # uploads are spooled to temporary files

    @router.get("/tiket/{ticket_id}/rahasia/{name}", response_class=HTMLResponse)
    def reveal_page(request: Request, ticket_id: str, name: str, viewer: Signed) -> Response:
        try:
            views.visible_ticket(app, viewer, ticket_id)
            record = app.vault.masked(ticket_id, name)
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)
        if record.recipient != viewer.user:
            return portal.failure(request, viewer, _not_yours(ticket_id))
        return portal.render(request, "rahasia.html.j2", {"r": record, "nilai": None}, viewer=viewer)

    @router.post("/tiket/{ticket_id}/rahasia/{name}", response_class=HTMLResponse)
    async def reveal(request: Request, ticket_id: str, name: str, viewer: Signed) -> Response:
        form = await request.form(max_files=0, max_fields=5, max_part_size=1024)
        refused = portal.csrf_refused(request, viewer, form)
        if refused is not None:
            return refused
        try:
            views.visible_ticket(app, viewer, ticket_id)
            secret = await run_in_threadpool(app.vault.reveal, ticket_id, name, viewer.principal)
            record = app.vault.masked(ticket_id, name)
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)
        return portal.render(request, "rahasia.html.j2", {"r": record, "nilai": secret.get_secret_value()},
                             viewer=viewer)

    @router.get("/insiden", response_class=HTMLResponse)
    def incidents(request: Request, viewer: Signed) -> Response:
        """Tickets of the incident services, for the CSIRT and the koordinator (anyone staff); the
        reporter is shown only to the roles that may see them."""
        if not viewer.is_staff:
            return portal.failure(request, viewer, _not_yours("insiden"))
        services = [s for s in app.catalog.services() if s.incident is not None or reporter_confidential(s)]
        rows = []
        for service in services:
            for ticket in app.tickets.list_tickets(service_id=service.id)[-200:][::-1]:
                rows.append(views.ticket_view(app, viewer, ticket))
        return portal.render(request, "insiden.html.j2", {"baris": rows, "sekarang": app.clock.now()}, viewer=viewer)


def _not_yours(what: str) -> ToolkitError:
    return PermissionDeniedError(f"{what}: tidak untuk Anda")
