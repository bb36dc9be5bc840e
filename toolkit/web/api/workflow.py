"""Every step of the SOP a person takes, one route each, calling the CLI's own commands.

A command checks the principal against the policy before it writes; a ticket the caller may not see is
refused as absent first (`views.visible_ticket`), so the routes leak no ticket's existence. The answer
is the ticket as this caller may see it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from toolkit.commands import desk, incident, installation_schedule, revision, views
from toolkit.domain.principal import Principal
from toolkit.engine.services import EngineServices
from toolkit.web.api.models import (
    AdvanceIn,
    AssignIn,
    CommentIn,
    DecideIn,
    NoteIn,
    ReasonIn,
    ReturnIn,
    ScheduleOut,
    ScheduleProposeIn,
    TicketSummary,
)
from toolkit.web.api.tickets import _uploads
from toolkit.web.auth import Ctx, Who

router = APIRouter(prefix="/tickets/{ticket_id}", tags=["workflow"])


def _visible(app: EngineServices, ticket_id: str, who: Principal) -> None:
    views.visible_ticket(app, ticket_id, who)


def _out(app: EngineServices, ticket_id: str, who: Principal) -> TicketSummary:
    _, ticket = views.visible_ticket(app, ticket_id, who)
    return TicketSummary.of(views.redacted(app, app.catalog.get(ticket.service_id), ticket, who))


@router.post("/check", response_model=TicketSummary)
def check(ticket_id: str, ctx: Ctx, who: Who) -> TicketSummary:
    """The koordinator's completeness check: complete, forwarded to the approver."""
    _visible(ctx.services, ticket_id, who)
    desk.check(ctx.services, ticket_id, who)
    return _out(ctx.services, ticket_id, who)


@router.post("/return", response_model=TicketSummary)
def return_for_revision(ticket_id: str, body: ReturnIn, ctx: Ctx, who: Who) -> TicketSummary:
    """The completeness check found something missing: back to the applicant, naming what."""
    _visible(ctx.services, ticket_id, who)
    revision.return_for_revision(ctx.services, ticket_id, who, body.missing, body.note)
    return _out(ctx.services, ticket_id, who)


@router.post("/resubmit", response_model=TicketSummary)
def resubmit(ticket_id: str, ctx: Ctx, who: Who, note: Annotated[str, Form(max_length=4000)],
             kinds: Annotated[list[str] | None, Form()] = None,
             files: Annotated[list[UploadFile] | None, File()] = None) -> TicketSummary:
    """The requester sends a returned request back, with the missing files."""
    _visible(ctx.services, ticket_id, who)
    revision.resubmit(ctx.services, ticket_id, who, note, _uploads(ctx, kinds or [], files or []))
    return _out(ctx.services, ticket_id, who)


@router.post("/approve", response_model=TicketSummary)
def approve(ticket_id: str, body: ReasonIn, ctx: Ctx, who: Who) -> TicketSummary:
    """The SOP's approver (never the requester) approves with a written reason; the work starts."""
    _visible(ctx.services, ticket_id, who)
    desk.approve(ctx.services, ticket_id, who, body.reason)
    return _out(ctx.services, ticket_id, who)


@router.post("/defer", response_model=TicketSummary)
def defer(ticket_id: str, body: ReasonIn, ctx: Ctx, who: Who) -> TicketSummary:
    _visible(ctx.services, ticket_id, who)
    desk.defer(ctx.services, ticket_id, who, body.reason)
    return _out(ctx.services, ticket_id, who)


@router.post("/reject", response_model=TicketSummary)
def reject(ticket_id: str, body: ReasonIn, ctx: Ctx, who: Who) -> TicketSummary:
    """The verification found the report is no incident: closed with the reason, the reporter told."""
    _visible(ctx.services, ticket_id, who)
    incident.reject(ctx.services, ticket_id, who, body.reason)
    return _out(ctx.services, ticket_id, who)


@router.post("/decide", response_model=TicketSummary)
def decide(ticket_id: str, body: DecideIn, ctx: Ctx, who: Who) -> TicketSummary:
    """A branch decision of the SOP (e.g. jenis_insiden), by the role of the step that decides it."""
    _visible(ctx.services, ticket_id, who)
    incident.decide(ctx.services, ticket_id, who, dict(body.set), body.reason)
    return _out(ctx.services, ticket_id, who)


@router.post("/advance", response_model=TicketSummary)
def advance(ticket_id: str, body: AdvanceIn, ctx: Ctx, who: Who) -> TicketSummary:
    """Record the current human step as done (installation, UAT...)."""
    _visible(ctx.services, ticket_id, who)
    desk.record_step(ctx.services, ticket_id, who, body.step, body.note)
    return _out(ctx.services, ticket_id, who)


@router.post("/close", response_model=TicketSummary)
def close(ticket_id: str, body: NoteIn, ctx: Ctx, who: Who) -> TicketSummary:
    _visible(ctx.services, ticket_id, who)
    desk.close(ctx.services, ticket_id, who, body.note)
    return _out(ctx.services, ticket_id, who)


@router.post("/cancel", response_model=TicketSummary)
def cancel(ticket_id: str, body: ReasonIn, ctx: Ctx, who: Who) -> TicketSummary:
    """The requester or the koordinator cancels before approved work starts."""
    _visible(ctx.services, ticket_id, who)
    revision.cancel(ctx.services, ticket_id, who, body.reason)
    return _out(ctx.services, ticket_id, who)


@router.post("/comments", status_code=204)
def comment(ticket_id: str, body: CommentIn, ctx: Ctx, who: Who) -> None:
    _visible(ctx.services, ticket_id, who)
    desk.comment(ctx.services, ticket_id, who, body.text)


@router.post("/assign", response_model=TicketSummary)
def assign(ticket_id: str, body: AssignIn, ctx: Ctx, who: Who) -> TicketSummary:
    _visible(ctx.services, ticket_id, who)
    desk.assign(ctx.services, ticket_id, who, body.assignee)
    return _out(ctx.services, ticket_id, who)


@router.post("/schedule/propose", response_model=ScheduleOut)
def propose_schedule(ticket_id: str, body: ScheduleProposeIn, ctx: Ctx, who: Who) -> ScheduleOut:
    """The installation team proposes the jadwal pelaksanaan (SOP 001 steps 5-6); never the requester."""
    _visible(ctx.services, ticket_id, who)
    return ScheduleOut.of(installation_schedule.propose(ctx.services, ticket_id, who, body.start, body.end,
                                                        body.note))


@router.post("/schedule/confirm", response_model=ScheduleOut)
def confirm_schedule(ticket_id: str, ctx: Ctx, who: Who) -> ScheduleOut:
    """The requester confirms the latest proposal; confirming it again changes nothing (``acted`` false)."""
    _visible(ctx.services, ticket_id, who)
    return ScheduleOut.of(installation_schedule.confirm(ctx.services, ticket_id, who))


@router.post("/schedule/reject", response_model=ScheduleOut)
def reject_schedule(ticket_id: str, body: ReasonIn, ctx: Ctx, who: Who) -> ScheduleOut:
    """The requester asks for another date, with a written reason; the team proposes again."""
    _visible(ctx.services, ticket_id, who)
    return ScheduleOut.of(installation_schedule.reject(ctx.services, ticket_id, who, body.reason))
