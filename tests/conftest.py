"""Shared fixtures: a fresh state directory per test, and the real lab started once per session."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from toolkit.engine.app import App
from toolkit.settings import Settings, load_settings

# The test suite is a lab: the CLI tests act with --as. Tests of the production rule set it themselves.
os.environ.setdefault("SPBE_DEPLOYMENT", "lab")

pytest_plugins = ["tests.fixtures.lab"] if importlib.util.find_spec("tests.fixtures") else []

REPO = Path(__file__).resolve().parent.parent
TEST_CATALOG = REPO / "tests" / "support" / "catalog"
TEST_ACTIONS = ("tests.support.actions:COUNTER", "tests.support.actions:COUNTER_ONCE", "tests.support.actions:NOOP")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def engine_settings(state_dir: Path) -> Settings:
    """Settings for the engine tests: the test catalog with counting actions, short leases."""
    return load_settings(
        state_dir=state_dir, catalog_dir=TEST_CATALOG, extra_actions=TEST_ACTIONS,
        workers={"lease_seconds": 1.0, "poll_interval": 0.02, "outbox_retry_base": 0.01, "outbox_retry_max": 0.05},
    )


@pytest.fixture
def engine_app(engine_settings: Settings) -> App:
    return App(engine_settings)


def engine_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a `spbe` subprocess that sees the same settings as `engine_settings`."""
    env = dict(os.environ)
    env.update({
        "SPBE_STATE_DIR": str(state_dir),
        "SPBE_CATALOG_DIR": str(TEST_CATALOG),
        "SPBE_EXTRA_ACTIONS": '["' + '","'.join(TEST_ACTIONS) + '"]',
        "SPBE_WORKERS__LEASE_SECONDS": "1.0",
        "SPBE_WORKERS__POLL_INTERVAL": "0.02",
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
