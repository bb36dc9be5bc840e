"""The secrets vault's table in PostgreSQL (`toolkit.vault.VaultTables`), for ``state.kind = "postgres"``.

The vault's logic (AES-GCM, reveal once, the audit entries) stays `toolkit.vault.SecretVault`'s; this is only
where its ``secrets`` table lives. The columns are SQLite's (``bytea`` for the ciphertext and nonce, the
instants as the same ISO text the vault writes and parses), so the vault reads a row the same from both.

Each transaction first takes ``LOCK TABLE secrets IN SHARE ROW EXCLUSIVE MODE``, the server's twin of the
SQLite vault's ``BEGIN IMMEDIATE``: a ``put`` (read, compare, replace) and a ``reveal`` (check, decrypt,
claim) of two processes on two hosts run one after the other, so two puts of one (ticket, name) never both
insert and two reveals never both succeed (the reveal's ``UPDATE ... WHERE revealed_at IS NULL`` would
refuse the second anyway). Vault traffic is a few rows per SPLP ticket: the lock costs nothing measurable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row

from integrations.postgres.pool import Database
from integrations.state.postgres_tx import not_migrated


class _Qmark:
    """The vault's ``?`` placeholders as psycopg's ``%s`` (its SQL holds no other ``?``)."""

    def __init__(self, cur: psycopg.Cursor[DictRow]) -> None:
        self._cur = cur

    def execute(self, sql: str, parameters: tuple[Any, ...], /) -> psycopg.Cursor[DictRow]:
        return self._cur.execute(sql.replace("?", "%s"), parameters)


class PgVaultTables:
    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def transaction(self) -> Iterator[_Qmark]:
        try:
            with self.db.transaction() as conn, conn.cursor(row_factory=dict_row) as cur:
                cur.execute("LOCK TABLE secrets IN SHARE ROW EXCLUSIVE MODE")
                yield _Qmark(cur)
        except psycopg.errors.UndefinedTable:
            raise not_migrated() from None

    def close(self) -> None:
        """The `Database` is the state store's, closed with it."""
