"""The workflow's clocks on the office calendar: the SLA in hari kerja, a step in jam kerja, a pause, and a
working-time clock that no calendar was given for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.catalog.models import SlaVariant, Step, TimeUnit
from toolkit.domain.workflow import evaluate
from toolkit.errors import ConfigurationError
from toolkit.worktime.calendars import default_calendars

FRIDAY_3PM_WIB = datetime(2026, 12, 18, 8, 0, tzinfo=UTC)
SURAKARTA = load_catalog().get("keamanan-informasi")
OFFICE = default_calendars().for_service(SURAKARTA)


def test_the_standard_variant_is_one_hari_kerja_and_outside_help_stays_in_days() -> None:
    assert SURAKARTA.timezone == "Asia/Jakarta" and load_catalog().get("pusat-data").timezone == "Asia/Makassar"
    standard = SURAKARTA.sla.select({"bantuan_eksternal": False})
    assert (standard.duration, standard.unit) == (timedelta(days=1), TimeUnit.HARI_KERJA)
    assert SURAKARTA.sla.select({"bantuan_eksternal": True}).unit is TimeUnit.KALENDER
    assert load_catalog().get("audit-ti").sla.default.unit is TimeUnit.HARI_KERJA


def test_the_sla_deadline_counts_a_working_day_and_a_pause_starts_it_later() -> None:
    first = {SURAKARTA.steps[0].id: FRIDAY_3PM_WIB}
    saturday = FRIDAY_3PM_WIB + timedelta(days=1, hours=1)
    state = evaluate(SURAKARTA, {}, first, FRIDAY_3PM_WIB, saturday, calendar=OFFICE)
    assert state.sla.deadline == datetime(2026, 12, 21, 8, 0, tzinfo=UTC)  # Senin 15:00 WIB
    assert not state.sla.breached and state.sla.remaining > timedelta(days=1)
    # deferred Friday 15:00 to Monday 08:30 WIB: one hour of Friday's and one of Monday's office time held
    held = ((FRIDAY_3PM_WIB, datetime(2026, 12, 21, 1, 30, tzinfo=UTC)),)
    paused = evaluate(SURAKARTA, {}, first, FRIDAY_3PM_WIB, saturday, paused=held[0][1] - held[0][0],
                      pauses=held, calendar=OFFICE)
    assert paused.sla.deadline == datetime(2026, 12, 22, 1, 30, tzinfo=UTC)  # Monday's last hour, Tue's first
    short = ((FRIDAY_3PM_WIB, FRIDAY_3PM_WIB + timedelta(minutes=30)),)
    assert evaluate(SURAKARTA, {}, first, FRIDAY_3PM_WIB, saturday, paused=timedelta(minutes=30), pauses=short,
                    calendar=OFFICE).sla.deadline == datetime(2026, 12, 21, 8, 30, tzinfo=UTC)
    # only the total known: the clock starts that much later (Friday 17:00 is after the close: Monday 07:30)
    total = evaluate(SURAKARTA, {}, first, FRIDAY_3PM_WIB, saturday, paused=timedelta(hours=2), calendar=OFFICE)
    assert total.sla.deadline == datetime(2026, 12, 22, 0, 30, tzinfo=UTC)


def test_a_working_time_clock_without_a_calendar_is_refused_not_guessed() -> None:
    with pytest.raises(ConfigurationError, match="office calendar"):
        evaluate(SURAKARTA, {}, {}, FRIDAY_3PM_WIB, FRIDAY_3PM_WIB)


def test_a_step_in_jam_kerja_is_late_only_after_office_time() -> None:
    service = SURAKARTA.model_copy(update={"steps": tuple(
        step.model_copy(update={"standard_time_unit": TimeUnit.JAM_KERJA}) if step.id == "tindak-lanjut-laporan"
        else step for step in SURAKARTA.steps)})
    opened = datetime(2026, 11, 23, 8, 50, tzinfo=UTC)  # Senin 15:50 WIB
    first = {service.steps[0].id: opened}
    evening = evaluate(service, {}, first, opened, opened + timedelta(hours=2), calendar=OFFICE)
    current = evening.state_of("tindak-lanjut-laporan")
    assert current.deadline == datetime(2026, 11, 24, 0, 35, tzinfo=UTC) and not current.late
    morning = evaluate(service, {}, first, opened, datetime(2026, 11, 24, 0, 36, tzinfo=UTC), calendar=OFFICE)
    assert morning.state_of("tindak-lanjut-laporan").late


@pytest.mark.parametrize("duration", [timedelta(hours=12), timedelta(days=1, minutes=1)])
def test_hari_kerja_are_whole_days(duration: timedelta) -> None:
    with pytest.raises(ValueError, match="whole days"):
        SlaVariant(id="x", label="x", duration=duration, unit=TimeUnit.HARI_KERJA)
    with pytest.raises(ValueError, match="whole days"):
        Step(id="x", title="x", actor="x", kind="human", standard_time=duration, standard_time_unit="hari-kerja")


def test_a_service_zone_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        SURAKARTA.model_validate(SURAKARTA.model_dump() | {"timezone": "Asia/Surakarta"})
    with pytest.raises(ValueError, match="not a time zone name"):
        SURAKARTA.model_validate(SURAKARTA.model_dump() | {"timezone": "../../etc/passwd"})
