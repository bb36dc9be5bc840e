"""Every store on PostgreSQL for the engine tests collected here: ``engine_settings`` (tests/conftest.py)
overridden through the environment (so a ``spbe serve`` a test starts uses the same database) to put the
ticket desk, the job queue, the state stores and the audit chain on the test's fresh database."""

from __future__ import annotations

import pytest

from toolkit.settings import Settings


@pytest.fixture
def all_on_postgres(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SPBE_TEST_PG_DSN", pg_dsn)
    monkeypatch.setenv("SPBE_SECRETS__POSTGRES_DSN__REF", "env:SPBE_TEST_PG_DSN")
    for store in ("TICKETS", "QUEUE", "STATE", "AUDIT"):
        monkeypatch.setenv(f"SPBE_{store}__KIND", "postgres")
    return pg_dsn


@pytest.fixture
def engine_settings(all_on_postgres: str, engine_settings: Settings) -> Settings:
    assert (engine_settings.tickets.kind, engine_settings.queue.kind) == ("postgres", "postgres")
    return engine_settings
