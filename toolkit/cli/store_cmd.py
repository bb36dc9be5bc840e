"""`spbe store ...`: the shared store of a scale-out installation (PostgreSQL).

``migrate-schema`` brings the database of every store configured with ``kind = "postgres"`` to the newest
schema revision (Alembic, through the adapter's ``migrate_schema``: the CLI imports no integration). It is
safe to repeat and to run from several hosts at once; run it before starting a new version of ``spbe serve``.
"""

from __future__ import annotations

import click

from toolkit.cli.render import emit_json, plain
from toolkit.errors import ConfigurationError

STORES = ("queue", "state", "tickets")  # the settings fields whose adapter may live in PostgreSQL


@click.group("store")
def store_group() -> None:
    """The shared store (PostgreSQL): its schema."""


@store_group.command("migrate-schema")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def store_migrate_schema(obj, as_json) -> None:  # type: ignore[no-untyped-def]
    """Bring the PostgreSQL stores' database to the newest schema; does nothing when it is there already."""
    app = obj.app
    revisions: dict[str, str] = {}
    for name in STORES:
        if getattr(app.settings, name).kind != "postgres":
            continue
        migrate = getattr(getattr(app, name), "migrate_schema", None)
        if migrate is not None:
            revisions[name] = migrate()
    if not revisions:
        raise ConfigurationError("no store is configured with kind 'postgres' (queue.kind, state.kind)")
    if as_json:
        emit_json(obj.console, {"revisions": revisions})
        return
    for name, revision in revisions.items():
        obj.console.print(f"{plain(name)}: schema at revision {plain(revision)}")


# The migration lives with the PostgreSQL adapters; the CLI names it by path (as the registry names adapters),
# so the core imports no integration.
MIGRATOR = "integrations.postgres.state_migration:migrate_state"


@store_group.command("migrate")
@click.option("--to", "dsn_secret", required=True, metavar="SECRET",
              help="Name of the settings.secrets entry holding the target database's DSN (never the DSN itself).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def store_migrate(obj, dsn_secret, as_json) -> None:  # type: ignore[no-untyped-def]
    """Move the embedded SQLite state (tickets, jobs, outbox, state stores, vault, audit chain) into an empty
    PostgreSQL database, in one transaction; the copied audit chain is verified before it commits. Stop every
    `spbe serve` first. What has no PostgreSQL store yet is listed as staying in SQLite."""
    from toolkit.registry import load_object

    settings = obj.app.settings
    settings.secret(dsn_secret)  # an unknown name fails here, naming the setting (the value is never shown)
    report = load_object(MIGRATOR)(settings, dsn_secret)
    if as_json:
        emit_json(obj.console, report.as_dict())
        return
    obj.console.print(f"schema at revision {plain(report.revision)}")
    for what, rows in report.copied.items():
        obj.console.print(f"copied {rows} rows: {plain(what)}")
    obj.console.print(f"audit chain verified on PostgreSQL: {report.audit_entries} entries, "
                      f"{report.audit_checkpoints} checkpoints")
    if report.highest_ticket:
        obj.console.print(f"ticket numbering continues after {plain(report.highest_ticket)}")
    for what, why in report.not_migrated.items():
        obj.console.print(f"NOT migrated: {plain(what)}: {plain(why)}")
    obj.console.print("next: set tickets.kind, queue.kind, state.kind and audit.kind to 'postgres' "
                      f"(options.dsn_secret = {plain(dsn_secret)}) before starting spbe serve again")
