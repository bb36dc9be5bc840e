"""Password logins: one refusal for every cause, the same argon2 work for unknown users, the lockout
(per account, surviving a restart, lifted by time or by an administrator, audited once), the rehash of an
old hash, and the canary password nowhere: not in errors, logs, the audit log or any file."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.accounts.conftest import APPLICANT, CANARY_PASSWORD, files_containing, open_app
from tests.support.clock import ManualClock
from tests.support.principals import as_lab
from toolkit.accounts.login import LOGIN_REFUSED
from toolkit.accounts.service import Accounts, open_accounts
from toolkit.bootstrap import App
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import AuthenticationError, PermissionDeniedError

WRONG = SecretStr("not-the-password-at-all")


def refusal(accounts: Accounts, username: object, password: SecretStr | str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        accounts.authenticate_password(username, password)
    assert str(caught.value) == LOGIN_REFUSED  # one message, whatever the cause
    return caught.value


def count_verifications(accounts: Accounts, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """A spy on the real argon2 verification: records whether a stored hash was given (True) or the
    dummy was used (False); the verification itself still runs."""
    passwords = accounts.logins._ctx.passwords
    calls: list[bool] = []
    real = passwords.verify

    def verify(stored: str | None, password: SecretStr) -> bool:
        calls.append(stored is not None)
        return real(stored, password)

    monkeypatch.setattr(passwords, "verify", verify)
    return calls


def test_the_right_password_proves_a_session_principal(accounts: Accounts, with_account: str) -> None:
    assert accounts.authenticate_password(with_account, CANARY_PASSWORD) == Principal(user=with_account,
                                                                                       auth=AuthMethod.SESSION)
    assert accounts.store.require(with_account).view(accounts.sessions._ctx.now()).last_login_at is not None


def test_wrong_password_unknown_user_and_malformed_name_take_the_same_path(
        accounts: Accounts, with_account: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_verifications(accounts, monkeypatch)
    wrong = refusal(accounts, with_account, WRONG)
    unknown = refusal(accounts, "nobody", WRONG)
    no_account = refusal(accounts, "budi", CANARY_PASSWORD)  # in the directory, without an account
    malformed = refusal(accounts, "andi; rm -rf /", WRONG)
    not_text = refusal(accounts, None, WRONG)
    huge = refusal(accounts, with_account, "x" * 1_000_000)
    assert calls == [True, False, False, False, False, True]  # one argon2 verification each; the huge one of ""
    assert [e.details["reason"] for e in (wrong, unknown, no_account, malformed, not_text, huge)] == [
        "wrong password", "unknown user", "unknown user", "unknown user", "unknown user", "wrong password"]


def test_the_password_never_appears_in_errors_logs_audit_or_files(
        app: App, accounts: Accounts, with_account: str, state_dir: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    near_miss = CANARY_PASSWORD + "x"
    refused = refusal(accounts, with_account, near_miss)
    accounts.login(with_account, CANARY_PASSWORD)
    with pytest.raises(AuthenticationError) as unknown:
        accounts.login("ghost", CANARY_PASSWORD)
    for error in (refused, unknown.value):
        assert CANARY_PASSWORD not in f"{error} {error.details} {error!r}"
    assert CANARY_PASSWORD not in caplog.text and "login refused" in caplog.text
    assert all(CANARY_PASSWORD not in repr(entry) for entry in app.audit.entries())
    assert files_containing(CANARY_PASSWORD, tmp_path) == []
    stored = accounts.store.require(with_account).password_hash
    assert stored.startswith("$argon2id$") and CANARY_PASSWORD not in stored


def test_n_failures_lock_the_account_once_and_audited(app: App, accounts: Accounts, with_account: str,
                                                      clock: ManualClock) -> None:
    threshold = app.settings.accounts.lockout_threshold
    for _ in range(threshold - 1):
        refusal(accounts, with_account, WRONG)
    assert accounts.authenticate_password(with_account, CANARY_PASSWORD).user == with_account  # success resets
    for _ in range(threshold):
        refusal(accounts, with_account, WRONG)
    locked = refusal(accounts, with_account, CANARY_PASSWORD)
    assert locked.details["reason"] == "locked"
    for _ in range(3):  # knocking on a locked account neither counts nor extends the lock
        refusal(accounts, with_account, WRONG)
    view = accounts.admin.show(as_lab(with_account), with_account)
    assert view.status == "locked" and view.failed_logins == threshold
    assert view.locked_until == clock.now() + timedelta(seconds=app.settings.accounts.lockout_duration_s)
    locks = [e for e in app.audit.entries() if e.action == "account.lock"]
    assert [(e.actor, e.data["user"], e.data["auth"], e.data["failures"]) for e in locks] == [
        ("spbe", with_account, "engine", threshold)]


def test_failures_outside_the_window_do_not_add_up(app: App, accounts: Accounts, with_account: str,
                                                   clock: ManualClock) -> None:
    settings = app.settings.accounts
    for _ in range(settings.lockout_threshold - 1):
        refusal(accounts, with_account, WRONG)
    clock.advance(timedelta(seconds=settings.lockout_window_s))
    refusal(accounts, with_account, WRONG)
    assert accounts.authenticate_password(with_account, CANARY_PASSWORD).user == with_account


def lock(app: App, accounts: Accounts, username: str) -> None:
    for _ in range(app.settings.accounts.lockout_threshold):
        refusal(accounts, username, WRONG)
    assert refusal(accounts, username, CANARY_PASSWORD).details["reason"] == "locked"


def test_a_lock_ends_by_time(app: App, accounts: Accounts, with_account: str, clock: ManualClock) -> None:
    lock(app, accounts, with_account)
    clock.advance(timedelta(seconds=app.settings.accounts.lockout_duration_s - 1))
    assert refusal(accounts, with_account, CANARY_PASSWORD).details["reason"] == "locked"
    clock.advance(timedelta(seconds=1))
    assert accounts.authenticate_password(with_account, CANARY_PASSWORD).user == with_account
    refusal(accounts, with_account, WRONG)  # a new count: one failure after the lock does not re-lock
    assert accounts.authenticate_password(with_account, CANARY_PASSWORD).user == with_account


def test_a_lock_survives_a_restart_and_an_administrator_lifts_it(
        app: App, accounts: Accounts, with_account: str, admin: str, state_dir: Path, clock: ManualClock) -> None:
    lock(app, accounts, with_account)
    accounts.close()
    restarted = open_accounts(open_app(state_dir, clock))
    try:
        assert refusal(restarted, with_account, CANARY_PASSWORD).details["reason"] == "locked"
        with pytest.raises(PermissionDeniedError):
            restarted.admin.unlock(as_lab("budi"), with_account)
        assert restarted.admin.unlock(as_lab(admin), with_account) is True
        assert restarted.admin.unlock(as_lab(admin), with_account) is False  # nothing left to clear
        assert restarted.authenticate_password(with_account, CANARY_PASSWORD).user == with_account
    finally:
        restarted.close()
    unlocks = [e for e in app.audit.entries() if e.action == "account.unlock"]
    assert [(e.actor, e.data["user"], e.data["was_locked"], e.data["auth"]) for e in unlocks] == [
        (admin, with_account, True, "lab-as")]


def test_lockout_is_per_account(app: App, accounts: Accounts, with_account: str, admin: str) -> None:
    accounts.admin.add(as_lab(admin), "budi", SecretStr("another long passphrase"))
    lock(app, accounts, with_account)
    assert accounts.authenticate_password("budi", "another long passphrase").user == "budi"


def test_a_disabled_account_cannot_log_in(accounts: Accounts, with_account: str, admin: str) -> None:
    accounts.admin.disable(as_lab(admin), with_account)
    assert refusal(accounts, with_account, CANARY_PASSWORD).details["reason"] == "disabled"
    accounts.admin.enable(as_lab(admin), with_account)
    assert accounts.authenticate_password(with_account, CANARY_PASSWORD).user == with_account


def test_an_old_hash_is_upgraded_at_the_next_login(state_dir: Path, clock: ManualClock, accounts: Accounts,
                                                   with_account: str) -> None:
    old = accounts.store.require(with_account).password_hash
    accounts.close()
    stronger = open_accounts(open_app(state_dir, clock, argon2_time_cost=3))
    try:
        stronger.authenticate_password(with_account, CANARY_PASSWORD)
        new = stronger.store.require(with_account).password_hash
        assert new != old and ",t=3," in new and ",t=2," in old
        assert stronger.authenticate_password(with_account, CANARY_PASSWORD).user == APPLICANT
    finally:
        stronger.close()
