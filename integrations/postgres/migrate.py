"""Bring a PostgreSQL database to the schema's head revision with Alembic (``spbe store migrate-schema``).

Alembic gets a connection, not a URL: the DSN stays a `SecretStr` handed to psycopg, and SQLAlchemy only
wraps the connection psycopg made (``postgresql+psycopg://`` with a creator), so no URL with a password is
built, logged or put in an exception. Safe to run from several hosts at once (env.py's advisory lock) and
threads (a lock: Alembic's ``context`` is a module global).
"""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import SecretStr
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from integrations.postgres.pool import scrub
from toolkit.errors import UnavailableError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_IN_PROCESS = threading.Lock()  # Alembic's `context` is a module global: one migration at a time per process


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision this version of the toolkit knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _engine(dsn: SecretStr):  # type: ignore[no-untyped-def]  # sqlalchemy.Engine, generic over nothing useful
    return create_engine("postgresql+psycopg://", poolclass=NullPool,
                         creator=lambda: psycopg.connect(dsn.get_secret_value()))


def migrate(dsn: SecretStr | str, revision: str = "head") -> str:
    """Upgrade the database at ``dsn`` to ``revision`` (the newest by default); returns the revision it is at."""
    secret = dsn if isinstance(dsn, SecretStr) else SecretStr(dsn)
    config = _config()
    engine = _engine(secret)
    try:
        with _IN_PROCESS, engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return current_revision(secret) or ""
    except (DBAPIError, psycopg.Error) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        raise UnavailableError(f"schema migration failed: {scrub(str(cause), secret)}") from None
    finally:
        engine.dispose()


def current_revision(dsn: SecretStr | str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    secret = dsn if isinstance(dsn, SecretStr) else SecretStr(dsn)
    engine = _engine(secret)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except (DBAPIError, psycopg.Error) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        raise UnavailableError(f"database unavailable: {scrub(str(cause), secret)}") from None
    finally:
        engine.dispose()
