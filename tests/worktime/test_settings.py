"""``settings.worktime``: the zone and its label, office hours, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import ConfigurationError
from toolkit.settings import load_settings
from toolkit.worktime.calendars import Calendars, local_zone
from toolkit.worktime.config import WorktimeSettings

BAD_ZONES = ["WITA", "Asia/Gorontalo", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "", "Asia/Makassar ",
             "Asia/Makassar\nx", "$(reboot)", "{{ 7*7 }}", "Asia/" + "x" * 500]


@pytest.mark.parametrize("zone", BAD_ZONES)
def test_a_zone_that_does_not_exist_is_refused(zone: str) -> None:
    with pytest.raises(ConfigurationError, match=r"worktime\.timezone") as refused:
        load_settings(worktime={"timezone": zone})
    assert "Traceback" not in str(refused.value)
    with pytest.raises(ConfigurationError, match=r"time zone|a label"):
        local_zone(zone)


def test_a_label_is_not_a_zone_and_says_which_zone_it_means() -> None:
    with pytest.raises(ConfigurationError, match="Asia/Makassar"):
        load_settings(worktime={"timezone": "WITA"})


def test_an_unknown_zone_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_WORKTIME__TIMEZONE", "Asia/Gorontalo")
    with pytest.raises(ConfigurationError, match=r"worktime\.timezone"):
        load_settings()


@pytest.mark.parametrize(("zone", "label"), [("Asia/Jakarta", "WIB"), ("Asia/Pontianak", "WIB"),
                                             ("Asia/Makassar", "WITA"), ("Asia/Jayapura", "WIT"), ("UTC", "UTC")])
def test_the_label_follows_the_zone(zone: str, label: str) -> None:
    assert load_settings(worktime={"timezone": zone}).worktime.zone_label() == label
    assert local_zone(zone).label == label


def test_the_label_can_be_overridden_for_the_deployments_zone() -> None:
    settings = load_settings(worktime={"timezone": "Asia/Makassar", "label": "WIB"}).worktime
    calendars = Calendars(settings)
    assert calendars.zone().label == "WIB" and calendars.zone("Asia/Makassar").label == "WIB"
    assert calendars.zone("Asia/Jayapura").label == "WIT"  # another office's zone keeps its own
    with pytest.raises(ConfigurationError, match=r"worktime\.label"):
        load_settings(worktime={"label": "CET"})


def test_a_service_zone_wins_over_the_deployments() -> None:
    calendars = Calendars(WorktimeSettings(timezone="Asia/Jakarta"))

    class Gorontalo:
        timezone = "Asia/Makassar"

    class Anywhere:
        timezone = None

    assert calendars.zone_of(Gorontalo()).label == "WITA" and calendars.zone_of(Anywhere()).label == "WIB"
    assert calendars.for_service(Gorontalo()).label == "WITA"


@pytest.mark.parametrize("span", ["16:00-07:30", "07:30-07:30", "7:30-16:00", "07:30 - 16:00; rm -rf /",
                                  "25:00-26:00", "07:30-16:00\n", "{{ 7*7 }}", "07:30-24:30"])
def test_office_hours_that_end_before_they_start_or_are_not_hours_are_refused(span: str) -> None:
    with pytest.raises(ConfigurationError, match=r"worktime\.office_hours\.jumat"):
        load_settings(worktime={"office_hours": {"jumat": span}})


def test_office_hours_per_day_and_a_closed_week_refused() -> None:
    hours = load_settings(worktime={"office_hours": {"jumat": "07:30-11:30", "sabtu": "08:00-12:00"}}
                          ).worktime.office_hours
    assert (str(hours.senin), str(hours.jumat), str(hours.sabtu), hours.minggu) == (
        "07:30-16:00", "07:30-11:30", "08:00-12:00", None)
    assert load_settings(worktime={"office_hours": {"jumat": "libur"}}).worktime.office_hours.jumat is None
    closed = dict.fromkeys(("senin", "selasa", "rabu", "kamis", "jumat"), "libur")
    with pytest.raises(ConfigurationError, match="at least one day"):
        load_settings(worktime={"office_hours": closed})
    with pytest.raises(ConfigurationError, match=r"worktime\.office_hours"):
        load_settings(worktime={"office_hours": {"jumaat": "07:30-16:00"}})


def test_the_compliance_zone_defaults_to_the_deployments(tmp_path: Path) -> None:
    assert load_settings().compliance.timezone == "Asia/Jakarta"
    assert load_settings(worktime={"timezone": "Asia/Makassar"}).compliance.timezone == "Asia/Makassar"
    both = load_settings(worktime={"timezone": "Asia/Makassar"}, compliance={"timezone": "Asia/Jayapura"})
    assert both.compliance.timezone == "Asia/Jayapura"  # set on its own: kept
    config = tmp_path / "spbe.toml"
    config.write_text('[worktime]\ntimezone = "Asia/Makassar"\n[worktime.office_hours]\njumat = "07:30-11:00"\n',
                      encoding="utf-8")
    from_file = load_settings(config)
    assert (from_file.worktime.timezone, from_file.compliance.timezone) == ("Asia/Makassar", "Asia/Makassar")
    assert str(from_file.worktime.office_hours.jumat) == "07:30-11:00"
