"""The catalog, the request form, "Tiket saya" and a ticket's page (timeline, steps, SLA, documents).

Opening a request calls `desk.open_ticket` with the session's principal, exactly as ``spbe ticket open``
does; a refusal re-renders the form with what was typed and each problem next to its input, and opens
nothing. Attachments are downloaded only by someone who may see the ticket, as ``attachment`` (never
rendered inline by the browser), with the type the store recorded from their content.
"""


from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from toolkit.commands import desk
from toolkit.domain.tickets.models import MAX_ATTACHMENT_BYTES, TicketStatus
from toolkit.engine.services import EngineServices
from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError, ToolkitError
from toolkit.vault import VaultRecord
from toolkit.web.portal import forms, listing, steps, texts, views
from toolkit.web.portal.web import Portal, Viewer

_FORM_SLACK = 64 * 1024  # multipart boundaries and the text fields around the files


def add_ticket_routes(router: APIRouter, portal: Portal) -> None:
    app = portal.app
    Signed = Annotated[Viewer, Depends(portal.require)]

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        return portal.redirect(request, "/tiket" if portal.viewer(request) else "/layanan")

    @router.get("/layanan", response_class=HTMLResponse)
    def catalog(request: Request) -> Response:
        return portal.render(request, "layanan.html.j2", {"layanan": app.catalog.services()},
                             viewer=portal.viewer(request))

    @router.get("/layanan/{service_id}", response_class=HTMLResponse)
    def service_page(request: Request, service_id: str) -> Response:
        viewer = portal.viewer(request)
        try:
            service = app.catalog.get(service_id)
        except NotFoundError as exc:
            return portal.failure(request, viewer, exc)
        # Anyone may file a complaint (`toolkit.complaints.intake`); other services, the first step's role.
        may_open = viewer is not None and (service.complaints is not None or service.steps[0].actor in viewer.roles)
        return portal.render(request, "layanan_detail.html.j2", {"s": service, "boleh_ajukan": may_open},
                             viewer=viewer)

    def form_page(request: Request, viewer: Viewer, service_id: str, raw: dict[str, str], title: str,
                  errors: dict[str, str], general: list[str], status: int = 200) -> Response:
        service = app.catalog.get(service_id)
        specs = service.requirements.fields
        if service.complaints is not None:  # only what this person may fill in (no channel for an applicant)
            from toolkit.complaints.intake import form_fields

            specs = form_fields(app, service, viewer.principal)
        return portal.render(request, "ajukan.html.j2", {
            "s": service, "isian": forms.inputs_for(specs, raw), "lampiran": forms.attachment_rules(service),
            "judul": title, "galat": errors, "galat_umum": general, "batas_mb": MAX_ATTACHMENT_BYTES // 2**20},
            viewer=viewer, status=status)

    @router.get("/layanan/{service_id}/ajukan", response_class=HTMLResponse)
    def request_form(request: Request, service_id: str, viewer: Signed) -> Response:
        try:
            service = app.catalog.get(service_id)
            app.policy.authorize_open(viewer.principal, service)
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)
        return form_page(request, viewer, service_id, {}, "", {}, [])

    @router.post("/layanan/{service_id}/ajukan")
    async def open_request(request: Request, service_id: str, viewer: Signed) -> Response:
        try:
            service = app.catalog.get(service_id)
        except NotFoundError as exc:
            return portal.failure(request, viewer, exc)
        limit = MAX_ATTACHMENT_BYTES * max(1, len(service.requirements.attachments)) + _FORM_SLACK
        if int(request.headers.get("content-length") or 0) > limit:
            return portal.render(request, "galat.html.j2", {"judul": texts.TOO_LARGE, "pesan": (
                f"Setiap lampiran paling besar {MAX_ATTACHMENT_BYTES // 2**20} MB.")}, viewer=viewer, status=413)
        form = await request.form(max_files=len(service.requirements.attachments) + 1, max_fields=200,
                                  max_part_size=64 * 1024)
        try:
            refused = portal.csrf_refused(request, viewer, form)
            if refused is not None:
                return refused
            raw = forms.submitted_fields(service, form)
            title = form.get(forms.TITLE)
            title = title if isinstance(title, str) else ""
            try:
                uploads = await run_in_threadpool(forms.uploads, service, form)
            except InvalidInputError as exc:
                name = str((exc.details.get("errors") or [("lampiran", "")])[0][0])
                return form_page(request, viewer, service_id, raw, title, {name: exc.message}, [], status=400)
            try:
                ticket = await run_in_threadpool(desk.open_ticket, app, service_id, viewer.principal, title, raw,
                                                 uploads)
            except InvalidInputError as exc:
                errors, general = forms.errors_by_field(exc)
                return form_page(request, viewer, service_id, raw, title, errors, general, status=400)
            except ToolkitError as exc:
                return portal.failure(request, viewer, exc)
            return portal.redirect(request, f"/tiket/{ticket.id}?ok=dibuka")
        finally:
            await form.close()  # uploads are spooled to temporary files

    @router.get("/tiket", response_class=HTMLResponse)
    def my_tickets(request: Request, viewer: Signed, status: str = "", layanan: str = "", halaman: int = 1,
                   semua: int = 0) -> Response:
        wanted = status if status in {s.value for s in TicketStatus} else None
        everyone = bool(semua) and viewer.is_staff
        page = listing.page(app, requester=None if everyone else viewer.user, status=wanted,
                            service_id=layanan or None, number=max(1, halaman), size=portal.settings.page_size,
                            viewer_roles=viewer.roles)
        return portal.render(request, "tiket_list.html.j2", {
            "hal": page, "status": wanted or "", "layanan": layanan, "semua": everyone,
            "daftar_layanan": app.catalog.services()}, viewer=viewer)

    @router.get("/tiket/{ticket_id}", response_class=HTMLResponse)
    def ticket_page(request: Request, ticket_id: str, viewer: Signed, ok: str = "") -> Response:
        return ticket_response(portal, request, viewer, ticket_id, ok=ok)

    @router.get("/tiket/{ticket_id}/berkas/{name}")
    def download(request: Request, ticket_id: str, name: str, viewer: Signed) -> Response:
        try:
            ticket = views.visible_ticket(app, viewer, ticket_id)
            view = views.ticket_view(app, viewer, ticket)
            ref = next((a for a in (*view.attachments, *view.documents) if a.name == name), None)
            if ref is None:
                raise NotFoundError("berkas tidak ditemukan", ticket=ticket_id)
            content = app.tickets.read_attachment(ticket_id, name)
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)
        return Response(content, media_type=ref.media_type, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox"})

    @router.post("/tiket/{ticket_id}/komentar")
    async def add_comment(request: Request, ticket_id: str, viewer: Signed) -> Response:
        form = await request.form(max_files=0, max_fields=5, max_part_size=64 * 1024)
        refused = portal.csrf_refused(request, viewer, form)
        if refused is not None:
            return refused
        text = form.get("komentar")
        try:
            views.visible_ticket(app, viewer, ticket_id)
            await run_in_threadpool(desk.comment, app, ticket_id, viewer.principal, text if isinstance(text, str)
                                    else "")
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)
        return portal.redirect(request, f"/tiket/{ticket_id}?ok=komentar#riwayat")


def ticket_response(portal: Portal, request: Request, viewer: Viewer, ticket_id: str, *, ok: str = "",
                    failed: steps.FormErrors | None = None, status: int = 200) -> Response:
    """A ticket's page with the forms this viewer may use; ``failed`` draws a refused form again, with
    what was typed and each problem next to its input."""
    app = portal.app
    try:
        ticket = views.visible_ticket(app, viewer, ticket_id)
        view = views.ticket_view(app, viewer, ticket)
        secrets = _secrets(app, ticket.id, viewer) if view.mine else []
        values = failed.values if failed is not None and failed.form.startswith("putuskan") else None
        offers = steps.offers(app, viewer, view, values)
    except ToolkitError as exc:
        return portal.failure(request, viewer, exc)
    return portal.render(request, "tiket.html.j2", {
        "v": view, "sekarang": app.clock.now(), "pesan": texts.NOTICES.get(ok), "rahasia": secrets,
        "tawaran": offers, "gagal": failed}, viewer=viewer, status=status)


def _secrets(app: EngineServices, ticket_id: str, viewer: Viewer) -> list[VaultRecord]:
    """The ticket's issued credentials addressed to the viewer (masked records; never the value)."""
    try:
        return [r for r in app.vault.records(ticket_id) if r.recipient == viewer.user]
    except ConfigurationError:
        return []
