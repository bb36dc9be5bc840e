"""The satisfaction survey (SKM) on a closed ticket's page, for its applicant: the nine elements as rows of
four radio buttons (1 tidak baik .. 4 sangat baik) and a comment; once answered, the answer shown back.

The form posts to ``/tiket/{id}/survei`` with the session's CSRF token and calls
`toolkit.commands.survey.answer_survey` with the session's principal, exactly as ``spbe survey answer``
does (applicant only, closed only, once, each score 1..4, the comment's rules and the audit stay there). A
form refused for its input is drawn again on the ticket page with the nine choices and the comment kept and
each problem in Bahasa Indonesia next to its input (nine rows are tedious to choose twice); any other
refusal is the portal's error page. The comment is shown back through the template's autoescaping, as typed.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from toolkit.commands import survey
from toolkit.domain.tickets.models import TicketStatus
from toolkit.engine.services import EngineServices
from toolkit.errors import InvalidInputError, ToolkitError
from toolkit.survey.ikm import ELEMENTS
from toolkit.survey.models import MAX_COMMENT, SurveyAnswer, surveyed
from toolkit.web.portal import texts, views
from toolkit.web.portal.routes_schedule import problem_text
from toolkit.web.portal.routes_tickets import ticket_response
from toolkit.web.portal.steps import FormErrors
from toolkit.web.portal.views import TicketView
from toolkit.web.portal.web import Portal, Viewer

COMMENT_FIELD = "saran"
SCALE = {1: "Tidak baik", 2: "Kurang baik", 3: "Baik", 4: "Sangat baik"}


@dataclass(frozen=True)
class SurveyPanel:
    ticket_id: str
    elements: tuple[tuple[str, str], ...]  # (code, name), U1..U9
    scale: tuple[tuple[int, str], ...]
    answer: SurveyAnswer | None  # None: the form
    max_comment: int = MAX_COMMENT


def survey_panel(app: EngineServices, viewer: Viewer, view: TicketView) -> SurveyPanel | None:
    """The panel for the applicant of a closed, surveyed ticket; None for anyone and anything else."""
    ticket = view.ticket
    if not view.mine or ticket.status != TicketStatus.CLOSED or not surveyed(view.service):
        return None
    try:
        answer = survey.survey_of(app, viewer.principal, ticket.id)
    except ToolkitError:
        return None
    return SurveyPanel(ticket_id=ticket.id, elements=tuple(ELEMENTS.items()), scale=tuple(SCALE.items()),
                       answer=answer)


def add_survey_routes(router: APIRouter, portal: Portal) -> None:
    app = portal.app
    Signed = Annotated[Viewer, Depends(portal.require)]

    def panel(view: TicketView, viewer: Viewer) -> SurveyPanel | None:
        return survey_panel(app, viewer, view)

    portal.env.globals["survei"] = panel  # the ticket page's partial, _survei.html.j2

    @router.post("/tiket/{ticket_id}/survei")
    async def answer(request: Request, ticket_id: str, viewer: Signed) -> Response:
        form = await request.form(max_files=0, max_fields=len(ELEMENTS) + 4, max_part_size=4 * MAX_COMMENT)
        refused = portal.csrf_refused(request, viewer, form)
        if refused is not None:
            return refused
        raw = {code.lower(): form.get(code.lower()) for code in ELEMENTS}
        comment = form.get(COMMENT_FIELD)
        try:
            views.visible_ticket(app, viewer, ticket_id)
            scores = survey.survey_scores({k: v for k, v in raw.items() if isinstance(v, str)})
            await run_in_threadpool(survey.answer_survey, app, viewer.principal, ticket_id, scores,
                                    comment if isinstance(comment, str) else None)
        except InvalidInputError as exc:
            typed = {k: v for k, v in raw.items() if isinstance(v, str)}
            typed[COMMENT_FIELD] = comment if isinstance(comment, str) else ""
            return ticket_response(portal, request, viewer, ticket_id, failed=refused_form(exc, typed), status=400)
        except ToolkitError as exc:
            return portal.failure(request, viewer, exc)
        return portal.redirect(request, f"/tiket/{ticket_id}?ok=survei#survei")


def refused_form(exc: InvalidInputError, typed: dict[str, str]) -> FormErrors:
    """The survey's problems next to their inputs: a score row (``u1``..``u9``) or the comment."""
    fields: dict[str, str] = {}
    for name, problem in exc.details.get("errors", []) or []:
        key = str(name).split(".")[0]
        if key in {code.lower() for code in ELEMENTS}:
            fields.setdefault(key, texts.SURVEY_SCORE)
        else:
            fields.setdefault(COMMENT_FIELD, problem_text(COMMENT_FIELD, str(problem)))
    return FormErrors(form="survei", fields=fields, general=[] if fields else [texts.SURVEY_INVALID],
                      values=typed)
