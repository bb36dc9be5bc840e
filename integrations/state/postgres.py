"""`toolkit.ports.state.StateStores` in PostgreSQL (``state.kind = "postgres"``): the engine's small stores
shared by every `spbe serve` process on every host, for a province or national desk that outgrows one
machine (issue 19). The embedded default stays `integrations.state.sqlite`.

One `Database` handle (the process's pool for the DSN in ``settings.secrets[options.dsn_secret]``,
`integrations.postgres.pool`) serves every store; the tables are revision 0002_state's, made by
``spbe store migrate-schema`` (Alembic, `migrate_schema`), never by the stores at run time: a worker does not
race another host's worker to create a table, and a database without them is a `ConfigurationError` naming
the command at the first use (`integrations.state.postgres_tx`).

Each store keeps the SQLite store's contract and its guarantees, tested by the same contract suites
(tests/contracts/test_state_stores.py, test_compliance_stores.py): allocations are one transaction under a
table lock with unique and exclusion constraints underneath, claims are one statement or a row lock
(`integrations.state.postgres_tx`). Modules: ``postgres_allocations`` (hosts, segments, tunnel slots, racks),
``postgres_records`` (containment, issued credentials, escalations), ``postgres_compliance`` (schedules,
history, waivers), ``postgres_survey``; and ``postgres_vault``, the secrets vault's table (`vault_tables`).
"""

from __future__ import annotations

from integrations.postgres.pool import PostgresOptions, database_from_settings
from integrations.state.postgres_allocations import PgHostPool, PgRackSpace, PgSegmentAllocator, PgTunnelSlots
from integrations.state.postgres_compliance import PgComplianceHistory, PgScheduleStore, PgWaiverStore
from integrations.state.postgres_numbers import PgDocumentNumbers
from integrations.state.postgres_records import PgContainmentStore, PgEscalationStore, PgIssuedStore
from integrations.state.postgres_survey import PgSurveyStore
from integrations.state.postgres_vault import PgVaultTables
from toolkit.ports.state import StateStores
from toolkit.settings import Settings


class PostgresState:
    """The stores on one `Database`; `close` gives the pool reference back (the last user closes the pool)."""

    Options = PostgresOptions

    def __init__(self, *, settings: Settings, dsn_secret: str = "postgres_dsn", pool_min: int = 1,  # noqa: S107 - a name
                 pool_max: int = 10, connect_timeout_s: float = 10.0) -> None:
        self.db = database_from_settings(settings, "state store", dsn_secret=dsn_secret, pool_min=pool_min,
                                         pool_max=pool_max, connect_timeout_s=connect_timeout_s)
        self.hosts = PgHostPool(self.db)
        self.segments = PgSegmentAllocator(self.db)
        self.tunnels = PgTunnelSlots(self.db)
        self.containment = PgContainmentStore(self.db)
        self.issued = PgIssuedStore(self.db)
        self.escalations = PgEscalationStore(self.db)
        self.schedules = PgScheduleStore(self.db)
        self.compliance_history = PgComplianceHistory(self.db)
        self.waivers = PgWaiverStore(self.db)
        self.racks = PgRackSpace(self.db)
        self.survey = PgSurveyStore(self.db)
        self.document_numbers = PgDocumentNumbers(self.db)

    def vault_tables(self) -> PgVaultTables:
        """Where `toolkit.vault.SecretVault` keeps its table when the state is here (`App.vault` asks)."""
        return PgVaultTables(self.db)

    def migrate_schema(self) -> str:
        """Bring the database to the schema's head (``spbe store migrate-schema``); returns the revision.
        Alembic is imported here only: a worker that never migrates does not load it."""
        from integrations.postgres.migrate import migrate

        return migrate(self.db.dsn)

    def close(self) -> None:
        self.db.close()


def _conforms(state: PostgresState) -> StateStores:
    """Never called: mypy --strict checks here that every PostgreSQL store implements its port."""
    return state
