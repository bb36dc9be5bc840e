"""PostgreSQL as the shared store of a scale-out installation (issue 19): one connection pool per process
(`pool`), the schema under Alembic (`migrations`, `migrate`), and the options every PostgreSQL adapter takes.

The embedded SQLite stores stay the default; an installation selects ``queue.kind = "postgres"`` (and the
state stores' kind) when several hosts must share the state. The DSN is a secret: settings name it
(``dsn_secret``, an entry of ``settings.secrets``), and it never appears in a repr, a log line or an error.
"""
