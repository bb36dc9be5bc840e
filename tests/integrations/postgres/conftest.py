"""The engine's own tests, run again with the job queue on PostgreSQL: ``engine_settings`` (tests/conftest.py)
overridden to select ``queue.kind = "postgres"`` on the test's fresh database. The selection is made through
the environment, so a ``spbe serve`` the test starts (`tests.conftest.engine_env` copies the environment)
uses the same database."""

from __future__ import annotations

import pytest

from toolkit.settings import Settings


@pytest.fixture
def queue_on_postgres(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SPBE_TEST_PG_DSN", pg_dsn)
    monkeypatch.setenv("SPBE_QUEUE__KIND", "postgres")
    monkeypatch.setenv("SPBE_SECRETS__POSTGRES_DSN__REF", "env:SPBE_TEST_PG_DSN")
    return pg_dsn


@pytest.fixture
def engine_settings(queue_on_postgres: str, engine_settings: Settings) -> Settings:
    assert engine_settings.queue.kind == "postgres"
    return engine_settings
