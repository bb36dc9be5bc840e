"""The queue file's tables (jobs, their log lines, the outbox, cursors), the columns later versions added to
``jobs`` (added on open to an older file), and the fenced finish statement both `finish` and `finish_many` run.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL, step_id TEXT NOT NULL, action TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE, idempotent INTEGER NOT NULL, plan TEXT NOT NULL,
    state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL,
    created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT,
    worker TEXT, lease_until REAL, lease_token TEXT, cancel_requested INTEGER NOT NULL DEFAULT 0,
    result TEXT, error TEXT, history TEXT NOT NULL DEFAULT '[]', not_before REAL,
    plan_digest TEXT, input_digest TEXT, plan_error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_claim ON jobs(state, id);
CREATE INDEX IF NOT EXISTS jobs_ticket ON jobs(ticket_id);
CREATE TABLE IF NOT EXISTS job_logs (
    job_id INTEGER NOT NULL, seq INTEGER NOT NULL, line TEXT NOT NULL, PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    next_attempt REAL NOT NULL, delivered_at TEXT, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(delivered_at, next_attempt);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


FINISH = ("UPDATE jobs SET state=?, result=?, error=?, finished_at=?, lease_until=NULL, lease_token=NULL"
           " WHERE id=? AND lease_token=? AND state='running'")
ADDED_COLUMNS = (("not_before", "REAL"), ("plan_digest", "TEXT"), ("input_digest", "TEXT"), ("plan_error", "TEXT"))
