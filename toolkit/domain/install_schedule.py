"""The *jadwal pelaksanaan* (SOP 001 steps 5-6): a schedule the team proposes and the applicant confirms.

The schedule lives on the ticket's timeline as events carrying ``data["jadwal"]``:

* ``{"action": "propose", "start", "end" (UTC ISO), "zone", "note"}`` by a holder of the role of the step
  declared ``purpose: schedule-proposal`` (never the requester);
* ``{"action": "confirm", "proposal": seq}`` or ``{"action": "reject", "proposal": seq, "reason"}`` by the
  requester of the ticket, and only by them, answering the latest proposal once.

A new proposal supersedes the one before it, confirmed or not, until the scheduled step has started. The step
declared ``purpose: scheduled`` is held by the workflow until the latest proposal is confirmed and its start
has come (`toolkit.domain.workflow.evaluate`'s ``scheduled_start``).

Times: the person types local time of the service (`zone_of`); an ISO time with an offset is taken as
given, a naive one is read in that zone (`parse_local`, the one place that decides). Stored as UTC.

Pure: no clock (``now`` is passed), no I/O. The operations that write these events are in
`toolkit.commands.installation_schedule`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from toolkit.domain.catalog.models import Service, StepPurpose
from toolkit.domain.tickets.field_types import text_type
from toolkit.errors import InvalidInputError

SCHEDULE = "jadwal"
MIN_LENGTH = timedelta(minutes=15)
MAX_LENGTH = timedelta(hours=72)  # an installation visit, not a project: longer work is several tickets
MAX_AHEAD = timedelta(days=180)  # a date further out is a typo (2062 for 2026), not a plan
MAX_NOTE = 500
MAX_TIME_TEXT = 40
# Until the catalog says each service's zone (issue 17 item 3), the services that have a schedule are
# Gorontalo's: WITA. A service (or settings) attribute ``timezone`` wins as soon as it exists.
DEFAULT_ZONE = "Asia/Makassar"
_LABELS = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}

Note = text_type(MAX_NOTE, single_line=True, min_length=0)
Action = Literal["propose", "confirm", "reject"]


def zone_of(service: Any) -> ZoneInfo:
    """The zone a service's schedule is typed and shown in: the service's own ``timezone`` when the catalog
    carries one, else `DEFAULT_ZONE`. The one place that decides it."""
    name = getattr(service, "timezone", None) or DEFAULT_ZONE
    if isinstance(name, ZoneInfo):
        return name
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(f"unknown time zone {name!r}", errors=[("timezone", "unknown")]) from exc


def zone_label(zone: ZoneInfo) -> str:
    """WIB, WITA or WIT for Indonesia's zones; the IANA name otherwise."""
    return _LABELS.get(zone.key, zone.key)


def parse_local(text: str, zone: ZoneInfo, field: str) -> datetime:
    """``2026-12-10T09:00`` (read in ``zone``) or ``2026-12-10T09:00+08:00`` (as given) → aware UTC."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TIME_TEXT:
        raise InvalidInputError(f"--{field} expects an ISO date and time such as 2026-12-10T09:00",
                                errors=[(field, "format")])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(f"--{field}: not an ISO date and time: {text!r} (e.g. 2026-12-10T09:00)",
                                errors=[(field, "format")]) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def local(moment: datetime, zone: ZoneInfo) -> str:
    """``10-12-2026 09:00 WITA``: how a schedule is shown on the ticket."""
    return f"{moment.astimezone(zone):%d-%m-%Y %H:%M} {zone_label(zone)}"


class Proposal(BaseModel):
    """A proposed schedule, checked at the boundary. ``now`` comes in the validation context
    (``model_validate(..., context={"now": ...})``); without it the future check cannot pass."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    start: datetime
    end: datetime
    zone: str = Field(max_length=64)
    note: Note = ""  # type: ignore[valid-type]

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a time zone (use parse_local)")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _sensible(self, info: ValidationInfo) -> Proposal:
        now = (info.context or {}).get("now")
        if not isinstance(now, datetime):
            raise ValueError("a proposal is checked against the current time (context 'now')")
        if self.end <= self.start:
            raise ValueError("the end must come after the start")
        if self.end - self.start < MIN_LENGTH:
            raise ValueError(f"the installation takes at least {int(MIN_LENGTH.total_seconds() // 60)} minutes")
        if self.end - self.start > MAX_LENGTH:
            raise ValueError(f"the installation window may be at most {int(MAX_LENGTH.total_seconds() // 3600)} "
                             "hours")
        if self.start <= now:
            raise ValueError("the start must be in the future")
        if self.start - now > MAX_AHEAD:
            raise ValueError(f"the start may be at most {MAX_AHEAD.days} days ahead")
        return self

    def data(self) -> dict[str, Any]:
        return {"action": "propose", "start": self.start.isoformat(), "end": self.end.isoformat(),
                "zone": self.zone, "note": self.note}


class Recorded(BaseModel):
    """A proposal as read back from the timeline, with its answer."""

    model_config = ConfigDict(frozen=True)
    seq: int
    start: datetime
    end: datetime
    zone: str
    note: str
    by: str
    at: datetime
    status: Literal["proposed", "confirmed", "rejected"] = "proposed"
    answered_by: str | None = None
    answered_at: datetime | None = None
    reason: str | None = None


class ScheduleState(BaseModel):
    """``current``: the latest proposal (None before any); ``confirmed_start``: its start once confirmed."""

    model_config = ConfigDict(frozen=True)
    current: Recorded | None = None
    history: tuple[Recorded, ...] = ()

    @property
    def confirmed_start(self) -> datetime | None:
        return self.current.start if self.current is not None and self.current.status == "confirmed" else None


_NONE = ScheduleState()


def _payload(event: Any) -> Mapping[str, Any] | None:
    """``data["jadwal"]`` of an event, if it is one. A timeline event's ``data`` is a validated dict: checked
    with ``type`` rather than ``isinstance(..., Mapping)``, which cost a tenth of `progress` (run per event)."""
    data = event.data
    payload = data.get(SCHEDULE) if type(data) is dict else None
    return payload if type(payload) is dict else None


def _recorded(event: Any, payload: Mapping[str, Any]) -> Recorded | None:
    try:
        return Recorded(seq=event.seq, start=datetime.fromisoformat(str(payload["start"])),
                        end=datetime.fromisoformat(str(payload["end"])), zone=str(payload.get("zone", "")),
                        note=str(payload.get("note", "")), by=event.actor, at=event.at)
    except (KeyError, ValueError):
        return None


def schedule_of(events: Iterable[Any]) -> ScheduleState:
    """The schedule as the (trusted) timeline tells it: each answer counts only for the proposal it names,
    and only while that proposal is the latest and unanswered; anything else is ignored."""
    found = [(event, payload) for event in events if (payload := _payload(event)) is not None]
    if not found:
        return _NONE
    history: list[Recorded] = []
    for event, payload in sorted(found, key=lambda pair: pair[0].seq):
        action = payload.get("action")
        if action == "propose":
            recorded = _recorded(event, payload)
            if recorded is not None:
                history.append(recorded)
        elif action in ("confirm", "reject") and history:
            latest = history[-1]
            if payload.get("proposal") == latest.seq and latest.status == "proposed":
                history[-1] = latest.model_copy(update={
                    "status": "confirmed" if action == "confirm" else "rejected", "answered_by": event.actor,
                    "answered_at": event.at, "reason": payload.get("reason")})
    return ScheduleState(current=history[-1] if history else None, history=tuple(history))


def applicant_wait_spans(state: ScheduleState) -> tuple[tuple[datetime, datetime], ...]:
    """The spans the applicant asked to wait, which do not count against the service's SLA.

    Rule: for every confirmed proposal, the time from the applicant's confirmation to the agreed start, for as
    long as that agreement stood (a later proposal ends it at the moment it is made). Time waiting for the
    applicant to answer counts against the service, as does any time after the agreed start. Intervals
    never overlap (a proposal is answered once, and only while it is the latest). As spans, not a total: a
    clock in *hari kerja* or *jam kerja* moves by the office time inside them.
    """
    spans: list[tuple[datetime, datetime]] = []
    for index, proposal in enumerate(state.history):
        if proposal.status != "confirmed" or proposal.answered_at is None:
            continue
        end = proposal.start
        if index + 1 < len(state.history):
            end = min(end, state.history[index + 1].at)
        if end > proposal.answered_at:
            spans.append((proposal.answered_at, end))
    return tuple(spans)


def applicant_wait(state: ScheduleState) -> timedelta:
    """The total of `applicant_wait_spans`."""
    return sum((end - start for start, end in applicant_wait_spans(state)), timedelta(0))


def event_reason(service: Service, ticket: Any, event: Any, roles: frozenset[str] | None) -> str | None:
    """Why a schedule event may not count (the engine's second look; None: it counts or is no schedule
    event). ``roles``: the actor's roles in the directory, None for someone unknown. (That a completion of the
    confirmation step must carry a confirmation is `toolkit.domain.policy`'s completion rule.)"""
    payload = _payload(event)
    if payload is None:
        return None
    confirming = service.step_with(StepPurpose.SCHEDULE_CONFIRMATION)
    proposing = service.step_with(StepPurpose.SCHEDULE_PROPOSAL)
    if proposing is None or confirming is None:
        return f"service {service.id} has no installation schedule"
    action = payload.get("action")
    if action == "propose":
        if event.actor == ticket.requester:
            return f"{event.actor} opened ticket {ticket.id} and may not propose its schedule"
        if roles is None:
            return f"{event.actor} is not a person of the directory"
        if proposing.actor not in roles:
            return f"a schedule is proposed by a '{proposing.actor}'; {event.actor} holds: " \
                   f"{', '.join(sorted(roles)) or 'none'}"
        return None
    if action in ("confirm", "reject"):
        if event.actor != ticket.requester:
            return f"only the requester of {ticket.id} ({ticket.requester}) answers its schedule"
        return None
    return f"unknown schedule action {action!r}"


def summary(service: Any, trusted_events: Iterable[Any]) -> dict[str, Any] | None:
    """The schedule in force as `spbe ticket show` and the API show it (None for a service without one or
    before a proposal). ``trusted_events``: the policy's trusted timeline, so a forged proposal or answer
    is never shown as the schedule."""
    current = schedule_of(trusted_events).current
    if current is None:
        return None
    zone = zone_of(service)
    return {"status": current.status, "start": current.start.isoformat(), "end": current.end.isoformat(),
            "mulai": local(current.start, zone), "selesai": local(current.end, zone), "zone": zone.key,
            "proposed_by": current.by, "note": current.note, "answered_by": current.answered_by,
            "reason": current.reason}
