"""The engine's small state stores (`integrations.state.postgres`): allocations, containment records, issued
credentials, escalation claims, compliance schedules, history and waivers, rack space, survey answers; the
secrets vault's table (`integrations.state.postgres_vault`, columns as in SQLite); and the audit chain
(`integrations.audit.postgres`).

Revision 0002_state, after 0001_jobs. The tables mirror the SQLite ones (`integrations/state/*.py`) under
the same names, with the constraints that make "never shared" hold in the database itself, not only in the
feature's ``choose``: a host, a (DC gateway, slot), a VLAN and an overlapping subnet (a GiST exclusion on
``inet``) can each be held by one row; at most one open containment record per (kind, target) (a partial
unique index); one survey answer per ticket with every score 1..4. Times are ``timestamptz``; records the
stores only read back whole are the validated model's JSON text, exactly as SQLite keeps them.

The audit chain's tables are the SQLite ones (``audit``, ``audit_meta``; ``at`` stays the exact ISO text the
MAC covers) plus ``audit_anchor``, the signed head that SQLite keeps in a file beside its database. Entries
are append-only in the database too: a trigger refuses UPDATE, DELETE and TRUNCATE of ``audit``, so the
application's role cannot rewrite history by mistake or by an injected statement (an owner can drop the
trigger: that is what the MACs, the anchor and the checkpoints outside the database are for).

The DDL is written out here and never imported from the stores: a migration is history, and must not
change when the code that reads the tables does.
"""

from __future__ import annotations

from alembic import op

revision = "0002_state"
down_revision = "0001_jobs"
branch_labels = None
depends_on = None

_SCORES = ", ".join(f"u{n} integer NOT NULL CHECK (u{n} BETWEEN 1 AND 4)" for n in range(1, 10))
_SCORE_NAMES = ", ".join(f"u{n}" for n in range(1, 10))

STATEMENTS: tuple[str, ...] = (
    "CREATE TABLE host_allocations (host text PRIMARY KEY, ticket_id text NOT NULL, step_id text NOT NULL, "
    "allocated_at timestamptz NOT NULL, UNIQUE (ticket_id, step_id))",
    "CREATE TABLE segments (ticket_id text PRIMARY KEY, site text NOT NULL, vlan_id integer NOT NULL UNIQUE, "
    "subnet cidr NOT NULL, ports text NOT NULL, users integer NOT NULL, allocated_at timestamptz NOT NULL, "
    "EXCLUDE USING gist (subnet inet_ops WITH &&))",
    "CREATE TABLE tunnel_slots (ticket text NOT NULL, step text NOT NULL, dc_host text NOT NULL, "
    "slot integer NOT NULL CHECK (slot >= 0), site_lan cidr NOT NULL, created_at timestamptz NOT NULL, "
    "PRIMARY KEY (ticket, step), UNIQUE (dc_host, slot))",
    "CREATE TABLE rack_space (ticket_id text PRIMARY KEY, rack text NOT NULL, unit_start integer NOT NULL, "
    "units integer NOT NULL, power_watt integer NOT NULL, allocated_at timestamptz NOT NULL)",
    "CREATE TABLE containment (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ticket_id text NOT NULL, "
    "kind text NOT NULL, target text NOT NULL, status text NOT NULL, record text NOT NULL)",
    "CREATE UNIQUE INDEX containment_one_open ON containment (kind, target) "
    "WHERE status IN ('applying', 'active', 'releasing')",
    "CREATE INDEX containment_by_ticket ON containment (ticket_id, seq)",
    "CREATE TABLE issued (ticket_id text PRIMARY KEY, api text NOT NULL, consumer text NOT NULL, "
    "consumer_id text NOT NULL, gateway text NOT NULL, kind text NOT NULL, key_id text NOT NULL, "
    "masked text NOT NULL, per_minute integer NOT NULL, endpoint text NOT NULL, applicant text NOT NULL, "
    "oauth2_client text, issued_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, status text NOT NULL, "
    "ended_at timestamptz, ended_by text, reason text)",
    "CREATE INDEX issued_by_consumer ON issued (consumer, gateway, status)",
    "CREATE INDEX issued_due ON issued (expires_at) WHERE status = 'active'",
    "CREATE TABLE escalations (ticket_id text NOT NULL, key text NOT NULL, claimed_at timestamptz NOT NULL, "
    "claimed_by text NOT NULL, notified_at timestamptz, channel text, PRIMARY KEY (ticket_id, key))",
    "CREATE TABLE schedules (id text PRIMARY KEY, record text NOT NULL)",
    "CREATE TABLE schedule_runs (schedule_id text NOT NULL, due_at timestamptz NOT NULL, "
    "claimed_by text NOT NULL, claimed_at timestamptz NOT NULL, outcome text NOT NULL, detail text NOT NULL, "
    "finished_at timestamptz, PRIMARY KEY (schedule_id, due_at))",
    "CREATE TABLE compliance_runs (id text PRIMARY KEY, profile text NOT NULL, started_at timestamptz NOT NULL, "
    "finished_at timestamptz NOT NULL, trigger text NOT NULL, results integer NOT NULL, passed integer NOT NULL, "
    "failed integer NOT NULL, waived integer NOT NULL, errors integer NOT NULL, record text NOT NULL)",
    "CREATE INDEX compliance_runs_by_profile ON compliance_runs (profile, started_at, id)",
    "CREATE INDEX compliance_runs_by_time ON compliance_runs (started_at, id)",
    "CREATE TABLE compliance_waivers (seq integer PRIMARY KEY, id text NOT NULL UNIQUE, profile text NOT NULL, "
    "target text NOT NULL, rule_id text NOT NULL, status text NOT NULL, record text NOT NULL)",
    "CREATE INDEX compliance_waivers_by_target ON compliance_waivers (profile, target)",
    "CREATE TABLE survey_answers (ticket_id text PRIMARY KEY, service_id text NOT NULL, respondent text NOT NULL, "
    f"answered_at timestamptz NOT NULL, {_SCORES}, comment text)",
    f"CREATE INDEX survey_answers_by_service ON survey_answers (service_id, answered_at, {_SCORE_NAMES})",
    f"CREATE INDEX survey_answers_by_time ON survey_answers (answered_at, {_SCORE_NAMES})",
    "CREATE TABLE secrets (ticket_id text NOT NULL, name text NOT NULL, ciphertext bytea, nonce bytea, "
    "key_id text NOT NULL, masked text NOT NULL, label text NOT NULL, recipient text NOT NULL, "
    "attributes text NOT NULL, created_at text NOT NULL, expires_at text, revealed_at text, revealed_by text, "
    "revoked_at text, revoked_by text, PRIMARY KEY (ticket_id, name))",
    "CREATE TABLE audit (seq bigint PRIMARY KEY CHECK (seq > 0), at text NOT NULL, actor text NOT NULL, "
    "action text NOT NULL, ticket_id text, data text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL)",
    "CREATE INDEX audit_by_ticket ON audit (ticket_id, seq)",
    "CREATE TABLE audit_meta (name text PRIMARY KEY, value text NOT NULL)",
    "CREATE TABLE audit_anchor (one boolean PRIMARY KEY DEFAULT true CHECK (one), anchor text NOT NULL)",
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'audit entries are append-only (%)', TG_OP "
    "USING ERRCODE = 'insufficient_privilege'; END $$",
    "CREATE TRIGGER audit_no_rewrite BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
)

TABLES = ("audit_anchor", "audit_meta", "audit", "secrets", "survey_answers", "compliance_waivers", "compliance_runs",
          "schedule_runs", "schedules", "escalations", "issued", "containment", "rack_space", "tunnel_slots",
          "segments", "host_allocations")


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP FUNCTION audit_append_only()")
