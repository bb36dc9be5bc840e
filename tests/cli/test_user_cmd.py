"""`spbe user ...` through the real CLI: the password only from stdin (never printed, logged, audited or
stored in clear: a canary is searched for in every byte), weak passwords and hostile usernames refused
with exit 2 and nothing written, administrators only (exit 4), lockout lifted by `spbe user unlock`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.accounts.conftest import CANARY_PASSWORD, FAST_ARGON2, files_containing
from tests.accounts.test_admin import HOSTILE
from tests.support.cli import Spbe
from toolkit.accounts.models import USERNAME_RULE
from toolkit.accounts.service import open_accounts
from toolkit.bootstrap import App
from toolkit.domain.catalog.loader import packaged_roles
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.errors import AuthenticationError
from toolkit.settings import load_settings

ADMIN = "sari"  # the roles file's koordinator-layanan: the role with the administers-accounts trait


@pytest.fixture
def cli(spbe: Spbe) -> Spbe:
    return spbe.with_env(**{f"SPBE_ACCOUNTS__{key.upper()}": str(value) for key, value in FAST_ARGON2.items()})


def test_the_admin_of_these_tests_holds_the_trait(cli: Spbe, state_dir: Path) -> None:
    roles = packaged_roles().with_trait(RoleTrait.ADMINISTERS_ACCOUNTS)
    app = App(load_settings(state_dir=state_dir))
    assert app.directory.person(ADMIN).roles & roles


def add(cli: Spbe, username: str, password: str = CANARY_PASSWORD, *extra: str, actor: str = ADMIN):  # type: ignore[no-untyped-def]
    return cli("-vv", "--log-level", "DEBUG", "user", "add", username, "--password-stdin", "--as", actor, *extra,
               input=password + "\n")


def login(state_dir: Path, username: str, password: str) -> str:
    accounts = open_accounts(App(load_settings(state_dir=state_dir, accounts=FAST_ARGON2)))
    try:
        return accounts.authenticate_password(username, SecretStr(password)).user
    finally:
        accounts.close()


def test_add_reads_the_password_from_stdin_and_shows_it_nowhere(cli: Spbe, state_dir: Path, tmp_path: Path) -> None:
    added = add(cli, "andi")
    assert added.exit_code == 0, added.output
    assert "Account andi added (Andi Pratama)" in added.stdout
    assert login(state_dir, "andi", CANARY_PASSWORD) == "andi"  # the line break was not part of it
    with pytest.raises(AuthenticationError):
        login(state_dir, "andi", CANARY_PASSWORD + "\n")
    outputs = [added.output]
    for args in (("user", "list", "--as", ADMIN, "--json"), ("audit", "list"), ("config", "show")):
        result = cli("-vv", "--log-level", "DEBUG", *args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    again = add(cli, "andi")  # a conflict's error
    assert again.exit_code == 5
    outputs.append(again.output)
    assert all(CANARY_PASSWORD not in text for text in outputs)
    assert files_containing(CANARY_PASSWORD, tmp_path) == []
    listed = json.loads(cli("user", "list", "--as", ADMIN, "--json").stdout)
    assert [(r["username"], r["name"], r["status"]) for r in listed] == [("andi", "Andi Pratama", "active")]


def test_without_a_terminal_the_password_must_come_with_password_stdin(cli: Spbe, state_dir: Path) -> None:
    result = cli("user", "add", "andi", "--as", ADMIN, input=CANARY_PASSWORD + "\n")
    assert result.exit_code == 2 and "--password-stdin" in result.stderr
    empty = cli("user", "add", "andi", "--password-stdin", "--as", ADMIN, input="")
    assert empty.exit_code == 2 and "no password" in empty.stderr
    assert json.loads(cli("user", "list", "--as", ADMIN, "--json").stdout) == []


@pytest.mark.parametrize("weak", ["short", "Password2024!", "andi-andi-andi", "1234567890123"])
def test_a_weak_password_is_refused_and_no_account_made(cli: Spbe, weak: str) -> None:
    result = add(cli, "andi", weak)
    assert result.exit_code == 2 and "password must" in result.stderr and weak not in result.output
    assert json.loads(cli("user", "list", "--as", ADMIN, "--json").stdout) == []


@pytest.mark.parametrize("username", [u for u in HOSTILE if u and "\x00" not in u])
def test_a_hostile_username_is_refused_with_exit_2(cli: Spbe, username: str) -> None:
    result = cli("--json-errors", "user", "add", "--password-stdin", "--as", ADMIN, "--", username,
                 input=CANARY_PASSWORD + "\n")  # after --, so '-rf' reaches the check, not click's option parser
    error = json.loads(result.stderr)
    assert result.exit_code == 2 and error["error"] == "InvalidInputError" and USERNAME_RULE in error["message"]
    assert json.loads(cli("user", "list", "--as", ADMIN, "--json").stdout) == []


def test_only_an_administrator_manages_accounts(cli: Spbe) -> None:
    assert add(cli, "budi", actor="andi").exit_code == 4
    assert add(cli, "andi").exit_code == 0
    for args in (("list",), ("disable", "andi"), ("unlock", "andi")):
        refused = cli("user", *args, "--as", "budi")
        assert refused.exit_code == 4 and "administer local accounts" in refused.stderr, refused.output
    entries = json.loads(cli("audit", "list", "--json").stdout)
    refusals = [e for e in entries if e["action"] == "account.refused"]
    assert [(e["actor"], e["data"]["auth"]) for e in refusals] == [("andi", "lab-as")] + [("budi", "lab-as")] * 3


def test_disable_enable_unlock_and_passwd(cli: Spbe, state_dir: Path) -> None:
    assert add(cli, "andi").exit_code == 0
    app = App(load_settings(state_dir=state_dir, accounts=FAST_ARGON2))
    accounts = open_accounts(app)
    try:
        for _ in range(app.settings.accounts.lockout_threshold):
            with pytest.raises(AuthenticationError):
                accounts.authenticate_password("andi", "not the right one")
    finally:
        accounts.close()
    listed = cli("user", "list", "--as", ADMIN, env={"COLUMNS": "80"})
    assert "andi" in listed.stdout and "locked" in listed.stdout  # never cut, even at 80 columns
    with pytest.raises(AuthenticationError):
        login(state_dir, "andi", CANARY_PASSWORD)
    unlocked = cli("user", "unlock", "andi", "--as", ADMIN, "--json")
    assert unlocked.exit_code == 0 and json.loads(unlocked.stdout)["changed"] is True
    assert login(state_dir, "andi", CANARY_PASSWORD) == "andi"
    assert json.loads(cli("user", "disable", "andi", "--as", ADMIN, "--json").stdout)["changed"] is True
    assert "already disabled" in cli("user", "disable", "andi", "--as", ADMIN).stdout
    with pytest.raises(AuthenticationError):
        login(state_dir, "andi", CANARY_PASSWORD)
    assert cli("user", "enable", "andi", "--as", ADMIN).exit_code == 0
    changed = cli("user", "passwd", "andi", "--password-stdin", "--as", "andi", input="my second passphrase\n")
    assert changed.exit_code == 0 and "my second passphrase" not in changed.output
    assert login(state_dir, "andi", "my second passphrase") == "andi"
    actions = [(e["action"], e["actor"], e["data"]["auth"]) for e in json.loads(cli("audit", "list", "--json").stdout)
               if e["action"].startswith("account.")]
    assert actions == [("account.add", ADMIN, "lab-as"), ("account.lock", "spbe", "engine"),
                       ("account.unlock", ADMIN, "lab-as"), ("account.disable", ADMIN, "lab-as"),
                       ("account.enable", ADMIN, "lab-as"), ("account.passwd", "andi", "lab-as")]
