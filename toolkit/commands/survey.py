"""The satisfaction survey (SKM), the commands: answer the survey of a closed ticket, read the IKM.

Permenpan RB No. 14 of 2017 asks every public service to survey the people it served; here the survey is
offered when a ticket closes (`toolkit.engine.survey_offer`) and answered once, by the ticket's applicant
only: no member of staff, not even the koordinator who closed it, may answer in the applicant's place, since
the index measures what the applicant thought of the service. The rules, each a refusal with its own error:

- the ticket exists (`NotFoundError`) and its requester is the principal (`PermissionDeniedError`);
- the ticket is closed (`ConflictError`): a survey of a service still under way measures nothing yet;
- the service is surveyed at all (`toolkit.survey.models.surveyed`: not a confidential incident report);
- each of the nine scores is an integer 1..4 (`InvalidInputError` naming the element);
- the optional comment is free text by the ticket rules (no control characters), at most `MAX_COMMENT`;
- one answer per ticket (`ConflictError`; the store's primary key holds it for two answers at once).

The scores and the comment are not posted on the ticket: the people who served the applicant should not
read one person's marks beside their name. They are stored in the state database and audited (the scores
and the comment's length; the comment itself only in the store).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from toolkit.domain.principal import Principal
from toolkit.domain.tickets.models import TicketStatus
from toolkit.domain.tickets.requests import check_free_text
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError, ToolkitError
from toolkit.services import Services
from toolkit.survey.ikm import ELEMENTS, IkmRow
from toolkit.survey.models import MAX_COMMENT, SurveyAnswer, SurveyScores, parse_score, surveyed


def survey_scores(raw: Mapping[str, object]) -> SurveyScores:
    """The nine scores from what a person typed or sent, keyed ``u1``..``u9`` (or ``U1``..``U9``); every
    missing or bad one named in the error (``u3: a score is a whole number 1..4, not '5'``)."""
    given = {str(k).lower(): v for k, v in raw.items()}
    unknown = sorted(set(given) - {c.lower() for c in ELEMENTS})
    errors: list[tuple[str, str]] = [(k[:20], "unknown survey element") for k in unknown]
    values: dict[str, int] = {}
    for code in ELEMENTS:
        key = code.lower()
        if given.get(key) is None:
            errors.append((key, "required"))
            continue
        try:
            values[key] = parse_score(given[key], key)  # type: ignore[arg-type]  # checked inside
        except ValueError as exc:
            errors.append((key, str(exc).split(": ", 1)[-1]))
    if errors:
        text = "; ".join(f"{field}: {msg}" for field, msg in errors)
        raise InvalidInputError(f"invalid survey answer: {text}", errors=errors)
    try:
        return SurveyScores.model_validate(values)
    except ValidationError as exc:  # pragma: no cover - parse_score already held each to 1..4
        raise InvalidInputError(f"invalid survey answer: {exc.errors()[0]['msg']}") from None


def _comment(comment: str | None) -> str | None:
    if comment is None or not comment.strip():
        return None
    return check_free_text(comment, "comment", max_length=MAX_COMMENT)


def answer_survey(app: Services, principal: Principal, ticket_id: str, scores: SurveyScores,
                  comment: str | None = None) -> SurveyAnswer:
    """Store the applicant's answer for their closed ticket, once; every refusal audited."""
    text = _comment(comment)
    subject = {"ticket": ticket_id}
    try:
        ticket = app.tickets.get(ticket_id)
        if principal.user != ticket.requester:
            raise PermissionDeniedError(f"only the applicant of {ticket_id} may answer its satisfaction survey",
                                        user=principal.user, ticket=ticket_id)
        if not surveyed(app.catalog.get(ticket.service_id)):
            raise ConflictError(f"ticket {ticket_id} is of a service whose reporter is confidential: it has no "
                                "satisfaction survey", ticket=ticket_id)
        if ticket.status != TicketStatus.CLOSED:
            raise ConflictError(f"ticket {ticket_id} is not closed: the survey opens when it closes",
                                ticket=ticket_id, status=ticket.status.value)
        answer = SurveyAnswer(ticket_id=ticket.id, service_id=ticket.service_id, respondent=principal.user,
                              answered_at=app.clock.now(), scores=scores, comment=text)
        app.state.survey.record(answer)
    except (PermissionDeniedError, ConflictError, NotFoundError) as exc:
        app.audit.append(principal.user, "survey.answer.refused", ticket_id if not isinstance(exc, NotFoundError)
                         else None, {**subject, "reason": app.masker(str(exc)), **principal.audit_data()})
        raise
    app.audit.append(principal.user, "survey.answer", ticket.id, {
        "service": ticket.service_id, "scores": scores.by_code(), "comment_chars": len(text or ""),
        **principal.audit_data()})
    return answer


def survey_of(app: Services, principal: Principal, ticket_id: str) -> SurveyAnswer | None:
    """The applicant's own answer for their ticket (to show it back); nobody else's."""
    ticket = app.tickets.get(ticket_id)
    if principal.user != ticket.requester:
        raise PermissionDeniedError(f"only the applicant of {ticket_id} may read its survey answer",
                                    user=principal.user, ticket=ticket_id)
    return app.state.survey.get(ticket_id)


def local_period(app: Services, first: date | None, last: date | None) -> tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00) in the deployment's zone (``settings.worktime.timezone``):
    both days included, as a person means "from 1 January to 31 March". Without ``first``, 1 January of
    ``last``'s year (or of this year); without ``last``, 31 December of ``first``'s year."""
    zone = ZoneInfo(app.settings.worktime.timezone)
    if first is None:
        first = date((last or app.clock.now().astimezone(zone).date()).year, 1, 1)
    if last is None:
        last = date(first.year, 12, 31)
    if last < first:
        raise InvalidInputError("the period must end after it starts", errors=[("to", "before from")])
    return datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone)


def ikm_report(app: Services, start: datetime, end: datetime,
               service_id: str | None = None) -> tuple[list[IkmRow], IkmRow | None]:
    """The IKM per service in [start, end) and, without ``service_id``, of all services together (an
    aggregate: reading it needs no role, like the published index it is). An unknown service is an
    error rather than an empty table, so a typo is not read as "no respondents"."""
    if end <= start:
        raise InvalidInputError("the period must end after it starts", errors=[("to", "before from")])
    if service_id is not None:
        try:
            app.catalog.get(service_id)
        except ToolkitError as exc:
            raise InvalidInputError(str(exc), errors=[("service", "unknown")]) from None
    rows = app.state.survey.ikm_by_service(start, end, service_id)
    overall = app.state.survey.ikm_overall(start, end) if service_id is None else None
    return rows, overall
