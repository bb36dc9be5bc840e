"""A seeded, realistic year of service history for the evaluation's tests and benchmark (issue 18, point 4).

`generate` yields one `GenTicket` at a time (the whole record: fields, status, every timeline event, the
escalation claims), in creation order, so a caller may keep them (the tests compute every figure again from
them, independently of the SQL) or stream them (`write` at 100 000 tickets keeps one ticket in memory).

What a year looks like here: tickets over the SOP services, opened on working days in office hours of the
service's own zone (WITA for Gorontalo, WIB for Surakarta); each applicable step of the SOP completed in order
(a branch by the ticket's fields, as the workflow picks it), people's steps moved into office hours, steps with
a standard time sometimes overrunning it; some tickets deferred for a while, some still deferred, some rejected
at the completeness check, some left open; escalations (the ESCALATED event and its claim) where a step or the
SLA overran while the ticket was open; complaints (service ``pengaduan``: terima, teruskan, jawab, tutup) about
the services; and the executors drawn from a few people per role. The same seed gives the same year.

`write` stores it through the stores' own schemas (the ticket store and the escalation store create their tables
as they do in production; nothing here repeats their DDL) in one transaction per file, by ``executemany``.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from toolkit.domain.catalog.models import Catalog, Service, StepKind, StepPurpose
from toolkit.domain.catalog.requirements import FieldType
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.workflow import evaluate
from toolkit.errors import ConflictError, InvalidInputError
from toolkit.evaluation.facts import complaint_service
from toolkit.survey import schema as survey_schema
from toolkit.worktime.calendar import WorkCalendar
from toolkit.worktime.calendars import Calendars

PEOPLE = ("andi", "budi", "sari", "dewi", "yusuf", "rina", "hendra", "lina", "agus", "wati", "rudi", "maya",
          "fajar", "putri", "bayu", "indah", "eko", "nur", "tono", "siti")
ENGINE = "spbe"
BATCH = 5000


@dataclass
class GenEvent:
    """Times are whole seconds (the store keeps microseconds; whole seconds keep the tests' sums exact)."""

    at: datetime
    kind: str
    actor: str
    text: str = ""
    step_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class GenTicket:
    id: str
    service_id: str
    requester: str
    fields: dict[str, Any]
    status: str
    sla_variant: str
    created_at: datetime
    events: list[GenEvent]
    claims: list[tuple[str, datetime, datetime | None]] = field(default_factory=list)  # key, claimed, notified
    survey: tuple[datetime, tuple[int, ...]] | None = None  # answered_at, u1..u9


def _completion_kind(step: Any) -> str:
    if step.kind is StepKind.APPROVAL:
        return "approved"
    return "checked" if step.purpose is StepPurpose.COMPLETENESS_CHECK else "step_completed"


def _fields(service: Service, rng: random.Random) -> dict[str, Any]:
    """Values for the fields the SOP's branches and SLA variants test (the rest does not shape the history)."""
    values: dict[str, Any] = {}
    for spec in service.requirements.fields:
        if spec.type is FieldType.ENUM and spec.choices:
            values[spec.name] = rng.choice(spec.choices)
        elif spec.type is FieldType.BOOL:
            values[spec.name] = rng.random() < 0.3
    return values


class _Year:
    """The state of one generation run: the random source, the calendars, the clock end."""

    def __init__(self, services: Sequence[Service], calendars: Calendars, year: int, seed: int, now: datetime,
                 complaints: Service | None, applicant_roles: frozenset[str]) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - test data, reproducible by design
        self.services = list(services)
        self.calendars = calendars
        self.year = year
        self.now = now
        self.complaints = complaints
        self.complaints_calendar = calendars.for_service(complaints) if complaints else calendars.for_zone()
        self.applicant_roles = applicant_roles  # their steps are done by the ticket's own requester
        self.staff: dict[str, list[str]] = {}  # role -> the few people who hold it
        self.satisfaction = {s.id: self.rng.uniform(2.6, 3.6) for s in self.services}  # each service's mean score
        self._days: dict[str, list[date]] = {}

    def people(self, role: str) -> list[str]:
        if role not in self.staff:
            self.staff[role] = self.rng.sample(PEOPLE, k=self.rng.randint(2, 4))
        return self.staff[role]

    def opening(self, calendar: WorkCalendar) -> datetime:
        """A moment in office hours of a working day of the year, in ``calendar``'s zone."""
        days = self._days.get(calendar.label + str(calendar.zone))
        if days is None:
            day, days = date(self.year, 1, 1), []
            while day.year == self.year and day < self.now.astimezone(calendar.zone).date():
                if calendar.is_working_day(day):
                    days.append(day)
                day += timedelta(days=1)
            self._days[calendar.label + str(calendar.zone)] = days
        if not days:
            raise InvalidInputError(f"no working day of {self.year} before {self.now.date().isoformat()} to open "
                                    "tickets on", errors=[("year", "no past working day")])
        day = self.rng.choice(days)
        span = calendar.span(day)
        assert span is not None  # noqa: S101 - a working day has office hours
        opens = datetime.combine(day, span.start, tzinfo=calendar.zone)
        closes = datetime.combine(day, span.end, tzinfo=calendar.zone)
        seconds = int((closes - opens).total_seconds() * self.rng.random())
        return (opens + timedelta(seconds=seconds)).astimezone(UTC)


def _step_time(y: _Year, step: Any, typical: float) -> float:
    rng = y.rng
    if step.standard_time is not None:
        base = step.standard_time.total_seconds()
        return float(base * (rng.uniform(1.1, 2.5) if rng.random() < 0.15 else rng.uniform(0.3, 0.95)))
    if step.automated:
        return rng.uniform(20, 600)
    return typical * rng.lognormvariate(0, 0.6)


def _service_ticket(y: _Year, service: Service, created: datetime, calendar: WorkCalendar) -> GenTicket:
    rng = y.rng
    fields = _fields(service, rng)
    opened_fields = dict(fields)
    decided_later = "bantuan_eksternal" in fields and fields["bantuan_eksternal"] and rng.random() < 0.5
    if decided_later:
        opened_fields["bantuan_eksternal"] = False
    variant = service.sla.select(opened_fields).id
    requester = f"opd{rng.randint(1, 120):03d}"
    events = [GenEvent(created, "opened", requester, f"Permohonan {service.name}", None,
                       {"service_id": service.id, "sla_variant": variant, "attachments": []})]
    steps = [s for s in service.steps if s.applies_to(fields)]
    default = service.sla.select(fields)
    horizon = default.duration.total_seconds() * 0.25  # the people's steps take about a quarter of the SLA
    typical = horizon / max(1, sum(1 for s in steps if not s.automated and s.standard_time is None))
    fate = rng.random()
    stop = len(steps)
    rejected = fate < 0.06
    stays_deferred = 0.06 <= fate < 0.10
    abandoned = 0.10 <= fate < 0.12
    if rejected:
        stop = min(len(steps) - 1, rng.randint(1, 2))
    elif stays_deferred or abandoned:
        stop = rng.randint(1, max(1, len(steps) - 2))
    defer_at = rng.randint(1, max(1, stop - 1)) if rng.random() < 0.08 else None
    cursor, status = created, "open"
    for index, step in enumerate(steps[1:stop], start=1):
        if index == defer_at:
            events.append(GenEvent(cursor, "status", "sari", "ditunda", None, {"from": status, "to": "deferred"}))
            cursor += timedelta(seconds=rng.randint(4 * 3600, 5 * 86400))
            events.append(GenEvent(cursor, "status", "sari", "dilanjutkan", None, {"from": "deferred", "to": status}))
        cursor += timedelta(seconds=round(_step_time(y, step, typical)))
        if not step.automated:
            cursor = calendar.next_working_moment(cursor)
        if decided_later and step.id in {s.id for s in service.steps if "bantuan_eksternal" in s.decides}:
            variant = service.sla.select(fields).id
            events.append(GenEvent(cursor, "comment", rng.choice(y.people(step.actor)), "Keputusan", step.id,
                                   {"decisions": {"bantuan_eksternal": True}, "sla_variant": variant}))
            decided_later = False
        actor = (ENGINE if step.automated else requester if step.actor in y.applicant_roles
                 else rng.choice(y.people(step.actor)))
        events.append(GenEvent(cursor, _completion_kind(step), actor, step.title, step.id, {}))
        if status == "open":
            events.append(GenEvent(cursor, "status", actor, "diproses", None, {"from": "open", "to": "in_progress"}))
            status = "in_progress"
        if step.purpose is StepPurpose.CLOSING:
            events.append(GenEvent(cursor, "status", actor, "ditutup", None, {"from": status, "to": "closed"}))
            status = "closed"
    if rejected:
        cursor += timedelta(seconds=rng.randint(600, 6 * 3600))
        events.append(GenEvent(cursor, "comment", "sari", "Permohonan ditolak: persyaratan tidak lengkap."))
        events.append(GenEvent(cursor, "status", "sari", "ditutup", None, {"from": status, "to": "closed"}))
        status = "closed"
    elif stays_deferred:
        events.append(GenEvent(cursor, "status", "sari", "ditunda", None, {"from": status, "to": "deferred"}))
        status = "deferred"
    events = [e for e in events if e.at <= y.now]  # what has not happened yet by the end is not in the store
    status = next((e.data["to"] for e in reversed(events) if e.kind == "status"), "open")
    ticket = GenTicket("", service.id, requester, opened_fields, status, events[0].data["sla_variant"], created,
                       events)
    _escalate(y, service, ticket, calendar)
    closing = service.step_with(StepPurpose.CLOSING)
    done = closing is not None and any(e.step_id == closing.id for e in events)
    if status == "closed" and done and rng.random() < 0.6:
        answered = events[-1].at + timedelta(seconds=rng.randint(600, 3 * 86400))
        mean = y.satisfaction[service.id]
        scores = tuple(min(4, max(1, round(rng.gauss(mean + (0.3 if n == 3 else 0.0), 0.6)))) for n in range(9))
        if answered <= y.now:
            ticket.survey = (answered, scores)
    return ticket


def effective(ticket: GenTicket) -> dict[str, Any]:
    """The ticket's fields with the decisions recorded on its timeline (`toolkit.domain.decisions`)."""
    values = dict(ticket.fields)
    for e in ticket.events:
        values.update(e.data.get("decisions", {}))
    return values


def _escalate(y: _Year, service: Service, ticket: GenTicket, calendar: WorkCalendar) -> None:
    """The escalations the engine would have made: a step or the SLA that overran while the ticket was open."""
    fields = effective(ticket)
    completed = {service.steps[0].id: ticket.created_at}
    for e in ticket.events:
        if e.step_id and e.kind in ("step_completed", "approved", "checked"):
            completed.setdefault(e.step_id, e.at)
    spans, since = [], None
    for e in ticket.events:
        if e.kind == "status" and e.data.get("to") == "deferred":
            since = e.at
        elif e.kind == "status" and e.data.get("from") == "deferred" and since is not None:
            spans.append((since, e.at))
            since = None
    closed = next((e.at for e in reversed(ticket.events) if e.kind == "status" and e.data["to"] == "closed"), None)
    if ticket.status == "deferred" or since is not None:
        return
    end = closed or y.now
    state = evaluate(service, fields, completed, ticket.created_at, end, closed_at=closed,
                     paused=sum((b - a for a, b in spans), timedelta(0)), calendar=calendar, pauses=tuple(spans))
    found: list[tuple[datetime, str, str | None, str]] = []
    for s in state.steps:
        if s.deadline is not None and s.completed_at is not None and s.completed_at > s.deadline + timedelta(minutes=5):
            found.append((s.deadline + timedelta(minutes=5), f"step:{s.step.id}", s.step.id, "step_late"))
    if state.sla.deadline + timedelta(minutes=5) < end:
        found.append((state.sla.deadline + timedelta(minutes=5), f"sla:{state.sla.variant_id}", None, "sla_breached"))
    for at, key, step_id, kind in found:
        ticket.events.append(GenEvent(at, "escalated", ENGINE, "Eskalasi", step_id,
                                      {"escalation": key, "kind": kind, "roles": [], "due_at": at.isoformat()}))
        notified = at + timedelta(seconds=y.rng.randint(1, 60)) if y.rng.random() < 0.9 else None
        ticket.claims.append((key, at, notified))
    ticket.events.sort(key=lambda e: e.at)


def _complaint(y: _Year, service: Service, created: datetime, about: Sequence[str]) -> GenTicket:
    """A complaint through the catalog's complaint service: its steps in order, most of them answered and closed."""
    rng = y.rng
    spec = service.complaints
    assert spec is not None  # noqa: S101 - the caller passes the service with the complaints spec
    calendar = y.complaints_calendar
    fields = _fields(service, rng) | {spec.related_service_field: rng.choice([*about, None])}
    requester = f"warga{rng.randint(1, 400):03d}"
    variant = service.sla.select(fields).id
    events = [GenEvent(created, "opened", requester, "Pengaduan", None,
                       {"service_id": service.id, "sla_variant": variant, "attachments": []})]
    steps = [s for s in service.steps if s.applies_to(fields)]
    reach = rng.choices(range(len(steps)), weights=[3, 5, 10, *[82] * (len(steps) - 3)][:len(steps)])[0]
    cursor, status = created, "open"
    for step in steps[1:reach + 1]:
        cursor = calendar.next_working_moment(cursor + timedelta(seconds=round(rng.lognormvariate(9.5, 0.9))))
        events.append(GenEvent(cursor, _completion_kind(step), rng.choice(y.people(step.actor)), step.title, step.id,
                               {}))
        if status == "open":
            events.append(GenEvent(cursor, "status", "spbe", "diproses", None, {"from": "open", "to": "in_progress"}))
            status = "in_progress"
        if step.purpose is StepPurpose.CLOSING:
            events.append(GenEvent(cursor, "status", "spbe", "ditutup", None, {"from": status, "to": "closed"}))
            status = "closed"
    events = [e for e in events if e.at <= y.now]
    status = next((e.data["to"] for e in reversed(events) if e.kind == "status"), "open")
    return GenTicket("", service.id, requester, fields, status, variant, created, events)


@dataclass(frozen=True)
class YearInputs:
    """What a generated year is made of, read from the catalog (no service, step or role named in code)."""

    services: list[Service]
    complaints: Service | None
    applicant_roles: frozenset[str]


def year_inputs(catalog: Catalog) -> YearInputs:
    return YearInputs(services=sop_services(catalog.services()), complaints=complaint_service(catalog.services()),
                      applicant_roles=catalog.roles.with_trait(RoleTrait.APPLICANT))


def sop_services(services: Iterable[Service]) -> list[Service]:
    """The SOP services of the seeds: of each seed's services the one with the most steps (a seed's main
    standard, not the short procedures beside it), leaving out the compliance and complaint services."""
    best: dict[str, Service] = {}
    for service in services:
        if service.compliance is not None or service.complaints is not None:
            continue
        if service.seed not in best or len(service.steps) > len(best[service.seed].steps):
            best[service.seed] = service
    return [best[seed] for seed in sorted(best)]


def generate(services: Sequence[Service], calendars: Calendars, *, year: int, tickets: int, seed: int,
             now: datetime, complaints: Service | None = None, applicant_roles: frozenset[str] = frozenset(),
             complaint_share: float = 0.05) -> Iterator[GenTicket]:
    """``tickets`` service tickets over ``services`` plus ``complaint_share`` as many complaints (through the
    ``complaints`` service, when given), in creation order, numbered ``SPBE-<year>-<n>`` as the store numbers them
    (by the UTC year of creation). ``applicant_roles``: the role book's applicant roles."""
    y = _Year(services, calendars, year, seed, now, complaints, applicant_roles)
    weights = [y.rng.uniform(1, 3) for _ in y.services]  # some services far busier than others
    plan: list[tuple[datetime, int, int]] = []  # (created, service index or -1 for a complaint, own seed)
    for _ in range(tickets):
        index = y.rng.choices(range(len(y.services)), weights=weights)[0]
        plan.append((y.opening(calendars.for_service(y.services[index])), index, y.rng.getrandbits(32)))
    for _ in range(int(tickets * complaint_share) if complaints is not None else 0):
        plan.append((y.opening(y.complaints_calendar), -1, y.rng.getrandbits(32)))
    plan.sort()
    about = [s.id for s in y.services]
    numbers: dict[int, int] = {}
    for created, index, own in plan:
        y.rng = random.Random(own)  # noqa: S311 - each ticket from its own seed: the year does not shift when one changes
        if index < 0 and complaints is not None:
            ticket = _complaint(y, complaints, created, about)
        else:
            service = y.services[index]
            ticket = _service_ticket(y, service, created, calendars.for_service(service))
        numbers[created.year] = numbers.get(created.year, 0) + 1
        ticket.id = f"SPBE-{created.year}-{numbers[created.year]:05d}"
        yield ticket


def _chunks(items: Iterable[GenTicket], size: int) -> Iterator[list[GenTicket]]:
    chunk: list[GenTicket] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write(history: Iterable[GenTicket], tickets_db: Path, state_db: Path,
          connect: Callable[[Path], sqlite3.Connection], on_ticket: Callable[[GenTicket], None] | None = None) -> int:
    """Append ``history`` to the files (their tables must exist: open the ticket store and the state stores once
    before, which create them). ``connect``: the connection policy (`toolkit.sqlite_tx.connect`). One transaction
    per file; returns the tickets written."""
    count = 0
    with closing(connect(tickets_db)) as db, closing(connect(state_db)) as st:
        db.execute("BEGIN IMMEDIATE")
        st.execute("BEGIN IMMEDIATE")
        for chunk in _chunks(history, BATCH):
            db.executemany(
                "INSERT INTO tickets (year, num, id, service_id, title, requester, fields, status, assignee, "
                "sla_variant, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                [(t.created_at.year, int(t.id.rsplit("-", 1)[1]), t.id, t.service_id, f"{t.service_id} {t.id}",
                  t.requester, json.dumps(t.fields, sort_keys=True), t.status, t.sla_variant,
                  t.created_at.isoformat(), t.events[-1].at.isoformat()) for t in chunk])
            db.executemany(
                "INSERT INTO events (ticket_id, at, kind, actor, text, step_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(t.id, e.at.isoformat(), e.kind, e.actor, e.text, e.step_id, json.dumps(e.data, sort_keys=True))
                 for t in chunk for e in t.events])
            st.executemany(
                "INSERT INTO escalations (ticket_id, key, claimed_at, claimed_by, notified_at, channel) "
                "VALUES (?, ?, ?, 'generator', ?, ?)",
                [(t.id, key, claimed.isoformat(), notified.isoformat() if notified else None,
                  "email" if notified else None) for t in chunk for key, claimed, notified in t.claims])
            st.executemany(survey_schema.INSERT, [
                (t.id, t.service_id, t.requester, survey_schema.db_time(t.survey[0]), *t.survey[1], None)
                for t in chunk if t.survey is not None])
            for t in chunk:
                if on_ticket is not None:
                    on_ticket(t)
            count += len(chunk)
        db.execute("COMMIT")
        st.execute("COMMIT")
    return count


def year_end(year: int) -> datetime:
    """A default 'now' for a generated past year: the history stops on the last day of the year, 16:00 UTC."""
    return datetime.combine(date(year, 12, 31), time(16, 0), tzinfo=UTC)


class SeedSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    year: int
    seed: int
    tickets: int
    complaints: int
    survey_answers: int
    escalations: int


def seed_history(tickets_db: Path, state_db: Path, services: Sequence[Service], calendars: Calendars, *,
                 year: int, tickets: int, seed: int, now: datetime, connect: Callable[[Path], sqlite3.Connection],
                 complaints: Service | None = None, applicant_roles: frozenset[str] = frozenset()) -> SeedSummary:
    """Generate and store a year (`generate`, `write`); the files' tables must exist. A year the store already
    has tickets of is refused (`ConflictError`): the generated numbers would collide with the real ones."""
    with closing(connect(tickets_db)) as db:
        if db.execute("SELECT 1 FROM tickets WHERE year = ? LIMIT 1", (year,)).fetchone() is not None:
            raise ConflictError(f"the ticket store already holds tickets of {year}: generate into an empty state dir",
                                year=year)
    counts = {"complaints": 0, "survey": 0, "escalations": 0}

    def count(ticket: GenTicket) -> None:
        counts["complaints"] += complaints is not None and ticket.service_id == complaints.id
        counts["survey"] += ticket.survey is not None
        counts["escalations"] += len(ticket.claims)

    history = generate(services, calendars, year=year, tickets=tickets, seed=seed, now=now, complaints=complaints,
                       applicant_roles=applicant_roles)
    written = write(history, tickets_db, state_db, connect, on_ticket=count)
    return SeedSummary(year=year, seed=seed, tickets=written - counts["complaints"], complaints=counts["complaints"],
                       survey_answers=counts["survey"], escalations=counts["escalations"])
