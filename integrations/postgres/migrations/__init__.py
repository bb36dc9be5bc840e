"""Alembic's script directory of the PostgreSQL schema (env.py, versions/); run by `integrations.postgres.migrate`."""
