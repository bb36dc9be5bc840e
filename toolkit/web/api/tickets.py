"""The catalog and the tickets: read them, open one (fields and attachment uploads in one request).

Opening reads every upload through `attachment_files.from_stream` (size cut at the limit, type by
content) and hands the lot to `desk.open_ticket`, the CLI's own command: a refused file, field or title
opens nothing. Reads go through `toolkit.commands.views`, which answers a ticket the caller may not see
as absent.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from toolkit.commands import attachment_files, desk, views
from toolkit.domain.tickets.models import AttachmentUpload, TicketStatus
from toolkit.errors import ConflictError, InvalidInputError
from toolkit.web.api.models import (
    EventOut,
    FileOut,
    Me,
    ServiceDetail,
    ServiceSummary,
    SlaOut,
    StepOut,
    StepStateOut,
    TicketDetail,
    TicketPage,
    TicketSummary,
)
from toolkit.web.auth import AnyScope, Ctx, Who

router = APIRouter()
MAX_FILES = 20


@router.get("/catalog/services", response_model=list[ServiceSummary], tags=["catalog"])
def list_services(ctx: Ctx, who: Who) -> list[ServiceSummary]:
    return [ServiceSummary(id=s.id, name=s.name, provider=s.provider, sla=[v.label for v in s.sla.variants])
            for s in ctx.services.catalog.services()]


@router.get("/catalog/services/{service_id}", response_model=ServiceDetail, tags=["catalog"])
def show_service(service_id: str, ctx: Ctx, who: Who) -> ServiceDetail:
    s = ctx.services.catalog.get(service_id)
    return ServiceDetail(id=s.id, name=s.name, provider=s.provider, sla=[v.label for v in s.sla.variants],
                         fields=list(s.requirements.fields), attachments=list(s.requirements.attachments),
                         steps=[StepOut(id=st.id, title=st.title, actor=st.actor, kind=st.kind.value,
                                        purpose=st.purpose.value if st.purpose else None) for st in s.steps],
                         cost=s.cost)


def _fields(text: str) -> dict[str, str]:
    """The form's ``fields``: a JSON object of NAME -> text, exactly what ``-f NAME=VALUE`` gives the CLI."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise InvalidInputError("fields must be a JSON object of name -> value", errors=[("fields", "not JSON")]) \
            from None
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, bool)) and
                                            not isinstance(v, float) for k, v in raw.items()):
        raise InvalidInputError("fields must be a JSON object of name -> text", errors=[("fields", "not an object")])
    return {k: (("ya" if v else "tidak") if isinstance(v, bool) else str(v)) for k, v in raw.items()}


def _uploads(ctx: Ctx, kinds: list[str], files: list[UploadFile]) -> list[AttachmentUpload]:
    if len(kinds) != len(files):
        raise InvalidInputError("give one 'kinds' entry per file, in the same order",
                                errors=[("kinds", f"{len(kinds)} kinds for {len(files)} files")])
    if len(files) > MAX_FILES:
        raise InvalidInputError(f"at most {MAX_FILES} files", errors=[("files", "too many")])
    uploads = []
    for kind, upload in zip(kinds, files, strict=True):
        name = upload.filename or ""
        uploads.append(attachment_files.from_stream(kind, name, upload.file))
    return uploads


@router.post("/tickets", response_model=TicketSummary, status_code=201, tags=["tickets"])
def open_ticket(ctx: Ctx, who: Who,
                service: Annotated[str, Form(min_length=1, max_length=64)],
                title: Annotated[str, Form(max_length=1000)],
                fields: Annotated[str, Form(max_length=200_000, description="JSON object: name -> value")] = "{}",
                kinds: Annotated[list[str] | None, Form(description="the requirement each file answers")] = None,
                files: Annotated[list[UploadFile] | None, File()] = None) -> TicketSummary:
    """Open a ticket; refused with the exact missing or malformed requirement, nothing stored."""
    uploads = _uploads(ctx, kinds or [], files or [])
    ticket = desk.open_ticket(ctx.services, service, who, title, _fields(fields), uploads)
    return TicketSummary.of(ticket)


@router.get("/tickets", response_model=TicketPage, tags=["tickets"])
def list_tickets(ctx: Ctx, who: Who, status: TicketStatus | None = None,
                 service: Annotated[str | None, Query(max_length=64)] = None,
                 agency: Annotated[str | None, Query(max_length=200)] = None,
                 assignee: Annotated[str | None, Query(max_length=64)] = None,
                 text: Annotated[str | None, Query(max_length=200)] = None,
                 offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> TicketPage:
    """Tickets the caller may see, newest first: an applicant's own, staff's of their services."""
    where = views.TicketFilter(status=status, service_id=service, agency=agency, assignee=assignee, text=text)
    total, page = views.list_tickets(ctx.services, who, where, offset, limit)
    return TicketPage(total=total, offset=offset, limit=limit, items=[TicketSummary.of(t) for t in page])


@router.get("/tickets/{ticket_id}", response_model=TicketDetail, tags=["tickets"])
def show_ticket(ticket_id: str, ctx: Ctx, who: Who) -> TicketDetail:
    """A ticket with its fields (confidential ones hidden from whom the SOP says), steps, SLA, timeline, files."""
    view = views.show(ctx.services, ticket_id, who)
    fields: dict[str, Any] = {spec.name: view.ticket.fields[spec.name] for spec in view.service.requirements.fields
                              if spec.name in view.ticket.fields}
    sla = view.state.sla
    return TicketDetail(
        ticket=TicketSummary.of(view.ticket), fields=fields,
        current_step=view.state.current.id if view.state.current else None,
        steps=[StepStateOut(id=s.step.id, title=s.step.title, actor=s.step.actor, kind=s.step.kind.value,
                            status=s.status.value, started_at=s.started_at, completed_at=s.completed_at, late=s.late)
               for s in view.state.steps],
        sla=SlaOut(variant_id=sla.variant_id, label=sla.label, deadline=sla.deadline,
                   remaining_s=sla.remaining.total_seconds(), paused_s=sla.paused.total_seconds(),
                   breached=sla.breached),
        timeline=[EventOut.of(e) for e in view.timeline],
        attachments=[FileOut.of(a) for a in view.attachments], documents=[FileOut.of(a) for a in view.documents],
        outbox_pending=view.outbox_pending, jadwal=view.jadwal)


def _download(ctx: Ctx, who: Who, ticket_id: str, name: str, documents_only: bool) -> Response:
    ref, content = views.attachment(ctx.services, ticket_id, name, who, documents_only)
    # Always a download, never rendered in the API's origin: an uploaded HTML file must not run here.
    return Response(content, media_type=ref.media_type, headers={
        "Content-Disposition": f"attachment; filename=\"{ref.name}\"", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox"})


@router.get("/tickets/{ticket_id}/attachments/{name}", tags=["tickets"],
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_attachment(ticket_id: str, name: str, ctx: Ctx, who: Who) -> Response:
    """A file of the ticket (the applicant's uploads and spbe's documents), as stored."""
    return _download(ctx, who, ticket_id, name, documents_only=False)


@router.get("/tickets/{ticket_id}/documents/{name}", tags=["tickets"],
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_document(ticket_id: str, name: str, ctx: Ctx, who: Who) -> Response:
    """A document spbe produced for the ticket (berita acara, report, plan)."""
    return _download(ctx, who, ticket_id, name, documents_only=True)




@router.get("/me", response_model=Me, tags=["auth"])
def me(ctx: Ctx, who: Who) -> Me:
    """Who the credential proves, with the directory's roles (what `spbe login` checks a token with)."""
    person = ctx.services.policy.person(who)
    return Me(user=who.user, auth=who.auth.value, name=person.name, roles=sorted(person.roles))


@router.delete("/me/token", status_code=204, tags=["auth"])
def revoke_own_token(ctx: Ctx, who: AnyScope) -> None:
    """Revoke the personal access token this request was made with (what `spbe logout` calls): its next
    use is refused. Any scope may end its own token; a session or an OIDC token has none to revoke."""
    if who.token_id is None:
        raise ConflictError("this request was not made with a personal access token: nothing to revoke here "
                            "(a portal session logs out at /keluar; an OIDC token ends at its provider)")
    ctx.accounts.tokens.revoke(who.principal, who.token_id)
