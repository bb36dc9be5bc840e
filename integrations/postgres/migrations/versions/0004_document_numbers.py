"""Document numbers on PostgreSQL: the tables of `integrations.state.postgres_numbers.PgDocumentNumbers`.

Revision 0004_document_numbers, after 0003_tickets. The same two tables as in ``state.db``
(`integrations.state.document_numbers`): the counter per type and year, which only grows, and one row per
issued number with ``(kode, ticket_id)``, ``(kode, tahun, seq)`` and the number text each unique, so two hosts
never print one number on two documents.

The DDL is written out here and never imported from the store: a migration is history.
"""

from __future__ import annotations

from alembic import op

revision = "0004_document_numbers"
down_revision = "0003_tickets"
branch_labels = None
depends_on = None

STATEMENTS: tuple[str, ...] = (
    "CREATE TABLE document_sequences (kode text NOT NULL, tahun integer NOT NULL, last integer NOT NULL "
    "CHECK (last > 0), PRIMARY KEY (kode, tahun))",
    "CREATE TABLE document_numbers (kode text NOT NULL, tahun integer NOT NULL, seq integer NOT NULL, "
    "ticket_id text NOT NULL, nomor text NOT NULL CONSTRAINT document_numbers_nomor_key UNIQUE, "
    "taken_at timestamptz NOT NULL, PRIMARY KEY (kode, tahun, seq), "
    "CONSTRAINT document_numbers_ticket_key UNIQUE (kode, ticket_id))",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE document_numbers, document_sequences")
