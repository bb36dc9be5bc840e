"""Server-side sessions: made at login, idle and absolute expiry by the clock, logout, every session of
an account ended when it is disabled or its password changes, and the CSRF token compared per session."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.accounts.conftest import CANARY_PASSWORD, files_containing
from tests.support.clock import ManualClock
from tests.support.principals import as_lab
from toolkit.accounts.service import Accounts
from toolkit.accounts.sessions import SESSION_ENDED
from toolkit.bootstrap import App
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import AuthenticationError, PermissionDeniedError


def ended(accounts: Accounts, session_id: object) -> str:
    with pytest.raises(AuthenticationError) as caught:
        accounts.sessions.authenticate(session_id)
    assert str(caught.value) == SESSION_ENDED
    return str(caught.value.details["reason"])


def new_session(accounts: Accounts, username: str) -> str:
    return accounts.login(username, CANARY_PASSWORD).session_id.get_secret_value()


def test_a_login_opens_a_session_stored_only_as_a_digest(accounts: Accounts, with_account: str,
                                                         tmp_path: Path) -> None:
    made = accounts.login(with_account, CANARY_PASSWORD)
    session_id = made.session_id.get_secret_value()
    assert made.session.principal == Principal(user=with_account, auth=AuthMethod.SESSION)
    assert session_id not in repr(made) and session_id not in made.model_dump_json()
    seen = accounts.sessions.authenticate(session_id)
    assert seen.principal.user == with_account
    assert seen.csrf_token.get_secret_value() == made.session.csrf_token.get_secret_value()
    assert files_containing(session_id, tmp_path) == []


def test_idle_expiry_moves_with_use_and_the_absolute_expiry_does_not(
        app: App, accounts: Accounts, with_account: str, clock: ManualClock) -> None:
    idle = timedelta(seconds=app.settings.accounts.session_idle_s)
    absolute = timedelta(seconds=app.settings.accounts.session_absolute_s)
    session_id = new_session(accounts, with_account)
    started = clock.now()
    while clock.now() + idle - timedelta(seconds=1) < started + absolute:
        clock.advance(idle - timedelta(seconds=1))  # used just in time, again and again
        accounts.sessions.authenticate(session_id)
    clock.move_past(started + absolute, by=timedelta(0))
    assert ended(accounts, session_id) == "absolute expiry"
    unused = new_session(accounts, with_account)
    clock.advance(idle)
    assert ended(accounts, unused) == "idle expiry"


def test_logout_ends_only_that_session(accounts: Accounts, with_account: str) -> None:
    first, second = new_session(accounts, with_account), new_session(accounts, with_account)
    assert accounts.sessions.logout(first) is True
    assert accounts.sessions.logout(first) is False
    assert ended(accounts, first) == "revoked"
    assert accounts.sessions.authenticate(second).principal.user == with_account


def test_disabling_the_account_ends_all_its_sessions(app: App, accounts: Accounts, with_account: str,
                                                     admin: str) -> None:
    accounts.admin.add(as_lab(admin), "budi", SecretStr(CANARY_PASSWORD))
    mine = [new_session(accounts, with_account) for _ in range(3)]
    other = new_session(accounts, "budi")
    assert accounts.admin.disable(as_lab(admin), with_account) is True
    assert [ended(accounts, s) for s in mine] == ["revoked"] * 3
    accounts.sessions.authenticate(other)  # someone else's stays
    entry = next(e for e in app.audit.entries() if e.action == "account.disable")
    assert (entry.actor, entry.data["user"], entry.data["sessions_revoked"], entry.data["auth"]) == (
        admin, with_account, 3, "lab-as")


def test_a_password_change_ends_all_sessions(accounts: Accounts, with_account: str) -> None:
    sessions = [new_session(accounts, with_account) for _ in range(2)]
    by_session = accounts.sessions.authenticate(sessions[0]).principal
    with pytest.raises(AuthenticationError):  # from a session, the current password is needed too
        accounts.admin.change_password(by_session, with_account, SecretStr("a brand new passphrase"))
    with pytest.raises(AuthenticationError):
        accounts.admin.change_password(by_session, with_account, SecretStr("a brand new passphrase"),
                                       current=SecretStr("wrong current passphrase"))
    assert accounts.admin.change_password(by_session, with_account, SecretStr("a brand new passphrase"),
                                          current=SecretStr(CANARY_PASSWORD)) == 2
    assert [ended(accounts, s) for s in sessions] == ["revoked", "revoked"]
    with pytest.raises(AuthenticationError):
        accounts.authenticate_password(with_account, CANARY_PASSWORD)
    assert accounts.authenticate_password(with_account, "a brand new passphrase").user == with_account


def test_the_csrf_token_is_checked_per_session(accounts: Accounts, with_account: str) -> None:
    made = accounts.login(with_account, CANARY_PASSWORD)
    session_id = made.session_id.get_secret_value()
    token = made.session.csrf_token.get_secret_value()
    accounts.sessions.verify_csrf(session_id, token)
    other = accounts.login(with_account, CANARY_PASSWORD)
    assert other.session.csrf_token.get_secret_value() != token
    for wrong in (other.session.csrf_token.get_secret_value(), "", None, token[:-1], token + "0", token.upper(),
                  token[:-1] + "é", "x" * 1_000_000):
        with pytest.raises(PermissionDeniedError) as caught:
            accounts.sessions.verify_csrf(session_id, wrong)
        assert not isinstance(caught.value, AuthenticationError)  # 403: logged in, the form is not theirs
    assert token != session_id and session_id not in token


@pytest.mark.parametrize("bad", ["", None, "x" * 43, "a" * 42, "a" * 44 + "\n", "é" * 43, "../" * 15, 7])
def test_malformed_or_unknown_session_ids(accounts: Accounts, bad: object) -> None:
    assert ended(accounts, bad) in {"malformed", "unknown"}
    assert accounts.sessions.logout(bad) is False
