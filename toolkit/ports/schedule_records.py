"""Compliance schedules as data (issue 14, point 3): what a schedule says, when it is due, what a firing did.

Why here, beside the state ports: the `Schedules` store (`toolkit.ports.state`) and its implementations
depend only on the ports, and the commands, the engine and the CLI share one validated model. The cron
expression is parsed by croniter (a maintained library, never our own parser) and the time zone by
`zoneinfo`, at the boundary: a `Schedule` that exists is one that can be computed.

**Times.** A cron expression means wall-clock time *in the schedule's zone*: ``0 2 * * *`` in
``Asia/Makassar`` (WITA, Gorontalo) is 02:00 WITA, i.e. 18:00 UTC the day before. Due times are computed
in that zone (croniter is handed an aware local datetime, which is right across a DST change too, though
WIB and WITA have none) and stored and compared as UTC instants.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

SCHEDULE_ID = r"^[a-z][a-z0-9-]{1,63}$"
PROFILE_ID = r"^[a-z][a-z0-9-]{1,63}$"
# An inventory host or group name, or a selector such as ``group:dc``: no spaces, no shell or Jinja syntax.
TARGET = r"^[A-Za-z0-9][A-Za-z0-9_.:*-]{0,127}$"
_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$")
_ONE_MICROSECOND = timedelta(microseconds=1)
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)  # a leap year's start: 29 February is reachable from it

Target = Annotated[str, StringConstraints(pattern=TARGET)]
RunOutcome = Literal["claimed", "done", "failed", "not_configured"]


def check_cron(expression: str) -> str:
    """The expression, normalised to single spaces; a `ValueError` (pydantic turns it into a field error)
    unless it is exactly five standard fields that croniter accepts. Five, not croniter's optional
    seconds or year field: a compliance sweep more often than once a minute is a mistake, and an
    operator reading ``0 2 * * * 5`` should not have to guess which dialect it is."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a cron expression has five fields (minute hour day month weekday), "
                         f"not {len(fields)}: {expression!r}")
    normal = " ".join(fields)
    if not croniter.is_valid(normal):
        raise ValueError(f"not a valid cron expression: {normal!r}")
    try:  # valid syntax that no date matches (30 February) would fail every round of spbe serve instead
        croniter(normal, _REFERENCE).get_next(datetime)
    except CroniterError as exc:
        raise ValueError(f"a cron expression that is never due: {normal!r}") from exc
    return normal


def check_zone(name: str) -> str:
    """An IANA time zone name `zoneinfo` knows (``Asia/Makassar``, ``Asia/Jakarta``); a `ValueError`
    otherwise. The shape is checked first so that a path (``../../etc/passwd``) never reaches the loader."""
    if not _ZONE.match(name):
        raise ValueError(f"not an IANA time zone name: {name!r}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Makassar)") from exc
    return name


class Schedule(BaseModel):
    """One compliance schedule. ``paused``, ``created_at``, ``not_before`` and ``last_due`` are the
    store's: ``not_before`` is when it was added or last resumed (no run before it is owed), ``last_due``
    the latest due time that was fired (claimed), so an outage owes at most one run."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: Annotated[str, StringConstraints(pattern=SCHEDULE_ID)]
    profile: Annotated[str, StringConstraints(pattern=PROFILE_ID)]
    targets: tuple[Target, ...] = Field(min_length=1, max_length=200)
    cron: str
    timezone: str
    created_by: str = Field(pattern=r"^[a-z][a-z0-9._-]{0,63}$")
    paused: bool = False
    created_at: datetime
    not_before: datetime
    last_due: datetime | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("created_at", "not_before", "last_due")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("an instant must be timezone-aware")
        return value.astimezone(UTC) if value is not None else None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def next_due(self, after: datetime) -> datetime:
        """The first due time strictly after ``after``, as a UTC instant."""
        start = after.astimezone(self.zone)
        return croniter(self.cron, start).get_next(datetime).astimezone(UTC)  # type: ignore[no-any-return]

    def latest_due(self, now: datetime) -> datetime:
        """The last due time at or before ``now``, as a UTC instant (croniter's ``get_prev`` is strict,
        hence the microsecond: a round that lands exactly on 02:00:00 counts 02:00 as due)."""
        start = (now + _ONE_MICROSECOND).astimezone(self.zone)
        return croniter(self.cron, start).get_prev(datetime).astimezone(UTC)  # type: ignore[no-any-return]

    def owed(self, now: datetime) -> datetime | None:
        """The one due time to fire at ``now``, or None: the latest due time, if it is after both the last
        one fired and ``not_before``. Every earlier due time missed in an outage is folded into it: a
        compliance check describes the target *now*, so replaying a week of nightly checks adds nothing
        but load."""
        if self.paused:
            return None
        due = self.latest_due(now)
        if due < self.not_before or (self.last_due is not None and due <= self.last_due):
            return None
        return due


class ScheduleRun(BaseModel):
    """One firing of one schedule at one due time: the claim row that keeps it once across processes,
    then its outcome (``claimed`` until the runner returns; ``not_configured`` when no runner is wired)."""

    model_config = ConfigDict(frozen=True)
    schedule_id: str
    due_at: datetime
    claimed_by: str
    claimed_at: datetime
    outcome: RunOutcome = "claimed"
    detail: str = ""
    finished_at: datetime | None = None


class RunResult(BaseModel):
    """What a `toolkit.ports.scheduled_runner.ScheduledRunner` says it did with one firing."""

    model_config = ConfigDict(frozen=True)
    outcome: Literal["done", "failed"]
    detail: str = Field(default="", max_length=2000)
