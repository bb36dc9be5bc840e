"""Which waivers excuse a finding on a given day: approved ones only, through their expiry day (inclusive)
and not the day after, of the same profile and target; the day is the deployment's, not UTC's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from toolkit.compliance.waivers import expiry_problem, today_in, waivers_in_force
from toolkit.ports.compliance_records import Waiver, WaiverStatus

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
WITA = ZoneInfo("Asia/Makassar")


def _waiver(n: int, *, rule: str = "SD-SSH-02", target: str = "pd-01", expires: date = date(2026, 3, 31),
            status: WaiverStatus = "approved", profile: str = "server-dasar") -> Waiver:
    decided = status != "requested"
    return Waiver(id=f"W-{n:04d}", profile=profile, rule_id=rule, target=target, reason="aplikasi lama butuh sandi",
                  expires_on=expires, requested_by="eko", requested_at=AT, status=status,
                  decided_by="kabid" if decided else None, decided_at=AT if decided else None)


def test_an_approved_waiver_holds_through_its_expiry_day_and_not_the_day_after() -> None:
    waiver = _waiver(1)
    assert waivers_in_force([waiver], "server-dasar", "pd-01", date(2026, 3, 31)) == {"SD-SSH-02": waiver}
    assert waivers_in_force([waiver], "server-dasar", "pd-01", date(2026, 4, 1)) == {}


def test_only_approved_waivers_of_the_same_profile_and_target_count() -> None:
    day = date(2026, 3, 10)
    waivers = [_waiver(1, status="requested"), _waiver(2, status="rejected"), _waiver(3, status="revoked"),
               _waiver(4, target="pd-02"), _waiver(5, profile="jaringan-intra"), _waiver(6, rule="SD-FW-01")]
    assert waivers_in_force(waivers, "server-dasar", "pd-01", day) == {"SD-FW-01": waivers[5]}


def test_of_two_approved_waivers_of_one_rule_the_later_expiry_wins() -> None:
    old, renewed = _waiver(1, expires=date(2026, 3, 15)), _waiver(2, expires=date(2026, 6, 30))
    for order in ([old, renewed], [renewed, old]):
        assert waivers_in_force(order, "server-dasar", "pd-01", date(2026, 3, 10))["SD-SSH-02"] == renewed


def test_today_is_the_deployment_day_not_utc() -> None:
    late_utc = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)  # 01:00 WITA on 1 April
    assert today_in(late_utc, WITA) == date(2026, 4, 1)
    assert today_in(late_utc, ZoneInfo("Asia/Jakarta")) == date(2026, 4, 1)
    assert today_in(datetime(2026, 3, 31, 15, 59, tzinfo=UTC), WITA) == date(2026, 3, 31)
    assert waivers_in_force([_waiver(1)], "server-dasar", "pd-01", today_in(late_utc, WITA)) == {}


def test_the_expiry_window_is_today_to_a_year_ahead() -> None:
    today = date(2026, 3, 2)
    assert expiry_problem(today, today) is None
    assert expiry_problem(today + timedelta(days=366), today) is None
    assert "in the past" in (expiry_problem(today - timedelta(days=1), today) or "")
    assert "more than a year" in (expiry_problem(today + timedelta(days=367), today) or "")
