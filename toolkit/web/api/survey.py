"""The satisfaction survey over the API: the applicant answers for a closed ticket, reads their answer back;
anyone signed in reads the IKM (an aggregate, as published).

The body is strict (unknown keys refused; a score is a JSON integer or a one-digit string, never a boolean or
a fraction) and the command layer applies the CLI's rules (`toolkit.commands.survey`): the applicant only,
the ticket closed, each score 1..4, one answer per ticket (409 for a second). A ticket the caller may not
see is refused as absent first, like every workflow route.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from toolkit.commands import survey, views
from toolkit.errors import InvalidInputError, NotFoundError
from toolkit.survey.ikm import IkmRow
from toolkit.survey.models import MAX_COMMENT, SurveyAnswer
from toolkit.web.auth import Ctx, Who

router = APIRouter(tags=["survey"])
ScoreIn = StrictInt | Annotated[StrictStr, Field(max_length=4)]


class SurveyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    u1: ScoreIn
    u2: ScoreIn
    u3: ScoreIn
    u4: ScoreIn
    u5: ScoreIn
    u6: ScoreIn
    u7: ScoreIn
    u8: ScoreIn
    u9: ScoreIn
    comment: Annotated[str, Field(max_length=MAX_COMMENT)] | None = None


class IkmOut(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: datetime
    end: datetime
    services: list[IkmRow]
    overall: IkmRow | None


@router.post("/tickets/{ticket_id}/survey", response_model=SurveyAnswer, status_code=201)
def answer(ticket_id: str, body: SurveyIn, ctx: Ctx, who: Who) -> SurveyAnswer:
    """The applicant's answer for their closed ticket: nine scores 1..4 (U1..U9) and an optional comment."""
    views.visible_ticket(ctx.services, ticket_id, who)
    scores = survey.survey_scores(body.model_dump(exclude={"comment"}))
    return survey.answer_survey(ctx.services, who, ticket_id, scores, body.comment)


@router.get("/tickets/{ticket_id}/survey", response_model=SurveyAnswer)
def show(ticket_id: str, ctx: Ctx, who: Who) -> SurveyAnswer:
    """The applicant's own answer (404 when there is none yet)."""
    views.visible_ticket(ctx.services, ticket_id, who)
    found = survey.survey_of(ctx.services, who, ticket_id)
    if found is None:
        raise NotFoundError(f"ticket {ticket_id} has no survey answer yet", ticket=ticket_id)
    return found


def _day(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"invalid {field}: a date YYYY-MM-DD", errors=[(field, "format")]) from None


@router.get("/survey/ikm", response_model=IkmOut)
def ikm(ctx: Ctx, who: Who, service: Annotated[str | None, Query(max_length=64)] = None,
        start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
        end: Annotated[str | None, Query(alias="to", max_length=10)] = None) -> IkmOut:
    """The IKM per service (and overall) of the answers from day ``from`` to day ``to``, both included, in
    the deployment's zone (`toolkit.commands.survey.local_period`); by default the current calendar year."""
    since, until = survey.local_period(ctx.services, _day(start, "from"), _day(end, "to"))
    rows, overall = survey.ikm_report(ctx.services, since, until, service)
    return IkmOut(start=since, end=until, services=rows, overall=overall)


