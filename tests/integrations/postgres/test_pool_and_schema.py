"""The PostgreSQL infrastructure: the schema migrated by Alembic (twice, from two threads at once: once), one
pool per process and database shared by its adapters and closed with the last, and the DSN's password never in
a repr or an error."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from integrations.postgres.migrate import current_revision, head_revision, migrate
from integrations.postgres.pool import database_from_settings, open_database, scrub
from tests.support.postgres import PostgresCluster
from toolkit.errors import ConfigurationError, UnavailableError
from toolkit.secret_types import SecretRef
from toolkit.settings import Settings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def empty_database(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A database never migrated (not from the template)."""
    name = f"empty_{threading.get_ident() % 100000}"
    with psycopg.connect(postgres_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_cluster.dsn(name)
    postgres_cluster.drop_database(name)


def test_the_schema_is_migrated_to_head_once_even_from_two_hosts_at_once(empty_database: str) -> None:
    """Two processes (two hosts starting together) and two threads: each ends at head, none fails."""
    assert current_revision(empty_database) is None
    code = "import sys; from integrations.postgres.migrate import migrate; print(migrate(sys.stdin.read()))"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)}) for _ in range(2)]
    done: list[str] = []
    threads = [threading.Thread(target=lambda: done.append(migrate(empty_database))) for _ in range(2)]
    for t in threads:
        t.start()
    outputs = [proc.communicate(empty_database, timeout=60)[0].strip() for proc in procs]
    for t in threads:
        t.join()
    assert outputs == [head_revision()] * 2 and done == [head_revision()] * 2
    assert migrate(empty_database) == head_revision()  # again: nothing to do
    with psycopg.connect(empty_database) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    assert {"jobs", "job_logs", "outbox", "queue_cursors"} <= tables


def test_the_first_revision_is_the_job_queue() -> None:
    assert head_revision() >= "0001_jobs"


def test_adapters_of_a_process_share_one_pool_closed_with_the_last(pg_dsn: str) -> None:
    first = open_database(SecretStr(pg_dsn), "job queue")
    second = open_database(SecretStr(pg_dsn), "state store")
    assert first.pool is second.pool
    with first.transaction() as conn:
        conn.execute("INSERT INTO queue_cursors (name, value) VALUES ('c', 1)")
    with second.connection() as conn:
        assert conn.execute("SELECT value FROM queue_cursors").fetchall() == [(1,)]
    pool = first.pool
    first.close()
    open_after_first = not pool.closed
    second.close()
    assert open_after_first and pool.closed
    with pytest.raises(UnavailableError), first.connection():
        pass  # a closed handle refuses, it does not reopen


def test_the_dsn_comes_from_a_secret_and_its_password_never_shows(postgres_cluster: PostgresCluster,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = postgres_cluster.dsn().replace(postgres_cluster.password, "Canary-Pw-7f3a91")
    monkeypatch.setenv("SPBE_TEST_PG_WRONG", wrong)
    settings = Settings(secrets={"postgres_dsn": SecretRef(ref="env:SPBE_TEST_PG_WRONG")})
    db = database_from_settings(settings, "job queue", connect_timeout_s=2)
    try:
        assert "Canary" not in repr(db)
        with pytest.raises(UnavailableError) as caught, db.connection() as conn:
            conn.execute("SELECT 1")
        assert "Canary" not in str(caught.value) and "job queue unavailable" in str(caught.value)
    finally:
        db.close()
    with pytest.raises(UnavailableError) as failed:
        migrate(wrong)
    assert "Canary" not in str(failed.value)


def test_a_dsn_that_does_not_parse_is_a_configuration_error_that_does_not_quote_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_TEST_PG_BAD", "host=x password='Canary-Pw-unclosed")
    settings = Settings(secrets={"postgres_dsn": SecretRef(ref="env:SPBE_TEST_PG_BAD")})
    with pytest.raises(ConfigurationError) as caught:
        database_from_settings(settings, "job queue")
    assert "Canary" not in str(caught.value)


def test_scrub_removes_the_dsn_and_its_password() -> None:
    dsn = SecretStr("postgresql://spbe:Canary-Pw-1@db.example:5432/spbe")
    text = scrub("failed for postgresql://spbe:Canary-Pw-1@db.example:5432/spbe and Canary-Pw-1", dsn)
    assert "Canary" not in text
