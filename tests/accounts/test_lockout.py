"""The lockout arithmetic on its own (no store, no clock): the threshold, the window, no growth while locked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from toolkit.accounts.config import AccountsSettings
from toolkit.accounts.lockout import CLEAR, Counters, after_failure, just_locked

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SETTINGS = AccountsSettings(lockout_threshold=3, lockout_window_s=60, lockout_duration_s=600)


def fail(times: list[int], start: Counters = CLEAR) -> Counters:
    state = start
    for second in times:
        state = after_failure(state, T0 + timedelta(seconds=second), SETTINGS)
    return state


def test_the_threshold_within_the_window_locks_for_the_duration() -> None:
    assert fail([0, 10]).locked_until is None
    locked = fail([0, 10, 59])
    assert locked.locked_until == T0 + timedelta(seconds=59 + 600) and just_locked(fail([0, 10]), locked)


def test_failures_further_apart_than_the_window_start_again() -> None:
    assert fail([0, 10, 60]) == Counters(failed=1, window_start=T0 + timedelta(seconds=60))


def test_failures_while_locked_change_nothing_and_after_the_lock_a_new_count_starts() -> None:
    locked = fail([0, 1, 2])
    assert fail([3, 100, 601], locked) == locked
    after = fail([602], locked)
    assert after == Counters(failed=1, window_start=T0 + timedelta(seconds=602))
