"""The ticket store on PostgreSQL selected through the environment (``SPBE_TICKETS__KIND``), so a child process
building its own `App` from `load_settings` finds the same fresh database."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.settings import Settings, load_settings


@pytest.fixture
def tickets_env(pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SPBE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SPBE_TEST_PG_DSN", pg_dsn)
    monkeypatch.setenv("SPBE_TICKETS__KIND", "postgres")
    monkeypatch.setenv("SPBE_SECRETS__POSTGRES_DSN__REF", "env:SPBE_TEST_PG_DSN")
    return load_settings()
