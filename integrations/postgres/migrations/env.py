"""Alembic's environment: run on the connection `integrations.postgres.migrate.migrate` hands over.

The DSN never goes through Alembic's config (an ini value, a URL that would be logged): the caller opens
the connection and passes it in ``config.attributes``. A transaction-scoped advisory lock is taken before
Alembic reads the current revision, so two hosts starting at once upgrade one after the other (the second
finds the schema at head and does nothing).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

MIGRATION_LOCK = 0x5BBE_0019  # pg_advisory_xact_lock key of schema upgrades (any constant, shared by all hosts)

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` run by hand without the toolkit: say how instead of guessing a URL
    raise RuntimeError("run the migrations with `spbe store migrate-schema` (integrations.postgres.migrate)")

context.configure(connection=connection, target_metadata=None, transactional_ddl=True,
                  transaction_per_migration=False)
with context.begin_transaction():
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.run_migrations()
