"""The *jadwal pelaksanaan* (SOP 001 steps 5-6) on a ticket's page: the team proposes a date and time window
with a note, the applicant confirms it or asks for another date with a reason, everyone sees the schedule in
force, in the service's own time zone with its label (WITA for Gorontalo), never the server's.

Each form calls exactly what ``spbe ticket schedule propose|confirm|reject`` calls
(`toolkit.commands.installation_schedule`) with the session's principal; who may propose or answer, and
when, is decided there (and by the policy it asks), whatever form the page drew. The panel shows the
schedule as the policy's trusted timeline tells it, so a forged proposal or answer is never shown as the
schedule. The times typed into the form are read in the service's zone (`install_schedule.parse_local`).

Refusals are Bahasa Indonesia: a bad date or note draws the ticket's page again (400) with the problem next
to its input and what was typed kept; the wrong person gets the 403 page, a schedule that cannot change
now the 409 page, both with fixed texts (`texts.JADWAL_*`), never the command's English message.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from toolkit.commands import installation_schedule
from toolkit.domain import install_schedule as sched
from toolkit.domain.catalog.models import Service, Step, StepPurpose
from toolkit.domain.tickets.models import Ticket, TicketStatus
from toolkit.domain.workflow import StepStatus
from toolkit.engine import scheduler
from toolkit.engine.services import EngineServices
from toolkit.errors import ConflictError, InvalidInputError, PermissionDeniedError, ToolkitError
from toolkit.web.portal import texts, views
from toolkit.web.portal.routes_tickets import ticket_response
from toolkit.web.portal.steps import FormErrors
from toolkit.web.portal.views import TicketView
from toolkit.web.portal.web import Portal, Viewer

PROPOSE_FORM = "jadwal"
REJECT_FORM = "jadwal-tolak"
_OPEN = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Shown:
    """One proposal as the page writes it: local times with the zone's label, names rather than usernames."""

    mulai: str
    selesai: str
    status: str  # proposed, confirmed, rejected
    status_label: str
    by: str
    at: str
    note: str
    answered_by: str | None
    reason: str | None


@dataclass(frozen=True)
class SchedulePanel:
    zone_label: str
    current: Shown | None
    earlier: int  # proposals superseded by the current one
    may_propose: bool  # the viewer is the team and the preparation has not passed
    may_answer: bool  # the viewer is the requester and the latest proposal awaits their answer
    may_confirm: bool  # ... and its start has not passed (a passed start can only be refused)


def _steps(service: Service) -> tuple[Step, Step, Step] | None:
    found = [service.step_with(p) for p in (StepPurpose.SCHEDULE_PROPOSAL, StepPurpose.SCHEDULE_CONFIRMATION,
                                             StepPurpose.SCHEDULED)]
    if found[0] is None or found[1] is None or found[2] is None:
        return None
    return found[0], found[1], found[2]


def _allowed(app: EngineServices, viewer: Viewer, step: Step) -> bool:
    try:
        app.policy.authorize_step(viewer.principal, step)
    except ToolkitError:
        return False
    return True


def _preparing(app: EngineServices, view: TicketView, proposing: Step, scheduled: Step) -> bool:
    """The command's window for a proposal: from the proposal step until the scheduled step has started."""
    current = view.current
    order = view.service.index_of
    if current is None or not order(proposing.id) <= order(current.id) <= order(scheduled.id):
        return False
    if view.state.state_of(scheduled.id).status is StepStatus.DONE:
        return False
    return app.queue.find(scheduler.job_key(view.ticket.id, scheduled.id)) is None


def _name(app: EngineServices, user: str | None) -> str | None:
    if user is None:
        return None
    try:
        return app.directory.person(user).name
    except ToolkitError:
        return user


def _shown(app: EngineServices, recorded: sched.Recorded, zone: Any) -> Shown:
    return Shown(mulai=sched.local(recorded.start, zone), selesai=sched.local(recorded.end, zone),
                 status=recorded.status, status_label=texts.JADWAL_STATUS[recorded.status],
                 by=_name(app, recorded.by) or recorded.by, at=sched.local(recorded.at, zone), note=recorded.note,
                 answered_by=_name(app, recorded.answered_by), reason=recorded.reason)


def schedule_panel(app: EngineServices, viewer: Viewer, view: TicketView) -> SchedulePanel | None:
    """The schedule block of ``view``'s ticket for this viewer; None for a service without a schedule, or
    before any proposal for someone who may not propose. The offers are a courtesy: the command decides."""
    service = view.service
    steps = _steps(service)
    if steps is None:
        return None  # most services: no extra read of the ticket
    proposing, confirming, scheduled = steps
    ticket: Ticket = app.tickets.get(view.ticket.id)  # the whole ticket: the trust check needs the requester
    state = sched.schedule_of(app.policy.trusted(service, ticket, app.tickets.timeline(ticket.id)).events)
    zone = sched.zone_of(service)
    current = state.current
    is_open = ticket.status in _OPEN
    may_propose = (is_open and viewer.user != ticket.requester and proposing.actor in viewer.roles
                   and _preparing(app, view, proposing, scheduled) and _allowed(app, viewer, proposing))
    may_answer = (is_open and viewer.user == ticket.requester and current is not None
                  and current.status == "proposed" and _allowed(app, viewer, confirming))
    may_confirm = may_answer and current is not None and current.start > app.clock.now()
    if current is None and not may_propose:
        return None
    return SchedulePanel(zone_label=sched.zone_label(zone), current=_shown(app, current, zone) if current else None,
                         earlier=max(0, len(state.history) - 1), may_propose=may_propose, may_answer=may_answer,
                         may_confirm=may_confirm)


def problem_text(field: str, problem: str) -> str:
    """A command's validation problem of a free-text input in Bahasa Indonesia (the survey's comment too)."""
    return _problem(field, problem)[1]


def _problem(field: str, problem: str) -> tuple[str, str]:
    """A command's ``(field, problem)`` as (the input it belongs next to, a Bahasa Indonesia text)."""
    number = _NUMBER.search(problem)
    n = number.group(0) if number else ""
    if problem == "required":
        return field, "Wajib diisi."
    if problem == "format":
        return field, texts.JADWAL_FORMAT
    if "end must come after" in problem:
        return "end", "Waktu selesai harus sesudah waktu mulai."
    if "takes at least" in problem:
        return "end", f"Pelaksanaan paling singkat {n} menit."
    if "window may be at most" in problem:
        return "end", f"Rentang pelaksanaan paling lama {n} jam."
    if "start must be in the future" in problem:
        return "start", "Waktu mulai harus di masa mendatang."
    if "days ahead" in problem:
        return "start", f"Waktu mulai paling jauh {n} hari dari sekarang."
    if "template syntax" in problem:
        return field, "Tidak boleh memuat sintaks templat ({{ }}, {% %}, {# #})."
    if "must not contain" in problem:
        return field, "Memuat karakter yang tidak diizinkan (ganti baris, karakter kendali atau arah teks)."
    if "at most" in problem and "character" in problem:
        return field, f"Paling banyak {n} karakter."
    return field, texts.JADWAL_INVALID


def form_errors(form: str, exc: InvalidInputError, values: dict[str, str], known: Iterable[str]) -> FormErrors:
    names = set(known)
    fields: dict[str, str] = {}
    general: list[str] = []
    for name, problem in exc.details.get("errors", []) or []:
        field, text = _problem(str(name).split(".")[0], str(problem))
        if field in names:
            fields.setdefault(field, text)
        else:
            general.append(text)
    if not fields and not general:
        general.append(texts.JADWAL_INVALID)
    return FormErrors(form=form, fields=fields, general=general, values=values)


def refusal(exc: ToolkitError, answering: bool) -> tuple[int, str, str]:
    """(status, title, text) of a refused schedule operation; (0, ...) for the portal's general page."""
    if isinstance(exc, PermissionDeniedError):
        return 403, texts.TITLE_FORBIDDEN, texts.JADWAL_NOT_REQUESTER if answering else texts.JADWAL_NOT_TEAM
    if isinstance(exc, ConflictError):
        return 409, texts.TITLE_CONFLICT, texts.JADWAL_CONFLICT
    return 0, "", ""


def add_schedule_routes(router: APIRouter, portal: Portal) -> None:
    app = portal.app
    Signed = Annotated[Viewer, Depends(portal.require)]

    def panel(view: TicketView, viewer: Viewer) -> SchedulePanel | None:
        return schedule_panel(app, viewer, view)

    portal.env.globals["jadwal_pelaksanaan"] = panel  # the ticket page's partial, _jadwal.html.j2

    async def act(request: Request, viewer: Viewer, ticket_id: str, form_id: str, known: tuple[str, ...],
                  call: Callable[[dict[str, str]], installation_schedule.Outcome], done: Callable[[bool], str],
                  answering: bool) -> Response:
        form = await request.form(max_files=0, max_fields=10, max_part_size=8 * 1024)
        refused = portal.csrf_refused(request, viewer, form)
        if refused is not None:
            return refused
        values = {k: v for k, v in form.items() if isinstance(v, str) and k in known}
        try:
            views.visible_ticket(app, viewer, ticket_id)
            outcome = await run_in_threadpool(call, values)
        except InvalidInputError as exc:
            failed = form_errors(form_id, exc, values, known)
            return ticket_response(portal, request, viewer, ticket_id, failed=failed, status=400)
        except ToolkitError as exc:
            status, title, text = refusal(exc, answering)
            if not status:
                return portal.failure(request, viewer, exc)
            return portal.render(request, "galat.html.j2", {"judul": title, "pesan": text}, viewer=viewer,
                                 status=status)
        return portal.redirect(request, f"/tiket/{ticket_id}?ok={done(outcome.acted)}#jadwal")

    @router.post("/tiket/{ticket_id}/jadwal")
    async def propose(request: Request, ticket_id: str, viewer: Signed) -> Response:
        """The team's proposal: start and end as the browser's ``datetime-local`` sends them, read in the
        service's zone; a note of one line."""
        return await act(request, viewer, ticket_id, PROPOSE_FORM, ("start", "end", "note"),
                         lambda f: installation_schedule.propose(app, ticket_id, viewer.principal,
                                                                 f.get("start", ""), f.get("end", ""),
                                                                 f.get("note") or None),
                         lambda _: "jadwal-diusulkan", answering=False)

    @router.post("/tiket/{ticket_id}/jadwal/konfirmasi")
    async def confirm(request: Request, ticket_id: str, viewer: Signed) -> Response:
        return await act(request, viewer, ticket_id, PROPOSE_FORM, (),
                         lambda f: installation_schedule.confirm(app, ticket_id, viewer.principal),
                         lambda acted: "jadwal-dikonfirmasi" if acted else "jadwal-tidak-berubah", answering=True)

    @router.post("/tiket/{ticket_id}/jadwal/tolak")
    async def reject(request: Request, ticket_id: str, viewer: Signed) -> Response:
        return await act(request, viewer, ticket_id, REJECT_FORM, ("reason",),
                         lambda f: installation_schedule.reject(app, ticket_id, viewer.principal, f.get("reason")),
                         lambda _: "jadwal-ditolak", answering=True)
