"""The outbox's delivery lease: which `spbe serve` process is delivering an item, and until when.

Revision 0005_outbox_lease, after 0004_document_numbers. Without it every process's outbox thread read the
same due items and posted them all (the desk's dedupe keys made the repeats no-ops, but each cost a desk
write, a mark and an audit entry: with two processes half the items were delivered twice). An item leased
by a live process is skipped by the others, and so are its ticket's later items, so a ticket's results still
reach it in order; a lease that runs out (its process died) makes the item due again: at least once, as before.

The DDL is written out here and never imported from the store: a migration is history.
"""

from __future__ import annotations

from alembic import op

revision = "0005_outbox_lease"
down_revision = "0004_document_numbers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE outbox ADD COLUMN leased_by text, ADD COLUMN leased_until timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE outbox DROP COLUMN leased_by, DROP COLUMN leased_until")
