"""One psycopg connection pool per process and database, shared by every PostgreSQL adapter of the process.

The queue, the state stores and the ticket store of one `App` talk to one database: they share one pool
(keyed by the DSN, never by its text in clear: a digest), each adapter holding a reference that its
``close`` gives back, so the composition root's `App.close` closes the pool with the last adapter. A
process forked with a pool gets its own (a libpq connection must not cross a fork).

Connections are in autocommit; a unit of work is ``with db.transaction() as conn`` (one transaction, the
connection back in the pool after it). Errors of the database or of the network become `UnavailableError`
with the DSN's password and the DSN itself scrubbed from the text, so a caller can log them.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolTimeout
from pydantic import Field, SecretStr

from toolkit.adapter_options import AdapterOptions
from toolkit.errors import ConfigurationError, UnavailableError
from toolkit.masking import MASK
from toolkit.secret_types import SecretName
from toolkit.settings import Settings


class PostgresOptions(AdapterOptions):
    """The options every PostgreSQL adapter takes (``queue.options``, ``state.options``)."""

    dsn_secret: SecretName = Field(default="postgres_dsn",
                                   description="name of the settings.secrets entry holding the libpq DSN")
    pool_min: int = Field(default=1, ge=0, le=100, description="connections kept open per process")
    pool_max: int = Field(default=10, ge=1, le=200, description="connections at most per process")
    connect_timeout_s: float = Field(default=10.0, gt=0, le=300,
                                     description="how long to wait for a connection before the store is unavailable")


def resolve_dsn(settings: Settings, dsn_secret: str) -> SecretStr:
    """The DSN named by ``dsn_secret`` (a `SecretStr`), checked to parse; the message never quotes it."""
    dsn = settings.secret(dsn_secret)
    try:
        conninfo.conninfo_to_dict(dsn.get_secret_value())
    except psycopg.ProgrammingError:
        raise ConfigurationError(f"secret '{dsn_secret}' is not a valid PostgreSQL DSN", name=dsn_secret) from None
    return dsn


def scrub(text: str, dsn: SecretStr) -> str:
    """``text`` without the DSN or its password (a libpq message can quote the connection string)."""
    value = dsn.get_secret_value()
    secrets = [value]
    try:
        password = conninfo.conninfo_to_dict(value).get("password")
    except psycopg.ProgrammingError:
        password = None
    if password:
        secrets.append(str(password))
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


@dataclass
class _Shared:
    pool: ConnectionPool
    refs: int = 0


_POOLS: dict[tuple[int, str, int, int], _Shared] = {}
_POOLS_LOCK = threading.Lock()


@dataclass(eq=False)
class Database:
    """An adapter's handle on the process's pool for one database. ``close`` gives the reference back."""

    dsn: SecretStr = field(repr=False)
    what: str  # "job queue", "state store": the subject of an UnavailableError
    _key: tuple[int, str, int, int] = field(repr=False)
    _pool: ConnectionPool | None = field(default=None, repr=False)
    timeout_s: float = 10.0

    def __repr__(self) -> str:  # the dataclass one would be fine; this one states that nothing secret is shown
        return f"Database({self.what!r}, pool {self._key[1][:12]})"

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            raise UnavailableError(f"{self.what} is closed")
        return self._pool

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Database and network failures as `UnavailableError`, scrubbed of the DSN."""
        try:
            yield
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            raise UnavailableError(f"{self.what} unavailable: {scrub(str(exc), self.dsn)}") from None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection in autocommit for reads (each statement its own snapshot)."""
        with self.errors(), self.pool.connection(timeout=self.timeout_s) as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self.errors(), self.pool.connection(timeout=self.timeout_s) as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        if self._pool is None:
            return
        self._pool = None
        with _POOLS_LOCK:
            shared = _POOLS.get(self._key)
            if shared is None:
                return
            shared.refs -= 1
            if shared.refs > 0:
                return
            del _POOLS[self._key]
        shared.pool.close()


def open_database(dsn: SecretStr, what: str, *, pool_min: int = 1, pool_max: int = 10,
                  connect_timeout_s: float = 10.0) -> Database:
    """A reference to this process's pool for ``dsn`` (opened now if it is the first). The pool connects in
    the background: an unreachable database shows as `UnavailableError` at the first use, not here."""
    digest = hashlib.sha256(dsn.get_secret_value().encode()).hexdigest()
    key = (os.getpid(), digest, pool_min, max(pool_min, pool_max))
    with _POOLS_LOCK:
        shared = _POOLS.get(key)
        if shared is None:
            pool = ConnectionPool(
                dsn.get_secret_value(), min_size=pool_min, max_size=max(pool_min, pool_max), open=True,
                name=f"spbe-{digest[:12]}", timeout=connect_timeout_s,
                kwargs={"autocommit": True, "application_name": "spbe", "options": "-c timezone=UTC",
                        "connect_timeout": max(1, int(connect_timeout_s))})
            shared = _POOLS[key] = _Shared(pool)
        shared.refs += 1
    return Database(dsn=dsn, what=what, _key=key, _pool=shared.pool, timeout_s=connect_timeout_s)


def database_from_settings(settings: Settings, what: str, *, dsn_secret: str = "postgres_dsn",  # noqa: S107 - a name
                           pool_min: int = 1, pool_max: int = 10, connect_timeout_s: float = 10.0) -> Database:
    """`open_database` for an adapter built from settings (its `PostgresOptions` as keyword arguments)."""
    return open_database(resolve_dsn(settings, dsn_secret), what, pool_min=pool_min, pool_max=pool_max,
                         connect_timeout_s=connect_timeout_s)
