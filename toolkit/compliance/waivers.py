"""Waivers as the runner and the commands see them: which are in force for a target today, and the window an
expiry date must fall in.

Dates, not instants: a waiver ends with its ``expires_on`` day in the deployment's zone
(``settings.compliance.timezone``: WITA in Gorontalo, WIB in Surakarta), so the caller computes "today" there
(`today_in`). A run at 07:30 WITA on the 31st is the 30th in UTC; counted in UTC, a waiver that expired on
the 30th would still excuse it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from toolkit.ports.compliance_records import Waiver

MAX_DAYS_AHEAD = 366  # "at most one year": a leap year's 29 February still fits


def today_in(now: datetime, zone: ZoneInfo) -> date:
    """The calendar day of ``now`` where the deployment is."""
    return now.astimezone(zone).date()


def waivers_in_force(waivers: Iterable[Waiver], profile: str, target: str, today: date) -> dict[str, Waiver]:
    """The approved, unexpired waivers of ``target`` under ``profile``, by rule id. Two approved waivers of
    one rule (a renewal approved before the old one ran out) give the one expiring last."""
    found: dict[str, Waiver] = {}
    for waiver in waivers:
        if waiver.profile == profile and waiver.target == target and waiver.in_force(today):
            held = found.get(waiver.rule_id)
            if held is None or waiver.expires_on > held.expires_on:
                found[waiver.rule_id] = waiver
    return found


def expiry_problem(expires_on: date, today: date) -> str | None:
    """Why ``expires_on`` is refused (None: accepted): not before today, at most a year ahead."""
    if expires_on < today:
        return f"expires_on {expires_on.isoformat()} is in the past (today is {today.isoformat()})"
    if (expires_on - today).days > MAX_DAYS_AHEAD:
        return f"expires_on {expires_on.isoformat()} is more than a year ahead (at most {MAX_DAYS_AHEAD} days)"
    return None
