"""When a schedule is due: in its own zone (WITA for Gorontalo, WIB for Surakarta), across midnight, month
and year ends, as UTC instants. Pure: the model and croniter, no store, no clock. And what is refused at
the boundary: a cron expression croniter rejects or of another field count, a zone zoneinfo does not know."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from toolkit.ports.schedule_records import Schedule

CREATED = datetime(2026, 1, 1, tzinfo=UTC)
WITA, WIB = "Asia/Makassar", "Asia/Jakarta"


def schedule(cron: str, timezone: str, **extra: object) -> Schedule:
    return Schedule(id="uji", profile="server-dasar", targets=("pd-01",), cron=cron, timezone=timezone,
                    created_by="eko", created_at=CREATED, not_before=CREATED, **extra)  # type: ignore[arg-type]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_two_in_the_morning_wita_is_six_in_the_evening_utc_the_day_and_month_before() -> None:
    nightly = schedule("0 2 * * *", WITA)
    # 01:30 WITA on 1 February is 17:30 UTC on 31 January: the run is the same night, not a day later.
    assert nightly.next_due(utc(2026, 1, 31, 17, 30)) == utc(2026, 1, 31, 18, 0)
    assert nightly.next_due(utc(2026, 1, 31, 18, 0)) == utc(2026, 2, 1, 18, 0), "strictly after"
    assert nightly.latest_due(utc(2026, 1, 31, 18, 0)) == utc(2026, 1, 31, 18, 0), "at the instant: due"
    assert nightly.latest_due(utc(2026, 1, 31, 17, 59)) == utc(2026, 1, 30, 18, 0)


def test_midnight_on_the_first_wib_crosses_the_year_in_utc() -> None:
    monthly = schedule("0 0 1 * *", WIB)
    # 23:59 WIB on 31 December is 16:59 UTC; the next run is 00:00 WIB on 1 January, still 2026 in UTC.
    assert monthly.next_due(utc(2026, 12, 31, 16, 59)) == utc(2026, 12, 31, 17, 0)
    assert monthly.next_due(utc(2026, 12, 31, 17, 0)) == utc(2027, 1, 31, 17, 0)


def test_the_thirty_first_skips_the_short_months_in_the_schedule_zone() -> None:
    late = schedule("30 23 31 * *", WIB)
    assert late.next_due(utc(2026, 3, 31, 16, 0)) == utc(2026, 3, 31, 16, 30)  # 23:30 WIB
    assert late.next_due(utc(2026, 3, 31, 16, 30)) == utc(2026, 5, 31, 16, 30), "April has no 31st"


def test_the_same_expression_is_an_hour_apart_in_wib_and_wita() -> None:
    at = utc(2026, 6, 30, 12, 0)
    assert schedule("0 1 * * 1-5", WIB).next_due(at) - schedule("0 1 * * 1-5", WITA).next_due(at) == (
        utc(2026, 6, 30, 18) - utc(2026, 6, 30, 17))


def test_a_zone_with_daylight_saving_keeps_wall_clock_time() -> None:
    """Not needed in Indonesia; computed in the zone anyway, so 09:00 in Berlin is 08:00 UTC in winter and
    07:00 UTC in summer."""
    berlin = schedule("0 9 * * *", "Europe/Berlin")
    assert berlin.next_due(utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 7)
    assert berlin.next_due(utc(2026, 3, 27, 12)) == utc(2026, 3, 28, 8)


@pytest.mark.parametrize("cron", ["61 * * * *", "* * * *", "0 2 * * * 5", "@reboot", "0 2 * * senin", "",
                                  "0 2 * * *; rm -rf /", "0 0 30 2 *"])
def test_an_invalid_cron_expression_is_refused_naming_the_field(cron: str) -> None:
    with pytest.raises(ValidationError) as refused:
        schedule(cron, WITA)
    assert [e["loc"] for e in refused.value.errors()] == [("cron",)]


@pytest.mark.parametrize("zone", ["WITA", "Asia/Gorontalo", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "",
                                  "Asia/Makassar "])
def test_an_unknown_time_zone_is_refused_naming_the_field(zone: str) -> None:
    with pytest.raises(ValidationError) as refused:
        schedule("0 2 * * *", zone)
    assert [e["loc"] for e in refused.value.errors()] == [("timezone",)]


def test_whitespace_in_a_cron_expression_is_normalised() -> None:
    assert schedule(" 0  2 * *  * ", WITA).cron == "0 2 * * *"
