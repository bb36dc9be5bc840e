"""Survey answers (`toolkit.ports.state.SurveyAnswers`) in the SQLite state database.

The table is `toolkit.survey.schema`'s ``survey_answers``; the index is `toolkit.survey.ikm`'s queries
run on this store's connection. "One answer per ticket" is the table's PRIMARY KEY: a second answer
(two clicks at once included: the second INSERT waits for the first's write lock, then fails) is a
`ConflictError`, never an overwrite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from toolkit.errors import ConflictError, UnavailableError
from toolkit.sqlite_tx import SqliteStore
from toolkit.survey import ikm
from toolkit.survey.ikm import IkmRow
from toolkit.survey.models import SurveyAnswer, SurveyScores
from toolkit.survey.schema import ELEMENT_COLUMNS, INSERT, SCHEMA, db_time

_SELECT = (f"SELECT ticket_id, service_id, respondent, answered_at, {', '.join(ELEMENT_COLUMNS)}, comment "  # noqa: S608
           "FROM survey_answers WHERE ticket_id = ?")


class SurveyStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "survey store")
        self._create(*SCHEMA)

    def record(self, answer: SurveyAnswer) -> None:
        try:
            with self._tx() as db:
                db.execute(INSERT, (answer.ticket_id, answer.service_id, answer.respondent,
                                    db_time(answer.answered_at), *answer.scores.values(), answer.comment))
        except sqlite3.IntegrityError:
            raise ConflictError(f"ticket {answer.ticket_id} already has a survey answer",
                                ticket=answer.ticket_id) from None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A read of one statement: its own snapshot under WAL, and no write lock held while a year of
        answers is averaged."""
        try:
            yield self._conn()
        except sqlite3.OperationalError as exc:
            raise UnavailableError(f"{self.what} unavailable: {exc}", path=str(self.path)) from None

    def get(self, ticket_id: str) -> SurveyAnswer | None:
        with self._reading() as db:
            row = db.execute(_SELECT, (ticket_id,)).fetchone()
        if row is None:
            return None
        scores = SurveyScores.model_validate(dict(zip(ELEMENT_COLUMNS, row[4:13], strict=True)))
        return SurveyAnswer(ticket_id=row[0], service_id=row[1], respondent=row[2],
                            answered_at=datetime.fromisoformat(row[3]), scores=scores, comment=row[13])

    def ikm_by_service(self, start: datetime, end: datetime, service_id: str | None = None) -> list[IkmRow]:
        with self._reading() as db:
            return ikm.ikm_by_service(db, start, end, service_id)

    def ikm_overall(self, start: datetime, end: datetime) -> IkmRow | None:
        with self._reading() as db:
            return ikm.ikm_overall(db, start, end)
