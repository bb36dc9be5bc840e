"""Survey answers (`toolkit.ports.state.SurveyAnswers`) in PostgreSQL: table ``survey_answers``.

"One answer per ticket" is the primary key, as in SQLite (`integrations.state.survey`): a second answer,
two clicks at once included, fails on the key and is a `ConflictError`, never an overwrite; the scores
are checked 1..4 by the table as well as by the model. The IKM is computed by the server, one GROUP BY over
the index, never by loading the answers. Each element mean is ``SUM(u)::float8 / COUNT(*)``: the integer
sum is exact and the one division is IEEE, the same double SQLite's ``AVG`` gives, so both stores report
the same IKM to the last digit (``AVG`` of an integer column here is a ``numeric`` rounded to 16 places).
The period is half-open [start, end) on ``answered_at`` and refused when naive or empty
(`toolkit.survey.ikm`'s rules); the band and rounding are `toolkit.survey.ikm`'s own functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import psycopg

from integrations.state.postgres_tx import PgStore, utc
from toolkit.errors import ConflictError
from toolkit.survey.ikm import ALL_SERVICES, ELEMENTS, IkmRow, ikm_value, mutu
from toolkit.survey.models import SurveyAnswer, SurveyScores
from toolkit.survey.schema import ELEMENT_COLUMNS, db_time

_MEANS = ", ".join(f"SUM({c})::float8 / COUNT(*) AS {c}" for c in ELEMENT_COLUMNS)
_INSERT = ("INSERT INTO survey_answers (ticket_id, service_id, respondent, answered_at, "  # noqa: S608 - fixed columns
           f"{', '.join(ELEMENT_COLUMNS)}, comment) VALUES ({', '.join(['%s'] * (len(ELEMENT_COLUMNS) + 5))})")


def _period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    db_time(start), db_time(end)  # refuses a naive bound, as the SQLite store does
    if end <= start:
        raise ValueError("the period must end after it starts")
    return start, end


def _row(service_id: str, respondents: int, means: Mapping[str, float]) -> IkmRow:
    value = ikm_value(means)
    letter, kinerja = mutu(value)
    return IkmRow(service_id=service_id, respondents=respondents, element_means=dict(means), ikm=value,
                  mutu=letter, kinerja=kinerja)


def _means(row: Mapping[str, object]) -> dict[str, float]:
    return {code: float(row[column]) for code, column in zip(ELEMENTS, ELEMENT_COLUMNS, strict=True)}  # type: ignore[arg-type]


class PgSurveyStore(PgStore):
    def record(self, answer: SurveyAnswer) -> None:
        try:
            with self._tx() as cur:
                cur.execute(_INSERT, (answer.ticket_id, answer.service_id, answer.respondent, answer.answered_at,
                                      *answer.scores.values(), answer.comment))
        except psycopg.errors.UniqueViolation:
            raise ConflictError(f"ticket {answer.ticket_id} already has a survey answer",
                                ticket=answer.ticket_id) from None

    def get(self, ticket_id: str) -> SurveyAnswer | None:
        with self._tx() as cur:
            row = cur.execute("SELECT * FROM survey_answers WHERE ticket_id = %s", (ticket_id,)).fetchone()
        if row is None:
            return None
        scores = SurveyScores.model_validate({c: row[c] for c in ELEMENT_COLUMNS})
        return SurveyAnswer(ticket_id=row["ticket_id"], service_id=row["service_id"], respondent=row["respondent"],
                            answered_at=utc(row["answered_at"]), scores=scores, comment=row["comment"])

    def ikm_by_service(self, start: datetime, end: datetime, service_id: str | None = None) -> list[IkmRow]:
        since, until = _period(start, end)
        with self._tx() as cur:
            rows = cur.execute(
                f"SELECT service_id, COUNT(*) AS n, {_MEANS} FROM survey_answers "  # noqa: S608 - fixed columns
                "WHERE answered_at >= %(a)s AND answered_at < %(b)s AND (%(s)s::text IS NULL OR service_id = %(s)s) "
                "GROUP BY service_id ORDER BY service_id COLLATE \"C\"",
                {"a": since, "b": until, "s": service_id}).fetchall()
        return [_row(r["service_id"], int(r["n"]), _means(r)) for r in rows]

    def ikm_overall(self, start: datetime, end: datetime) -> IkmRow | None:
        since, until = _period(start, end)
        with self._tx() as cur:
            row = cur.execute(f"SELECT COUNT(*) AS n, {_MEANS} FROM survey_answers "  # noqa: S608 - fixed columns
                              "WHERE answered_at >= %s AND answered_at < %s", (since, until)).fetchone()
        if row is None or not row["n"]:
            return None
        return _row(ALL_SERVICES, int(row["n"]), _means(row))
