"""Login failures and the lock they lead to, as arithmetic on one account's counters (no I/O, no clock).

Per account and stored with it, so a restart forgets nothing and two server processes count together.
Failures add up inside a window that starts at the first failure; the ``threshold``-th failure inside
it locks the account until ``now + duration``. While locked, attempts are refused without counting (a
lock does not grow by being knocked on, so an attacker cannot keep a colleague out for ever more than
one lock at a time). A successful login, an expired lock's next attempt or an administrator's
``unlock`` start from zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from toolkit.accounts.config import AccountsSettings


@dataclass(frozen=True)
class Counters:
    failed: int = 0
    window_start: datetime | None = None
    locked_until: datetime | None = None

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


CLEAR = Counters()


def after_failure(state: Counters, now: datetime, settings: AccountsSettings) -> Counters:
    """The counters after one more failure at ``now``; ``locked_until`` is set when it locks."""
    if state.locked_at(now):
        return state
    window = timedelta(seconds=settings.lockout_window_s)
    if state.window_start is None or now - state.window_start >= window or state.locked_until is not None:
        state = Counters(failed=0, window_start=now)  # a new window (the previous lock, if any, has ended)
    failed = state.failed + 1
    if failed >= settings.lockout_threshold:
        return Counters(failed=failed, window_start=state.window_start,
                        locked_until=now + timedelta(seconds=settings.lockout_duration_s))
    return Counters(failed=failed, window_start=state.window_start)


def just_locked(before: Counters, after: Counters) -> bool:
    return after.locked_until is not None and after.locked_until != before.locked_until
