"""An accounts layer on the test's own state directory: real SQLite, real argon2id (at the lowest cost the
settings allow, OWASP's floor, so the suite stays quick), the packaged roles file as the directory, and a
clock the test moves instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.support.clock import ManualClock
from tests.support.principals import as_lab
from toolkit.accounts.service import Accounts, open_accounts
from toolkit.bootstrap import App
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.settings import load_settings

FAST_ARGON2 = {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}
CANARY_PASSWORD = "CANARY-pw-9d41f7e2b86c"  # noqa: S105 - searched for in every byte spbe leaves
APPLICANT = "andi"  # people of inventory/roles.yml (tests may name them; the product may not)
OTHER_APPLICANT = "budi"


def admin_user(app: App) -> str:
    """The first person of the directory whose role has the administers-accounts trait."""
    roles = app.catalog.roles.with_trait(RoleTrait.ADMINISTERS_ACCOUNTS)
    return min(p.username for role in roles for p in app.directory.people_with_role(role))


def open_app(state_dir: Path, clock: ManualClock, **accounts: int) -> App:
    return App(load_settings(state_dir=state_dir, accounts={**FAST_ARGON2, **accounts}), clock=clock)


@pytest.fixture
def app(state_dir: Path, clock: ManualClock) -> App:
    return open_app(state_dir, clock)


@pytest.fixture
def accounts(app: App) -> Iterator[Accounts]:
    opened = open_accounts(app)
    yield opened
    opened.close()


@pytest.fixture
def admin(app: App) -> str:
    return admin_user(app)


@pytest.fixture
def with_account(accounts: Accounts, admin: str) -> str:
    """``andi`` holds an account whose password is the canary."""
    accounts.admin.add(as_lab(admin), APPLICANT, SecretStr(CANARY_PASSWORD))
    return APPLICANT


def every_byte(*roots: Path) -> Iterator[tuple[Path, bytes]]:
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                yield path, path.read_bytes()


def files_containing(needle: str, *roots: Path) -> list[str]:
    return [str(path) for path, data in every_byte(*roots) if needle.encode() in data]
