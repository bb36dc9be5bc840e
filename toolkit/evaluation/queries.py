"""The evaluation's read model: one Protocol, and its SQLite implementation over the embedded stores.

`EvaluationReadModel.figures` answers every question of the yearly evaluation for a period in one call,
computed by the store (`toolkit.evaluation.sql`): the tickets never travel to Python, only a few aggregate
rows per service do. A PostgreSQL store (issue 19) implements the same method with the same SQL shapes
(window functions, ``json`` operators, a temporary calendar table).

`SqliteEvaluationStore` reads the ticket file (``tickets``, ``events``) and attaches ``state.db`` (the
escalation claims, the survey answers) on one read-only connection per call, so a report and a metrics scrape
never take a write lock nor keep a connection between calls; the temporary tables live in that connection's
own temp database and vanish with it. It is built once by the composition root (`App.evaluation`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from toolkit.domain.principal import ENGINE_USER
from toolkit.errors import UnavailableError
from toolkit.evaluation import sql
from toolkit.evaluation.facts import CatalogFacts
from toolkit.evaluation.models import (
    ComplaintRow,
    DurationRow,
    EscalationRow,
    IkmFigure,
    OutcomeRow,
    Period,
    SlaRow,
    StepRow,
    WorkloadRow,
)
from toolkit.sqlite_tx import UNAVAILABLE_CODES

# The IKM of the survey's answers (toolkit.survey.ikm.ikm_by_service): (connection, start, end) -> rows.
IkmSource = Callable[[sqlite3.Connection, datetime, datetime], Sequence[Any]]


class Figures(BaseModel):
    """Every figure of a period, as rows per service (a service without data has no row)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    outcomes: tuple[OutcomeRow, ...] = ()
    sla: tuple[SlaRow, ...] = ()
    durations: tuple[DurationRow, ...] = ()
    steps: tuple[StepRow, ...] = ()
    escalations: tuple[EscalationRow, ...] = ()
    workload: tuple[WorkloadRow, ...] = ()
    complaints: tuple[ComplaintRow, ...] = ()
    ikm: tuple[IkmFigure, ...] = ()


class EvaluationReadModel(Protocol):
    def figures(self, period: Period, facts: CatalogFacts) -> Figures:
        """The figures of the tickets created in ``period`` of the services in ``facts``."""
        ...


def _iso(moment: datetime) -> str:
    """As the ticket store writes times (`datetime.isoformat` in UTC), so text comparison is time order."""
    return moment.astimezone(UTC).isoformat()


def _read_only(path: Path) -> str:
    """The file's URI opened read-only (a path with spaces, ``?`` or ``#`` percent-encoded, not parsed as a query)."""
    return path.resolve().as_uri() + "?mode=ro"


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


class SqliteEvaluationStore:
    """`EvaluationReadModel` over ``tickets.db`` and ``state.db`` of the embedded default."""

    def __init__(self, tickets_db: Path, state_db: Path, ikm: IkmSource | None = None) -> None:
        """``ikm``: how the survey's IKM is computed (`toolkit.survey.ikm`), None where there is no survey."""
        self.tickets_db = Path(tickets_db)
        self.state_db = Path(state_db)
        self._ikm = ikm

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(_read_only(self.tickets_db), uri=True, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA temp_store=MEMORY")  # the temporary tables: a few MB per 10 000 tickets
            conn.execute("ATTACH DATABASE ? AS st", (_read_only(self.state_db),))
        except sqlite3.OperationalError as exc:
            raise UnavailableError(f"evaluation store unavailable: {exc}", path=str(self.tickets_db)) from None
        return conn

    def figures(self, period: Period, facts: CatalogFacts) -> Figures:
        if not self.tickets_db.exists():
            return Figures()
        try:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN")  # one snapshot of both files for every statement
                try:
                    return self._figures(conn, period, facts)
                finally:
                    conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF in UNAVAILABLE_CODES:
                raise UnavailableError(f"evaluation store unavailable: {exc}", path=str(self.tickets_db)) from None
            raise

    @staticmethod
    def _load_facts(conn: sqlite3.Connection, facts: CatalogFacts) -> None:
        for statement in sql.FACT_TABLES:
            conn.execute(statement)
        closing = {s.service_id: s.step_id for s in facts.steps if s.closing}
        timed = {s.service_id for s in facts.steps if s.standard_s is not None}
        conn.executemany("INSERT INTO ev_services VALUES (?, ?, ?, ?)",
                         [(s.service_id, s.zone, closing.get(s.service_id), int(s.service_id in timed))
                          for s in facts.services])
        conn.executemany("INSERT INTO ev_steps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         [(s.service_id, s.step_id, s.role, s.standard_s, s.unit, int(s.closing), s.position,
                           int(s.staff))
                          for s in facts.steps])
        conn.executemany("INSERT INTO ev_variants VALUES (?, ?, ?, ?)",
                         [(v.service_id, v.variant_id, v.duration_s, v.unit) for v in facts.variants])
        conn.executemany("INSERT INTO ev_cal VALUES (?, ?, ?, ?, ?, ?)",
                         [(d.zone, d.n, d.midnight, d.opens, d.closes, d.cum) for d in facts.calendar])

    def _figures(self, conn: sqlite3.Connection, period: Period, facts: CatalogFacts) -> Figures:
        self._load_facts(conn, facts)
        args = {"start": _iso(period.start), "end": _iso(period.end), "now_s": period.now.timestamp(),
                "engine": ENGINE_USER, "complaints": None, "related": None, "answer": None}
        if facts.complaints is not None:  # else no ticket matches: no complaints without a complaint service
            args |= {"complaints": facts.complaints.service_id, "related": f"$.{facts.complaints.related_field}",
                     "answer": facts.complaints.answer_step}
        for statement in (*sql.COHORT, sql.PASS, sql.PAUSES, sql.PAUSED, sql.RESOLVED, *sql.DEADLINES,
                          *sql.STEPS_DONE, sql.STEPS_FIRST, sql.STEPS_TIMED, *sql.WORKLOAD, sql.COMPLAINTS,
                          *sql.DURATIONS[:2], *sql.STEP_MEDIANS[:2], *sql.COMPLAINT_TIMES[:2]):
            conn.execute(statement, {k: v for k, v in args.items() if f":{k}" in statement})

        def rows(statement: str) -> list[sqlite3.Row]:
            return conn.execute(statement, {k: v for k, v in args.items() if f":{k}" in statement}).fetchall()

        outcomes = tuple(OutcomeRow(**dict(r)) for r in rows(sql.OUTCOMES))
        sla = tuple(SlaRow(**dict(r)) for r in rows(sql.SLA))
        durations = tuple(DurationRow(service_id=r["k"], count=r["n"], median_s=_float(r["median"]),
                                      p90_s=_float(r["p90"])) for r in rows(sql.DURATIONS[2]))
        medians = {r["k"]: _float(r["median"]) for r in rows(sql.STEP_MEDIANS[2])}
        steps = tuple(StepRow(service_id=r["service_id"], step_id=r["step_id"], measured=r["measured"],
                              late=r["late"], median_s=medians.get(f"{r['service_id']}/{r['step_id']}"),
                              standard_s=r["standard_s"], unit=r["unit"]) for r in rows(sql.STEPS))
        claims = {r["service_id"]: (r["claims"], r["delivered"]) for r in rows(self._claims_sql(conn))}
        escalated = {r["service_id"]: (r["step_late"], r["sla_breached"]) for r in rows(sql.ESCALATIONS)}
        escalations = tuple(EscalationRow(service_id=s, step_late=escalated.get(s, (0, 0))[0],
                                          sla_breached=escalated.get(s, (0, 0))[1], claims=claims.get(s, (0, 0))[0],
                                          delivered=claims.get(s, (0, 0))[1])
                            for s in sorted(set(claims) | set(escalated)))
        workload = tuple(WorkloadRow(**dict(r)) for r in rows(sql.WORKLOAD_ROWS))
        times = {r["k"]: r for r in rows(sql.COMPLAINT_TIMES[2])}
        complaints = tuple(ComplaintRow(service_id=r["about"], total=r["total"], open=r["open"],
                                        in_progress=r["in_progress"], deferred=r["deferred"], closed=r["closed"],
                                        answered=r["answered"],
                                        median_response_s=_float(times[r["about"]]["median"]) if r["about"] in times
                                        else None,
                                        p90_response_s=_float(times[r["about"]]["p90"]) if r["about"] in times
                                        else None)
                           for r in rows(sql.COMPLAINT_COUNTS))
        return Figures(outcomes=outcomes, sla=sla, durations=durations, steps=steps, escalations=escalations,
                       workload=workload, complaints=complaints, ikm=self._ikm_rows(conn, period))

    @staticmethod
    def _has_table(conn: sqlite3.Connection, name: str) -> bool:
        return conn.execute("SELECT 1 FROM st.sqlite_master WHERE type = 'table' AND name = ?",
                            (name,)).fetchone() is not None

    def _claims_sql(self, conn: sqlite3.Connection) -> str:
        """The claims table exists once an escalation store opened state.db; before that there are none."""
        if self._has_table(conn, "escalations"):
            return sql.CLAIMS
        return "SELECT NULL AS service_id, 0 AS claims, 0 AS delivered WHERE 0"

    def _ikm_rows(self, conn: sqlite3.Connection, period: Period) -> tuple[IkmFigure, ...]:
        if self._ikm is None or not self._has_table(conn, "survey_answers"):
            return ()
        return tuple(IkmFigure(service_id=r.service_id, respondents=r.respondents,
                               element_means={k.upper(): float(v) for k, v in dict(r.element_means).items()},
                               ikm=float(r.ikm), mutu=str(r.mutu), kinerja=str(r.kinerja))
                     for r in self._ikm(conn, period.start, period.end))


def _conforms(store: SqliteEvaluationStore) -> EvaluationReadModel:
    """Never called: mypy checks here that the SQLite store implements the Protocol."""
    return store
