"""Administering accounts: only a role with the administers-accounts trait may, every change and every
refusal is audited with the principal's auth method, accounts exist only for people of the directory,
and a hostile username is refused with a clear error before anything is looked up or written."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.accounts.conftest import APPLICANT, CANARY_PASSWORD
from tests.support.principals import as_lab
from toolkit.accounts.models import USERNAME_RULE
from toolkit.accounts.service import Accounts
from toolkit.bootstrap import App
from toolkit.domain.catalog.loader import packaged_roles
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError

PASSWORD = SecretStr("a long enough passphrase")
HOSTILE = ["andi; rm -rf /", "andi\n", "$(reboot)", "`id`", "andi\nroot", "../../etc/passwd", "a" * 65,
           "x" * 100_000, "", "Andi", "andi ", "ändi", "andi\x00", "-rf", "1andi", "andi'--", "<script>"]


def test_one_role_of_the_packaged_book_administers_accounts() -> None:
    """The trait is given to the koordinator layanan, the service desk (roles.yaml says why)."""
    assert packaged_roles().with_trait(RoleTrait.ADMINISTERS_ACCOUNTS) == {"koordinator-layanan"}


def test_an_administrator_adds_an_account_for_a_person_of_the_directory(app: App, accounts: Accounts,
                                                                        admin: str) -> None:
    view = accounts.admin.add(as_lab(admin), APPLICANT, PASSWORD)
    assert (view.username, view.status, view.created_by) == (APPLICANT, "active", admin)
    with pytest.raises(ConflictError):
        accounts.admin.add(as_lab(admin), APPLICANT, PASSWORD)
    with pytest.raises(NotFoundError, match="directory"):
        accounts.admin.add(as_lab(admin), "stranger", PASSWORD)
    assert [v.username for v in accounts.admin.list(as_lab(admin))] == [APPLICANT]
    added = [(e.actor, e.data["user"], e.data["auth"]) for e in app.audit.entries() if e.action == "account.add"]
    assert added == [(admin, APPLICANT, "lab-as")]


def test_anyone_else_is_refused_and_the_refusal_is_audited(app: App, accounts: Accounts, admin: str) -> None:
    for operation in (lambda p: accounts.admin.add(p, "budi", PASSWORD), lambda p: accounts.admin.list(p),
                      lambda p: accounts.admin.disable(p, admin), lambda p: accounts.admin.unlock(p, admin),
                      lambda p: accounts.admin.change_password(p, admin, PASSWORD)):
        with pytest.raises(PermissionDeniedError, match="administer local accounts"):
            operation(as_lab(APPLICANT))
    assert accounts.store.all() == []
    refusals = [(e.actor, e.data["operation"], e.data["auth"]) for e in app.audit.entries()
                if e.action == "account.refused"]
    assert refusals == [(APPLICANT, op, "lab-as") for op in (
        "adding an account", "listing accounts", "disabling an account", "unlocking an account",
        "changing a password")]


@pytest.mark.parametrize("username", HOSTILE)
def test_a_hostile_username_is_refused_clearly_and_nothing_is_written(
        app: App, accounts: Accounts, admin: str, username: str, state_dir: Path) -> None:
    before = len(app.audit.entries())
    for operation in (lambda: accounts.admin.add(as_lab(admin), username, PASSWORD),
                      lambda: accounts.admin.disable(as_lab(admin), username),
                      lambda: accounts.admin.unlock(as_lab(admin), username),
                      lambda: accounts.tokens.create(as_lab(admin), username, "1d", "read")):
        with pytest.raises(InvalidInputError) as caught:
            operation()
        message = str(caught.value)
        assert USERNAME_RULE in message and (len(username) < 3 or username not in message)
        assert caught.value.details["errors"][0][0] in {"username", "user"}
    assert accounts.store.all() == [] and accounts.store.tokens(None) == []
    assert len(app.audit.entries()) == before


def test_weak_passwords_are_refused_without_echoing_them(accounts: Accounts, admin: str) -> None:
    for weak in ("short", "Password2024!", "andi-andi-andi-1", "aaaaaaaaaaaaaaaa", "123456789012345",
                 "tab\tinside-the-password", "x" * 2000):
        with pytest.raises(InvalidInputError) as caught:
            accounts.admin.add(as_lab(admin), APPLICANT, SecretStr(weak))
        assert weak not in str(caught.value) and weak not in repr(caught.value.details)
    assert accounts.store.all() == []


def test_disable_enable_and_no_disabling_oneself(app: App, accounts: Accounts, admin: str) -> None:
    accounts.admin.add(as_lab(admin), APPLICANT, PASSWORD)
    accounts.admin.add(as_lab(admin), admin, SecretStr(CANARY_PASSWORD))
    with pytest.raises(InvalidInputError, match="own account"):
        accounts.admin.disable(as_lab(admin), admin)
    assert accounts.admin.disable(as_lab(admin), APPLICANT) is True
    assert accounts.admin.disable(as_lab(admin), APPLICANT) is False
    assert accounts.admin.show(as_lab(APPLICANT), APPLICANT).status == "disabled"
    assert accounts.admin.enable(as_lab(admin), APPLICANT) is True
    assert accounts.admin.enable(as_lab(admin), APPLICANT) is False
    with pytest.raises(NotFoundError):
        accounts.admin.disable(as_lab(admin), "budi")
    changes = [(e.action, e.data.get("user")) for e in app.audit.entries() if e.action.startswith("account.")]
    assert changes == [("account.add", APPLICANT), ("account.add", admin), ("account.disable", APPLICANT),
                       ("account.enable", APPLICANT)]


def test_a_person_changes_their_own_password_from_the_control_node(accounts: Accounts, admin: str) -> None:
    accounts.admin.add(as_lab(admin), APPLICANT, PASSWORD)
    assert accounts.admin.change_password(as_lab(APPLICANT), APPLICANT, SecretStr(CANARY_PASSWORD)) == 0
    assert accounts.authenticate_password(APPLICANT, CANARY_PASSWORD).user == APPLICANT
    with pytest.raises(PermissionDeniedError):
        accounts.admin.change_password(as_lab("budi"), APPLICANT, PASSWORD)
