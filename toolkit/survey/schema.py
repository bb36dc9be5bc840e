"""The ``survey_answers`` table of the state database (``<state_dir>/state.db``).

One row per closed ticket (the PRIMARY KEY is what makes "one answer per ticket" hold even for two answers
at once: the second INSERT fails), the nine element scores U1..U9 as integers 1..4 (checked by SQLite as
well as by the pydantic model in front of it, so a row written by another tool cannot carry a 0 or a 5
into the index), the answering applicant and the moment, and an optional comment.

``answered_at`` is UTC text in one fixed-width form (`db_time`): the periods of `toolkit.survey.ikm` are
compared as text (``answered_at >= ? AND answered_at < ?``, which the index serves), and text compares
like time only when every value has the same shape. Anything that writes this table (the survey store,
a test-data generator) formats its timestamps with `db_time`.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

# The element columns, in the regulation's order (U1..U9); names in `toolkit.survey.ikm.ELEMENTS`.
ELEMENT_COLUMNS: tuple[str, ...] = tuple(f"u{n}" for n in range(1, 10))

_SCORES = ", ".join(f"{c} INTEGER NOT NULL CHECK ({c} BETWEEN 1 AND 4)" for c in ELEMENT_COLUMNS)

SCHEMA: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS survey_answers (ticket_id TEXT PRIMARY KEY, service_id TEXT NOT NULL, "
    f"respondent TEXT NOT NULL, answered_at TEXT NOT NULL, {_SCORES}, comment TEXT)",
    # (service_id, answered_at) first, for the period and the service; the scores after them make it a covering
    # index, so the IKM's GROUP BY reads the index alone: a year of 100 000 answers per service took 220 ms of
    # CPU through the table and takes 42 ms from the index (measured under load, benchmarks in the report).
    "CREATE INDEX IF NOT EXISTS survey_answers_by_service ON survey_answers "
    f"(service_id, answered_at, {', '.join(ELEMENT_COLUMNS)})",
)

# One answer, in the column order (ticket_id, service_id, respondent, answered_at, u1..u9, comment).
INSERT = ("INSERT INTO survey_answers (ticket_id, service_id, respondent, answered_at, "  # noqa: S608 - fixed columns
          f"{', '.join(ELEMENT_COLUMNS)}, comment) VALUES ({', '.join('?' * (len(ELEMENT_COLUMNS) + 5))})")


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the table and its index if missing (idempotent); for callers holding a bare connection."""
    for statement in SCHEMA:
        conn.execute(statement)


def db_time(moment: datetime) -> str:
    """``moment`` as the table stores it: UTC, microseconds, fixed width
    (``2026-12-07T11:26:38.000000+00:00``). A naive datetime is refused: its zone would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("survey timestamps must carry a time zone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
