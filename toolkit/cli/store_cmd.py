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
