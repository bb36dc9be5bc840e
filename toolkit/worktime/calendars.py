"""Which zone and which calendar a ticket is in: the catalog service's own zone, else the deployment's.

One `Calendars` per settings value (`calendars_for` keeps it per process): a zone's `WorkCalendar`
is built on first use and kept, and the cuti bersama file is read once, on the first working-time
question, so a command that never meets a *hari kerja* clock neither imports the holidays library nor
reads the file. An edited cuti bersama file is picked up by the next process (``spbe serve`` on restart).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from toolkit.errors import ConfigurationError
from toolkit.worktime.calendar import WorkCalendar, national_holidays
from toolkit.worktime.config import WorktimeSettings, check_zone, label_of
from toolkit.worktime.cuti_bersama import load_cuti_bersama


@dataclass(frozen=True)
class LocalZone:
    """A zone and how a time in it is labelled (``WITA``)."""

    name: str
    label: str
    zone: ZoneInfo = field(compare=False, repr=False)

    def local(self, instant: datetime) -> datetime:
        aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
        return aware.astimezone(self.zone)

    def format(self, instant: datetime, pattern: str = "%Y-%m-%d %H:%M") -> str:
        return f"{self.local(instant):{pattern}} {self.label}"


def local_zone(name: str, label: str | None = None) -> LocalZone:
    """The zone named ``name``; a name the tz database does not know is a `ConfigurationError`."""
    try:
        check_zone(name)
    except ValueError as exc:
        raise ConfigurationError(str(exc), timezone=str(name)[:60]) from None
    return LocalZone(name=name, label=label or label_of(name), zone=ZoneInfo(name))


DEFAULT_ZONE = local_zone("Asia/Jakarta")


class Calendars:
    def __init__(self, settings: WorktimeSettings,
                 holidays_of: Callable[[int], frozenset[date]] | None = national_holidays) -> None:
        self.settings = settings
        self._holidays_of = holidays_of if settings.national_holidays else None
        self._cuti: frozenset[date] | None = None
        self._calendars: dict[str, WorkCalendar] = {}
        self._lock = threading.Lock()
        self.deployment = local_zone(settings.timezone, settings.zone_label())

    def zone(self, name: str | None = None) -> LocalZone:
        """``name``'s zone (None: the deployment's); the deployment's label applies to its own zone."""
        if name is None or name == self.deployment.name:
            return self.deployment
        return local_zone(name)

    def zone_of(self, service: Any) -> LocalZone:
        """The zone of a catalog service (its ``timezone``), or the deployment's when it names none."""
        return self.zone(getattr(service, "timezone", None))

    def cuti_bersama(self) -> frozenset[date]:
        found = self._cuti
        if found is None:
            found = self._cuti = load_cuti_bersama(self.settings.cuti_bersama_file).dates()
        return found

    def for_zone(self, name: str | None = None) -> WorkCalendar:
        local = self.zone(name)
        found = self._calendars.get(local.name)
        if found is None:
            with self._lock:
                found = self._calendars.get(local.name)
                if found is None:
                    found = WorkCalendar(local.zone, local.label, self.settings.office_hours,
                                         self.cuti_bersama, self._holidays_of)
                    self._calendars[local.name] = found
        return found

    def for_service(self, service: Any) -> WorkCalendar:
        return self.for_zone(getattr(service, "timezone", None))


@lru_cache(maxsize=8)
def calendars_for(settings: WorktimeSettings) -> Calendars:
    """The process's `Calendars` for these settings (settings are frozen, so equal settings share one)."""
    return Calendars(settings)


@lru_cache(maxsize=1)
def default_calendars() -> Calendars:
    """The calendars of the default settings: Asia/Jakarta, the shipped cuti bersama file, 07:30-16:00. Made
    once per process: building the default settings (the site file's path through importlib.resources) cost
    more than the rest of a ticket's `progress` on the engine's path after every job."""
    return calendars_for(WorktimeSettings())
