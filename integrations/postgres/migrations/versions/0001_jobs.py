"""The job queue and its outbox: the tables of `integrations.queue.postgres_queue.PostgresJobQueue`.

The same tables as the SQLite queue file (jobs, their log lines, the outbox, cursors), typed for PostgreSQL:
instants are ``timestamptz`` (compared with the application clock's ``now``, passed in, never the server's),
plans, results and histories ``jsonb``. ``jobs_claim`` is partial: it holds only the queued jobs, so a claim's
``ORDER BY id ... FOR UPDATE SKIP LOCKED`` walks the few queued rows however many finished jobs the table keeps.
A row becoming queued (enqueued, released, retried, reclaimed: by any writer) notifies channel ``spbe_jobs``
at commit (identical notices of one transaction fold into one), which wakes the workers of every host.

Revision ID: 0001_jobs
Revises:
"""

from alembic import op

revision = "0001_jobs"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id text NOT NULL, step_id text NOT NULL, action text NOT NULL,
    idempotency_key text NOT NULL UNIQUE, idempotent boolean NOT NULL, plan jsonb NOT NULL,
    state text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    attempt integer NOT NULL DEFAULT 0, max_attempts integer NOT NULL,
    created_at timestamptz NOT NULL, started_at timestamptz, finished_at timestamptz,
    worker text, lease_until timestamptz, lease_token text, cancel_requested boolean NOT NULL DEFAULT false,
    result jsonb, error text, history jsonb NOT NULL DEFAULT '[]'::jsonb, not_before timestamptz,
    plan_digest text, input_digest text, plan_error text
);
CREATE INDEX jobs_claim ON jobs (id) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_ticket ON jobs (ticket_id, state);
CREATE INDEX jobs_state ON jobs (state, id);
CREATE TABLE job_logs (
    job_id bigint NOT NULL, seq integer NOT NULL, line text NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id text NOT NULL, kind text NOT NULL, payload jsonb NOT NULL,
    dedupe_key text NOT NULL UNIQUE, attempts integer NOT NULL DEFAULT 0, last_error text,
    next_attempt timestamptz NOT NULL, delivered_at timestamptz, created_at timestamptz NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt, id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_ticket ON outbox (ticket_id) WHERE delivered_at IS NULL;
CREATE TABLE queue_cursors (name text PRIMARY KEY, value bigint NOT NULL);
CREATE FUNCTION spbe_jobs_claimable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('spbe_jobs', '');
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_claimable AFTER INSERT OR UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.state = 'queued') EXECUTE FUNCTION spbe_jobs_claimable();
""")


def downgrade() -> None:
    op.execute("DROP TABLE queue_cursors, outbox, job_logs, jobs; DROP FUNCTION spbe_jobs_claimable()")
