"""`spbe store migrate-schema`: the configured PostgreSQL database brought to the head revision, repeatably,
the DSN's password in no output; without a PostgreSQL store configured, a configuration error (exit 8)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from integrations.postgres.migrate import current_revision, head_revision
from tests.support.cli import Spbe
from tests.support.postgres import PostgresCluster


@pytest.fixture
def empty_dsn(postgres_cluster: PostgresCluster) -> Iterator[str]:
    with psycopg.connect(postgres_cluster.dsn(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS cli_empty WITH (FORCE)")
        conn.execute("CREATE DATABASE cli_empty")
    yield postgres_cluster.dsn("cli_empty")
    postgres_cluster.drop_database("cli_empty")


def test_migrate_schema_brings_the_queue_database_to_head(empty_dsn: str, tmp_path: Path,
                                                            postgres_cluster: PostgresCluster) -> None:
    spbe = Spbe(state_dir=tmp_path / "state", env={"SPBE_QUEUE__KIND": "postgres", "SPBE_PG": empty_dsn,
                                                  "SPBE_SECRETS__POSTGRES_DSN__REF": "env:SPBE_PG"})
    first = spbe("store", "migrate-schema")
    assert first.exit_code == 0, first.output
    assert f"queue: schema at revision {head_revision()}" in first.output
    assert current_revision(empty_dsn) == head_revision()
    again = spbe.json("store", "migrate-schema")
    assert again == {"revisions": {"queue": head_revision()}}
    assert postgres_cluster.password not in first.output + json.dumps(again)


def test_migrate_schema_without_a_postgres_store_says_so(tmp_path: Path) -> None:
    result = Spbe(state_dir=tmp_path / "state")("store", "migrate-schema", catch_exceptions=True)
    assert result.exit_code == 8 and "kind 'postgres'" in result.output
