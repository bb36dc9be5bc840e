"""Shared fixtures: a fresh state directory per test, and the real lab started once per session."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Spbe
from tests.support.clock import ManualClock
from toolkit.audit.keys import generate_key
from toolkit.bootstrap import App
from toolkit.settings import Settings, load_settings


def _bytecode_outside_the_tree() -> None:
    """Under PYTHONDONTWRITEBYTECODE (set to keep ``__pycache__`` out of a checkout) every test process
    compiled the project from source and pytest rewrote the asserts of ~500 test modules again: 8 of a
    worker's 15 CPU-s of collection, and again in every `spbe` subprocess. The bytecode goes to a cache
    directory of this user's outside the tree instead (PYTHONPYCACHEPREFIX, inherited by subprocesses),
    which keeps the checkout as clean. A directory in a shared /tmp that is not ours is not used."""
    if not sys.dont_write_bytecode or sys.pycache_prefix:
        return
    cache = Path(tempfile.gettempdir()) / f"spbe-test-pycache-{os.getuid()}"
    try:
        cache.mkdir(mode=0o700, exist_ok=True)
        info = cache.lstat()
    except OSError:
        return
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return
    sys.pycache_prefix = str(cache)
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


_bytecode_outside_the_tree()  # before the test modules are imported (their rewritten asserts are cached too)

# The test suite is a lab: the CLI tests act with --as. Tests of the production rule set it themselves.
os.environ.setdefault("SPBE_DEPLOYMENT", "lab")

FIXTURE_PLUGINS = [
    "tests.fixtures.lab",  # `lab`, `lab_manager`: the namespaced lab, once per session
    "tests.fixtures.browser",  # `browser`, `page`, `screenshot`: Debian's headless Chromium through Playwright
    "tests.fixtures.oidc",  # `oidc_provider`: a real OpenID Connect provider on loopback
    "tests.fixtures.redmine",  # `redmine`: a private, provisioned Redmine 5 on loopback, once per session
]
# smtp_sink first: the OIDC fixture imports its free_port, and a plugin imported before it is registered
# escapes pytest's assertion rewriting (PytestAssertRewriteWarning, an error here).
pytest_plugins = [
    "tests.support.smtp_sink",  # the `smtp` fixture: a real aiosmtpd sink on loopback
    "tests.support.postgres",  # `postgres_cluster` (once per session and worker), `pg_dsn`: a fresh database each
] + (FIXTURE_PLUGINS if importlib.util.find_spec("tests.fixtures") else [])

REPO = Path(__file__).resolve().parent.parent
TEST_CATALOG = REPO / "tests" / "support" / "catalog"
TEST_ACTIONS = ("tests.support.actions:COUNTER", "tests.support.actions:COUNTER_ONCE", "tests.support.actions:NOOP")


@pytest.fixture(scope="session")
def session_audit_key() -> str:
    """One per session, not per test: a module-scoped installation (tests/e2e) outlives its tests, and
    its log refuses appends under any key but the one it was started with."""
    return generate_key()


@pytest.fixture(autouse=True)
def audit_key(session_audit_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test's audit log is keyed, as in production (there is no unkeyed fallback): the key in
    SPBE_AUDIT_KEY (subprocesses inherit it) and a checkpoint file outside the state directory."""
    monkeypatch.setenv("SPBE_AUDIT_KEY", session_audit_key)
    monkeypatch.setenv("SPBE_AUDIT__CHECKPOINT_FILE", str(tmp_path / "audit-checkpoints" / "checkpoints.jsonl"))
    return session_audit_key


@pytest.fixture(scope="session")
def session_vault_key() -> str:
    """One per session, like the audit key: a module-scoped installation's attachments outlive a test."""
    from toolkit.vault import generate_key as vault_keygen

    return vault_keygen()


@pytest.fixture(autouse=True)
def vault_key(session_vault_key: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Attachments and evidence are encrypted at rest with settings.vault.key (`toolkit.at_rest`), as in
    production (no unencrypted fallback): every test has the key in SPBE_VAULT_KEY, subprocesses inherit it.
    Tests of a missing key delete it themselves."""
    monkeypatch.setenv("SPBE_VAULT_KEY", session_vault_key)
    return session_vault_key


@pytest.fixture(autouse=True)
def no_stored_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `spbe login` of whoever runs the tests (~/.config/spbe/credentials) or their SPBE_SERVER would
    send the CLI tests' commands to that server: every test gets an empty config home of its own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("SPBE_SERVER", raising=False)


# The fixtures that bring up the namespaced lab (root, debootstrap, sshd): a test using one, directly or through
# another fixture, is a lab test and must say so, or `-m "not lab"` (scripts/test.sh --fast) would start the lab.
LAB_FIXTURES = frozenset({"lab", "lab_manager"})
# A test that drives the real browser (Chromium through playwright's ``page``) is slow: the full suite runs it,
# the fast tier (scripts/test.sh --fast, -m "not lab and not slow") does not.
BROWSER_FIXTURES = frozenset({"page"})
# A test on the real Redmine (tests/fixtures/redmine.py) is marked `redmine` (so `-m redmine` picks the adapter's
# peer tests) and is slow: the fast tier never starts it.
REDMINE_FIXTURES = frozenset({"redmine", "redmine_server"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: the marker added here must count
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if (BROWSER_FIXTURES | REDMINE_FIXTURES) & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    unmarked_redmine = sorted(item.nodeid for item in items
                              if REDMINE_FIXTURES & set(getattr(item, "fixturenames", ()))
                              and item.get_closest_marker("redmine") is None)
    if unmarked_redmine:
        raise pytest.UsageError("these tests use Redmine but are not marked @pytest.mark.redmine:\n  "
                                + "\n  ".join(unmarked_redmine))
    unmarked = sorted(item.nodeid for item in items if LAB_FIXTURES & set(getattr(item, "fixturenames", ()))
                      and item.get_closest_marker("lab") is None)
    if unmarked:
        raise pytest.UsageError("these tests use the lab but are not marked @pytest.mark.lab:\n  "
                                + "\n  ".join(unmarked))


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def spbe(state_dir: Path) -> Spbe:
    """`spbe` in-process on this test's state directory (tests/support/cli.py): ``spbe("ticket", "list")``."""
    return Spbe(state_dir=state_dir)


@pytest.fixture
def engine_settings(state_dir: Path) -> Settings:
    """Settings for the engine tests: the test catalog with counting actions, short leases."""
    return load_settings(
        state_dir=state_dir, catalog_dir=TEST_CATALOG, extra_actions=TEST_ACTIONS,
        workers={"lease_seconds": 1.0, "poll_interval": 0.02, "outbox_retry_base": 0.01, "outbox_retry_max": 0.05,
                 "warm_inventory": False},  # the test catalog's actions use no inventory
    )


@pytest.fixture
def engine_app(engine_settings: Settings) -> Iterator[App]:
    app = App(engine_settings)
    yield app
    app.close()  # the stores it opened, as the CLI closes them when a command ends


@pytest.fixture
def clock() -> ManualClock:
    """Time that passes only when the test says so (see tests/support/clock.py)."""
    return ManualClock()


@pytest.fixture
def clocked_app(engine_settings: Settings, clock: ManualClock) -> Iterator[App]:
    """`engine_app` whose queue, outbox and deadlines read ``clock``: a test moves it past a lease or a retry."""
    app = App(engine_settings, clock=clock)
    yield app
    app.close()


def engine_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a `spbe` subprocess that sees the same settings as `engine_settings`."""
    env = dict(os.environ)
    env.update({
        "SPBE_STATE_DIR": str(state_dir),
        "SPBE_CATALOG_DIR": str(TEST_CATALOG),
        "SPBE_EXTRA_ACTIONS": '["' + '","'.join(TEST_ACTIONS) + '"]',
        "SPBE_WORKERS__LEASE_SECONDS": "1.0",
        "SPBE_WORKERS__POLL_INTERVAL": "0.02",
        "SPBE_WORKERS__WARM_INVENTORY": "false",  # the test catalog's actions use no inventory
        "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    })
    env.update(extra)
    return env


def spbe_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "toolkit.cli.main", *args]


CANARY_BACKUP_PASSWORD = "CANARY-b4ckup-7f3e91d2c0a8"  # noqa: S105 - a canary, searched for in every output


@pytest.fixture
def lab_settings(state_dir: Path, lab, monkeypatch: pytest.MonkeyPatch) -> Settings:  # type: ignore[no-untyped-def]
    """Settings for end-to-end runs on the real catalog and the running lab. The backup password
    is a canary: the tests look for it everywhere it must never appear."""
    from tests.fixtures.lab import settings_for

    monkeypatch.setenv("SPBE_BACKUP_PASSWORD", CANARY_BACKUP_PASSWORD)
    return settings_for(lab, state_dir=state_dir)
