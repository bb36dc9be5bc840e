"""The working-day calendar: hari kerja over a weekend, a national holiday and a cuti bersama day; jam kerja
across the end of the office day; what counts as a working moment. National holidays come from the real
holidays library (17 Agustus, Natal); cuti bersama from a site file written here."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from toolkit.domain.catalog.models import TimeUnit
from toolkit.errors import InvalidInputError
from toolkit.worktime.calendar import WorkCalendar, national_holidays
from toolkit.worktime.calendars import Calendars
from toolkit.worktime.config import OfficeHours, OfficeSpan, WorktimeSettings

WIB, WITA = ZoneInfo("Asia/Jakarta"), ZoneInfo("Asia/Makassar")


def at(zone: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=zone)


def calendar(zone: ZoneInfo = WIB, cuti: frozenset[date] = frozenset(), **hours: object) -> WorkCalendar:
    return WorkCalendar(zone, "WIB" if zone is WIB else "WITA", OfficeHours(**hours), cuti)  # type: ignore[arg-type]


def test_one_hari_kerja_is_the_same_time_the_next_working_day() -> None:
    cal = calendar()
    assert cal.add_working_days(at(WIB, 2026, 11, 23, 10), 1) == at(WIB, 2026, 11, 24, 10)  # Senin → Selasa
    assert cal.add_working_days(at(WIB, 2026, 11, 23, 10), 0) == at(WIB, 2026, 11, 23, 10)


def test_hari_kerja_over_a_weekend() -> None:
    cal = calendar(WITA)
    assert cal.add_working_days(at(WITA, 2026, 11, 27, 10), 1) == at(WITA, 2026, 11, 30, 10)  # Jumat → Senin
    assert cal.add_working_days(at(WITA, 2026, 11, 27, 10), 3) == at(WITA, 2026, 12, 2, 10)
    # opened on Saturday: the clock starts on Monday's opening
    assert cal.add_working_days(at(WITA, 2026, 11, 28, 11), 1) == at(WITA, 2026, 12, 1, 7, 30)


def test_hari_kerja_over_a_national_holiday() -> None:
    cal = calendar()
    assert date(2026, 8, 17) in national_holidays(2026)  # Hari Kemerdekaan, a Monday
    assert cal.add_working_days(at(WIB, 2026, 8, 14, 10), 1) == at(WIB, 2026, 8, 18, 10)


def test_hari_kerja_over_a_cuti_bersama_day(tmp_path: Path) -> None:
    site = tmp_path / "cuti.yml"
    site.write_text("hari:\n  - {tanggal: 2026-11-24, keterangan: Cuti Bersama Daerah}\n", encoding="utf-8")
    cal = Calendars(WorktimeSettings(cuti_bersama_file=site)).for_zone("Asia/Jakarta")
    assert not cal.is_working_day(date(2026, 11, 24))
    assert cal.add_working_days(at(WIB, 2026, 11, 23, 10), 1) == at(WIB, 2026, 11, 25, 10)


def test_the_shipped_cuti_bersama_and_christmas_together() -> None:
    cal = Calendars(WorktimeSettings()).for_zone("Asia/Jakarta")
    # Rabu 23 Desember 2026 → Kamis 24 cuti bersama, Jumat 25 Natal, then the weekend: Senin 28
    assert cal.add_working_days(at(WIB, 2026, 12, 23, 10), 1) == at(WIB, 2026, 12, 28, 10)


def test_a_shorter_day_clamps_the_end_to_its_close() -> None:
    cal = calendar(jumat=OfficeSpan(start=time(7, 30), end=time(11, 30)))
    assert cal.add_working_days(at(WIB, 2026, 11, 26, 14), 1) == at(WIB, 2026, 11, 27, 11, 30)  # Kamis → Jumat


def test_jam_kerja_across_the_end_of_the_office_day() -> None:
    cal = calendar()
    assert cal.add_working_time(at(WIB, 2026, 11, 23, 15), timedelta(hours=2)) == at(WIB, 2026, 11, 24, 8, 30)
    # a span that ends exactly at the close ends there, not the next morning
    assert cal.add_working_time(at(WIB, 2026, 11, 23, 14), timedelta(hours=2)) == at(WIB, 2026, 11, 23, 16)
    # Friday afternoon to Monday morning; opened at night: from the next opening
    assert cal.add_working_time(at(WIB, 2026, 11, 27, 15), timedelta(hours=3)) == at(WIB, 2026, 11, 30, 9, 30)
    assert cal.add_working_time(at(WIB, 2026, 11, 23, 20), timedelta(minutes=60)) == at(WIB, 2026, 11, 24, 8, 30)
    assert cal.add_working_time(at(WIB, 2026, 11, 23, 8), timedelta(hours=17)) == at(WIB, 2026, 11, 25, 8)


def test_working_moments_and_working_time_between() -> None:
    cal = calendar(WITA)
    assert cal.is_working_moment(at(WITA, 2026, 11, 23, 7, 30))
    assert not cal.is_working_moment(at(WITA, 2026, 11, 23, 16))  # the close is not office time
    assert not cal.is_working_moment(at(WITA, 2026, 11, 23, 7, 29))
    assert not cal.is_working_moment(at(WITA, 2026, 11, 28, 10))  # Sabtu
    assert not cal.is_working_moment(at(WITA, 2026, 8, 17, 10))  # 17 Agustus
    # 08:00 WIB is 09:00 WITA: the same instant is office time in Gorontalo before it is in Jakarta
    assert cal.is_working_moment(at(WIB, 2026, 11, 23, 7, 0)) and not calendar().is_working_moment(
        at(WIB, 2026, 11, 23, 7, 0))
    assert cal.working_time_between(at(WITA, 2026, 11, 27, 15), at(WITA, 2026, 11, 30, 8, 30)) == timedelta(hours=2)
    assert cal.working_time_between(at(WITA, 2026, 11, 30, 9), at(WITA, 2026, 11, 27, 9)) == timedelta(0)
    assert cal.working_time_between(at(WITA, 2026, 11, 23, 0), at(WITA, 2026, 11, 30, 0)) == timedelta(hours=42.5)


def test_the_deadline_by_unit() -> None:
    cal, start = calendar(), at(WIB, 2026, 11, 27, 15)
    assert cal.deadline(start, timedelta(days=1), TimeUnit.KALENDER) == at(WIB, 2026, 11, 28, 15)
    assert cal.deadline(start, timedelta(days=1), TimeUnit.HARI_KERJA) == at(WIB, 2026, 11, 30, 15)
    assert cal.deadline(start, timedelta(hours=2), TimeUnit.JAM_KERJA) == at(WIB, 2026, 11, 30, 8, 30)
    assert cal.deadline(start, timedelta(hours=2), TimeUnit.JAM_KERJA).tzinfo is UTC
    naive = datetime(2026, 11, 27, 8, 0)  # taken as UTC, as the toolkit stores times: 15:00 WIB
    assert cal.deadline(naive, timedelta(hours=2), TimeUnit.JAM_KERJA) == at(WIB, 2026, 11, 30, 8, 30)


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(InvalidInputError):
        calendar().add_working_days(at(WIB, 2026, 11, 23, 10), -1)
    with pytest.raises(InvalidInputError):
        calendar().add_working_time(at(WIB, 2026, 11, 23, 10), timedelta(minutes=-1))


def test_a_calendar_without_national_holidays_counts_17_agustus() -> None:
    cal = Calendars(WorktimeSettings(national_holidays=False)).for_zone("Asia/Jakarta")
    assert cal.is_working_day(date(2026, 8, 17))
