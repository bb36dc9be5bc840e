"""The PostgreSQL state stores' one transaction discipline, the server twin of `toolkit.sqlite_tx`.

Every store method is one transaction on a connection borrowed from the process's pool
(`integrations.postgres.pool.Database`, thread-safe: the engine's worker threads share it) and given back
at once. Where the SQLite store writes under ``BEGIN IMMEDIATE`` (read what is taken, choose, insert, and
no other writer in between), ``_tx(exclusive=TABLE)`` takes ``LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE``
first: it conflicts with itself and with every INSERT/UPDATE/DELETE of the table, so two `spbe serve`
processes on two hosts allocate one after the other, while plain reads go on. Single-row claims use the
row itself (``INSERT ... ON CONFLICT``, ``UPDATE ... RETURNING``, ``SELECT ... FOR UPDATE``) and take no
table lock. The unique constraints of revision 0002_state stay underneath as the last word.

A server that cannot be reached (connection refused, the pool exhausted past its timeout, a deadlock or a
serialisation failure the server resolved by aborting us) is an `UnavailableError` naming the store, its
text scrubbed of the DSN (`Database.errors`): the engine's "retry later", as for a locked SQLite file. A
database without the tables (never migrated) is a `ConfigurationError` naming ``spbe store migrate-schema``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from psycopg.rows import DictRow, dict_row

from integrations.postgres.pool import Database
from toolkit.errors import ConfigurationError

Cursor = psycopg.Cursor[DictRow]


def utc(value: datetime) -> datetime:
    """A timestamptz read back, in UTC (the session's TimeZone is the server's choice, not ours)."""
    return value.astimezone(UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


class PgStore:
    """One store on the shared `Database`; subclasses write their SQL with ``%s`` placeholders."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def _tx(self, *, exclusive: str | None = None) -> Iterator[Cursor]:
        """One transaction; ``exclusive``: a table locked against every other writer for its length."""
        try:
            with self.db.transaction() as conn, conn.cursor(row_factory=dict_row) as cur:
                if exclusive is not None:
                    cur.execute(f"LOCK TABLE {exclusive} IN SHARE ROW EXCLUSIVE MODE")
                yield cur
        except psycopg.errors.UndefinedTable:
            raise not_migrated() from None


def not_migrated() -> ConfigurationError:
    return ConfigurationError("the PostgreSQL database has no state tables (schema revision 0002_state); "
                              "run 'spbe store migrate-schema' first", setting="state")
