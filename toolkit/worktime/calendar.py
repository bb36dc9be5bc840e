"""The working-day calendar: office hours in the local zone, minus weekends, national holidays and
*cuti bersama*.

The SOPs state standard times three ways: calendar time ("8 jam", "7 Hari"), *hari kerja* (Surakarta's
"1 Hari kerja") and *jam kerja*. `WorkCalendar.deadline` turns a start instant and such a duration into the
instant the clock runs out, and everything that judges lateness (the workflow's SLA and step clocks, the
escalation, ``spbe ticket show``) asks it, so they agree.

The rules, in the office's own zone (WIB, WITA or WIT):

* The clock starts at the first working moment at or after the start: a ticket opened on Saturday or at
  20:00 starts the next working morning.
* *N hari kerja* ends at the same time of day N working days later (clamped into that day's office hours,
  so a Friday that closes earlier ends at its close).
* *N jam kerja* is N hours of office time: what does not fit before today's close continues at the next
  opening. A span that ends exactly at the close ends there, not the next morning.
* A day is off when the office hours give it none (Sabtu, Minggu by default), when it is a national holiday
  (the holidays library, category ``public``) or a cuti bersama of the site file.

Instants come in and go out as aware datetimes (a naive one is taken as UTC, as the toolkit stores
times); results are in UTC. Holidays of a year are computed once per calendar and kept. Office time is
added on the local wall clock, which is exact for Indonesia's zones (none has daylight saving time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from toolkit.domain.catalog.models import TimeUnit
from toolkit.errors import ConfigurationError, InvalidInputError
from toolkit.worktime.config import OfficeHours, OfficeSpan

MAX_DAYS = 3660  # how far a search for the next working day looks before it calls the calendar broken
_PERIODS_KEPT = 4096  # days whose office period a calendar keeps (about eleven years of lookups)


def national_holidays(year: int) -> frozenset[date]:
    """Indonesia's national holidays (libur nasional) of ``year``, from the holidays library."""
    import holidays  # a third of a second of import and data: only when a working-time clock is asked

    return frozenset(holidays.country_holidays("ID", years=year, categories=("public",)).keys())


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


class WorkCalendar:
    """Working days and office hours of one office (one zone). Thread-safe: the per-year holiday sets are
    filled under a lock, everything else is immutable."""

    def __init__(self, zone: ZoneInfo, label: str, office_hours: OfficeHours,
                 cuti_bersama: frozenset[date] | Callable[[], frozenset[date]],
                 holidays_of: Callable[[int], frozenset[date]] | None = national_holidays) -> None:
        """``cuti_bersama``: the days, or how to read them on the first question about a day (a clock in
        calendar time never reads the site file); ``holidays_of``: a year's national holidays (None: none)."""
        self.zone = zone
        self.label = label
        self.office_hours = office_hours
        self._cuti = cuti_bersama
        self._week = office_hours.by_weekday()
        self._holidays_of = holidays_of
        self._years: dict[int, frozenset[date]] = {}
        self._periods: dict[date, tuple[datetime, datetime] | None] = {}
        self._lock = threading.Lock()

    # -- days -----------------------------------------------------------------------------------------
    @property
    def cuti_bersama(self) -> frozenset[date]:
        if callable(self._cuti):
            with self._lock:
                if callable(self._cuti):
                    self._cuti = self._cuti()
        return self._cuti

    def holidays(self, year: int) -> frozenset[date]:
        found = self._years.get(year)
        if found is None:
            with self._lock:
                found = self._years.get(year)
                if found is None:
                    found = self._holidays_of(year) if self._holidays_of is not None else frozenset()
                    self._years[year] = found
        return found

    def span(self, day: date) -> OfficeSpan | None:
        """The office hours of ``day``; None on a day off."""
        hours = self._week[day.weekday()]
        if hours is None or day in self.cuti_bersama or day in self.holidays(day.year):
            return None
        return hours

    def is_working_day(self, day: date) -> bool:
        return self.span(day) is not None

    def _bounds(self, day: date, hours: OfficeSpan) -> tuple[datetime, datetime]:
        return (datetime.combine(day, hours.start, tzinfo=self.zone),
                datetime.combine(day, hours.end, tzinfo=self.zone))

    def _period(self, day: date) -> tuple[datetime, datetime] | None:
        """(opening, closing) of ``day``, None on a day off; kept, since every ticket's clock asks again."""
        try:
            return self._periods[day]
        except KeyError:
            pass
        hours = self.span(day)
        found = self._bounds(day, hours) if hours is not None else None
        if len(self._periods) >= _PERIODS_KEPT:
            self._periods.clear()
        self._periods[day] = found
        return found

    def _next_open(self, instant: datetime) -> tuple[datetime, datetime]:
        """The office period that contains ``instant`` or comes next: (max(opening, instant), closing)."""
        local = _aware(instant).astimezone(self.zone)
        day = local.date()
        for offset in range(MAX_DAYS):
            period = self._period(day + timedelta(days=offset))
            if period is None:
                continue
            opens, closes = period
            if local < closes:
                return max(opens, local), closes
        raise ConfigurationError(f"no working day within {MAX_DAYS} days of {local.isoformat()}: the office "
                                 "hours and the days off leave none")

    # -- moments --------------------------------------------------------------------------------------
    def local(self, instant: datetime) -> datetime:
        return _aware(instant).astimezone(self.zone)

    def is_working_moment(self, instant: datetime) -> bool:
        local = self.local(instant)
        hours = self.span(local.date())
        if hours is None:
            return False
        opens, closes = self._bounds(local.date(), hours)
        return opens <= local < closes

    def next_working_moment(self, instant: datetime) -> datetime:
        return self._next_open(instant)[0].astimezone(UTC)

    def add_working_days(self, instant: datetime, days: int) -> datetime:
        """``days`` *hari kerja* after ``instant`` (see the module's rules); 0 gives the start of the clock."""
        if days < 0:
            raise InvalidInputError(f"working days must not be negative, got {days}", errors=[("days", "negative")])
        start = self._next_open(instant)[0]
        day, time_of_day = start.date(), start.time()
        for _ in range(days):
            day = self._next_open(datetime.combine(day + timedelta(days=1), datetime.min.time(),
                                                   tzinfo=self.zone))[0].date()
        period = self._period(day)
        assert period is not None  # noqa: S101 - _next_open only lands on working days
        opens, closes = period
        end = datetime.combine(day, time_of_day, tzinfo=self.zone)
        return min(max(end, opens), closes).astimezone(UTC)

    def add_working_time(self, instant: datetime, amount: timedelta) -> datetime:
        """``amount`` of office time (*jam kerja*) after ``instant``."""
        if amount < timedelta(0):
            raise InvalidInputError(f"working time must not be negative, got {amount}",
                                    errors=[("amount", "negative")])
        cursor, remaining = _aware(instant), amount
        while True:
            opens, closes = self._next_open(cursor)
            available = closes - opens
            if remaining <= available:
                return (opens + remaining).astimezone(UTC)
            remaining -= available
            cursor = closes

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The office time from ``start`` to ``end`` (zero when ``end`` is not after ``start``)."""
        first, last = self.local(start), self.local(end)
        total = timedelta(0)
        day = first.date()
        while first < last and day <= last.date():
            period = self._period(day)
            if period is not None:
                opens, closes = period
                overlap = min(closes, last) - max(opens, first)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    # -- SLA clocks -----------------------------------------------------------------------------------
    def deadline(self, start: datetime, duration: timedelta, unit: TimeUnit) -> datetime:
        """When a clock of ``duration`` in ``unit`` that starts at ``start`` runs out (UTC)."""
        if unit is TimeUnit.KALENDER:
            return _aware(start) + duration
        if unit is TimeUnit.HARI_KERJA:
            return self.add_working_days(start, duration.days)
        return self.add_working_time(start, duration)

    def format(self, instant: datetime, pattern: str = "%Y-%m-%d %H:%M") -> str:
        """``2026-11-23 10:30 WITA``: an instant as the office reads it."""
        return f"{self.local(instant):{pattern}} {self.label}"
