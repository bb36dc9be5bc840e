"""Local-time settings (``settings.worktime``): the deployment's zone and its label, office hours, and the
site file of *cuti bersama*.

Kept free of other toolkit imports (pydantic, the stdlib and `spbe_data` only) so `toolkit.settings` can
embed it without an import cycle, as the other feature settings are embedded. The zone name is checked
against the system's tz database when the settings load: a zone that does not exist ("WITA",
"Asia/Gorontalo", a path) is refused there, and `load_settings` turns the refusal into a
`ConfigurationError` naming the key.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

import spbe_data

Label = Literal["WIB", "WITA", "WIT"]
# The three zones of Indonesia (UU 1987 / Keppres 41/1987) and the tz database names that belong to each.
ZONE_LABELS: dict[str, Label] = {
    "Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA", "Asia/Ujung_Pandang": "WITA",
    "Asia/Jayapura": "WIT",
}
_LABEL_ZONES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]{0,30}(/[A-Za-z0-9_+-]{1,30}){0,2}$")
_SPAN = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


def check_zone(name: str) -> str:
    """``name`` if the tz database knows it; ValueError otherwise. The shape is checked first, so a
    path ("../../etc/passwd", "/usr/share/zoneinfo/UTC") never reaches the file lookup of `ZoneInfo`."""
    if isinstance(name, str) and name.upper() in _LABEL_ZONES:
        raise ValueError(f"{name!r} is a label, not a zone: write {_LABEL_ZONES[name.upper()]}")
    if not isinstance(name, str) or not _ZONE_NAME.fullmatch(name):
        raise ValueError(f"not a time zone name: {name!r} (an IANA name such as Asia/Makassar)")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Makassar)") from None
    return name


def label_of(name: str) -> str:
    """WIB, WITA or WIT for an Indonesian zone; the zone's own abbreviation elsewhere (UTC, +08)."""
    if name in ZONE_LABELS:
        return ZONE_LABELS[name]
    from datetime import UTC, datetime

    return datetime.now(UTC).astimezone(ZoneInfo(name)).tzname() or name


class OfficeSpan(BaseModel):
    """One day's office hours, written ``"07:30-16:00"`` (or ``{start, end}``); the end is after the start."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _SPAN.fullmatch(value)
            if match is None:
                raise ValueError(f"office hours must look like '07:30-16:00', got {value[:40]!r}")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if h2 == 24 and m2:
                raise ValueError(f"office hours end after 24:00: {value!r}")
            return {"start": time(h1, m1), "end": time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> OfficeSpan:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("office hours are local times of day, without a zone")
        if self.end <= self.start:
            raise ValueError(f"office hours end ({self.end:%H:%M}) before they start ({self.start:%H:%M})")
        return self

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


_WEEKDAY = OfficeSpan(start=time(7, 30), end=time(16, 0))


class OfficeHours(BaseModel):
    """When the office works, per day of the week (None or ``"libur"``: closed). The default is the common
    five-day week of regional government offices, 07:30-16:00 (Jumat often ends or pauses differently: set
    ``jumat``). Breaks (istirahat) are counted as office time."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    senin: OfficeSpan | None = _WEEKDAY
    selasa: OfficeSpan | None = _WEEKDAY
    rabu: OfficeSpan | None = _WEEKDAY
    kamis: OfficeSpan | None = _WEEKDAY
    jumat: OfficeSpan | None = _WEEKDAY
    sabtu: OfficeSpan | None = None
    minggu: OfficeSpan | None = None

    @field_validator("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu", mode="before")
    @classmethod
    def _day_off(cls, value: Any) -> Any:
        """``"libur"`` closes a day (TOML has no null to write None with)."""
        return None if isinstance(value, str) and value.strip().lower() == "libur" else value

    @model_validator(mode="after")
    def _some_day(self) -> OfficeHours:
        if not any(self.by_weekday()):
            raise ValueError("office hours: at least one day of the week must be a working day")
        return self

    def by_weekday(self) -> tuple[OfficeSpan | None, ...]:
        """Indexed like `date.weekday()` (0: Senin)."""
        return (self.senin, self.selasa, self.rabu, self.kamis, self.jumat, self.sabtu, self.minggu)


class WorktimeSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = Field(default="Asia/Jakarta", description=(
        "the deployment's zone (IANA name): documents, comments and SLA deadlines are shown in it unless the "
        "catalog service names its own (the Gorontalo services: Asia/Makassar, WITA)"))
    label: Label | None = Field(default=None, description=(
        "how the zone is written after a time; None: from the zone (Asia/Jakarta, Asia/Pontianak: WIB; "
        "Asia/Makassar: WITA; Asia/Jayapura: WIT)"))
    office_hours: OfficeHours = Field(default=OfficeHours(), description=(
        "office hours per day (senin ... minggu = \"07:30-16:00\" or none), for SLAs in jam kerja / hari kerja"))
    cuti_bersama_file: Path = Field(
        default_factory=lambda: spbe_data.data_path("inventory", "cuti_bersama.yml"),
        description="the site file of cuti bersama (collective leave days), added to the national holidays")
    national_holidays: bool = Field(default=True, description=(
        "count Indonesia's national holidays (the holidays library) as days off"))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_zone(value)

    def zone_label(self) -> str:
        return self.label or label_of(self.timezone)
