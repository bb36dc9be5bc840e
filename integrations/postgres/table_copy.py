"""Copying one SQLite table into its PostgreSQL twin, row for row (`spbe store migrate`, `state_migration`).

The PostgreSQL tables mirror the SQLite ones column for column (revisions 0001..0003); what differs is the
types. Each value is converted for its target column: SQLite's 0/1 into ``boolean``; an epoch number (the
queue keeps leases and due times as ``REAL``) into a UTC ``timestamptz``; the ISO text of an instant, JSON
text, CIDR text: cast by the server (``%s::<type>``), so a value it cannot read fails the whole migration
rather than being stored as something else. Identity columns keep their values (``OVERRIDING SYSTEM VALUE``)
and their sequences are moved past the highest copied value.

Nothing is dropped silently: a source column the target does not have, holding any non-null value, stops the
migration with an error naming it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from toolkit.errors import ConfigurationError

_BATCH = 500


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # format_type(): "text", "timestamp with time zone", "jsonb", "boolean", "cidr", "bigint", ...
    identity: str  # "" | "a" (always) | "d" (by default)


def target_columns(conn: psycopg.Connection[Any], table: str) -> list[Column]:
    rows = conn.execute("SELECT attname, format_type(atttypid, atttypmod), attidentity FROM pg_attribute "
                        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                        (table,)).fetchall()
    return [Column(str(r[0]), str(r[1]), str(r[2] or "")) for r in rows]


def source_tables(db: sqlite3.Connection) -> list[str]:
    return [str(r[0]) for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def source_columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [str(r[1]) for r in db.execute(f"PRAGMA table_info({_quote(table)})")]


def _quote(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ConfigurationError(f"unexpected table or column name {name!r} in the SQLite state")
    return f'"{name}"'


def _converter(column: Column) -> Callable[[Any], Any]:
    if column.type == "boolean":
        return lambda v: None if v is None else bool(v)
    if column.type == "timestamp with time zone":
        return lambda v: datetime.fromtimestamp(v, UTC) if isinstance(v, int | float) else v
    if column.type == "bytea":
        return lambda v: None if v is None else bytes(v)
    return lambda v: v


def copy_table(src: sqlite3.Connection, dst: psycopg.Connection[Any], source: str, target: str) -> int:
    """Copy every row of ``source`` into ``target`` (inside the caller's transaction); returns how many."""
    wanted = {c.name: c for c in target_columns(dst, target)}
    have = source_columns(src, source)
    extra = [name for name in have if name not in wanted]
    for name in extra:
        found = src.execute(f"SELECT 1 FROM {_quote(source)} WHERE {_quote(name)} IS NOT NULL LIMIT 1").fetchone()  # noqa: S608
        if found is not None:
            raise ConfigurationError(f"column {source}.{name} of the SQLite state has no place in PostgreSQL "
                                     f"table {target}; nothing was migrated")
    columns = [wanted[name] for name in have if name in wanted]
    if not columns:
        return 0
    convert = [_converter(c) for c in columns]
    names = ", ".join(_quote(c.name) for c in columns)
    marks = ", ".join("%s" if c.type in ("text", "bytea", "boolean") else f"%s::{c.type}" for c in columns)
    overriding = " OVERRIDING SYSTEM VALUE" if any(c.identity == "a" for c in columns) else ""
    insert = f"INSERT INTO {_quote(target)} ({names}){overriding} VALUES ({marks})"  # noqa: S608
    order = "rowid" if _has_rowid(src, source) else "1"
    rows = src.execute(f"SELECT {names} FROM {_quote(source)} ORDER BY {order}")  # noqa: S608
    copied = 0
    with dst.cursor() as cur:
        while batch := rows.fetchmany(_BATCH):
            cur.executemany(insert, [tuple(f(v) for f, v in zip(convert, row, strict=True)) for row in batch])
            copied += len(batch)
    for column in columns:
        if column.identity:
            dst.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), "  # noqa: S608
                        f"COALESCE((SELECT MAX({_quote(column.name)}) FROM {_quote(target)}), 0) + 1, false)",
                        (target, column.name))
    return copied


def _has_rowid(db: sqlite3.Connection, table: str) -> bool:
    try:
        db.execute(f"SELECT rowid FROM {_quote(table)} LIMIT 1").fetchall()  # noqa: S608
    except sqlite3.OperationalError:
        return False  # a WITHOUT ROWID table
    return True


def count(db: sqlite3.Connection, table: str) -> int:
    (n,) = db.execute(f"SELECT COUNT(*) FROM {_quote(table)}").fetchone()  # noqa: S608
    return int(n)
