"""`spbe serve` forgets ended portal sessions periodically: its trigger loop's round (`Server.tick`) calls
`Sessions.purge` when the purge is due. Two clocks, both moved by the test, nothing sleeps: the services'
clock says when a session ended, the server's monotonic clock when the purge is due again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.accounts.conftest import CANARY_PASSWORD
from tests.support.clock import ManualClock
from toolkit.accounts import credentials
from toolkit.accounts.service import Accounts
from toolkit.bootstrap import App
from toolkit.engine.server import Server

A_DAY = timedelta(days=1, seconds=1)


class Ticks:
    """The monotonic clock the server reads to decide when periodic work is due."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def login(accounts: Accounts, username: str) -> str:
    return accounts.login(username, CANARY_PASSWORD).session_id.get_secret_value()


def stored(accounts: Accounts, session_id: str) -> bool:
    return accounts.store.session(credentials.digest(session_id)) is not None


def test_serve_purges_sessions_that_ended_a_day_ago_and_keeps_live_ones(
        app: App, accounts: Accounts, with_account: str, clock: ManualClock) -> None:
    ticks = Ticks()
    server = Server(app, workers=1, monotonic=ticks)
    logged_out = login(accounts, with_account)
    accounts.sessions.logout(logged_out)
    clock.advance(A_DAY)
    live = login(accounts, with_account)

    server.tick()  # the first round: the purge is due at once

    assert not stored(accounts, logged_out)
    assert stored(accounts, live)
    accounts.sessions.authenticate(live)  # still a working session


def test_the_purge_runs_again_only_when_its_interval_has_passed(
        app: App, accounts: Accounts, with_account: str, clock: ManualClock) -> None:
    ticks = Ticks()
    server = Server(app, workers=1, monotonic=ticks, session_purge_every=3600.0)
    server.tick()
    aged_out = login(accounts, with_account)
    clock.advance(timedelta(seconds=app.settings.accounts.session_absolute_s) + A_DAY)  # past its absolute expiry

    ticks.now += 3599.0
    server.tick()
    assert stored(accounts, aged_out)  # not due yet

    ticks.now += 2.0
    server.tick()
    assert not stored(accounts, aged_out)


def test_a_state_dir_without_accounts_is_not_given_an_accounts_database(app: App, state_dir: Path) -> None:
    Server(app, workers=1, monotonic=Ticks()).tick()
    assert not (state_dir / "accounts.db").exists()
