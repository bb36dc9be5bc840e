"""``spbe store migrate --to SECRET``: move an embedded SQLite state into PostgreSQL in one run.

What moves, from ``state_dir``: the embedded desk's tickets, events and attachments (``tickets.db``;
attachment blobs copied sealed as they are: their encryption is bound to the ticket and name, not to the
file), the queue's jobs, log lines, outbox and cursors (``queue.db``), the engine's state stores and the
vault's table (``state.db``), and the audit chain with its head anchor (``audit.db``, ``audit.db.head``).
Rows keep their ids, sequence numbers, hashes and ISO times, so a ticket's number, an event's ``seq`` (the
trigger's cursor), a job's idempotency key and every audit MAC stay what they were; ticket numbering goes on
after the highest migrated number (the store takes ``MAX(num) + 1``).

**All or nothing, into an empty database only**: the schema is brought to head, every target table is locked
and must be empty (a second run refuses and changes nothing: run it once, against a fresh database), every
row is copied in one transaction, and the copied audit chain is verified inside that transaction (MACs,
links, anchor, checkpoints); a chain that does not verify rolls everything back. Stop every ``spbe serve``
first: rows written to SQLite after the copy would stay behind.

**Nothing is dropped silently**: a table of these files without a PostgreSQL home (today: the letters'
document numbers in ``state.db``, the complaints mail ledger ``complaints.db``) is listed in the report with
its row count as staying in SQLite, and so is any other ``*.db`` file in ``state_dir``; ``artifacts/``
(documents, evidence) are files, not rows, and stay where they are.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from integrations.postgres.migrate import migrate
from integrations.postgres.pool import resolve_dsn, scrub
from integrations.postgres.table_copy import copy_table, count, source_tables
from toolkit.audit import checkpoints, verify_checks
from toolkit.audit.factory import audit_key
from toolkit.errors import ConflictError, IntegrityError, UnavailableError
from toolkit.settings import Settings

# (source table, target table) per source file, in an order the foreign keys accept
TICKET_TABLES = (("tickets", "tickets"), ("attachments", "ticket_attachments"), ("events", "ticket_events"))
QUEUE_TABLES = (("jobs", "jobs"), ("job_logs", "job_logs"), ("outbox", "outbox"), ("cursors", "queue_cursors"))
STATE_TABLES = tuple((t, t) for t in (
    "host_allocations", "segments", "tunnel_slots", "rack_space", "containment", "issued", "escalations",
    "schedules", "schedule_runs", "compliance_runs", "compliance_waivers", "survey_answers", "secrets",
    "document_sequences", "document_numbers"))
AUDIT_TABLES = (("audit", "audit"), ("audit_meta", "audit_meta"))
STAYS: dict[str, str] = {}  # tables with no PostgreSQL store yet: why they stay


@dataclass
class MigrationReport:
    revision: str
    copied: dict[str, int] = field(default_factory=dict)  # "tickets.db:tickets -> tickets": rows
    not_migrated: dict[str, str] = field(default_factory=dict)  # what: why it stays in SQLite
    audit_entries: int = 0
    audit_checkpoints: int = 0
    highest_ticket: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "copied": self.copied, "not_migrated": self.not_migrated,
                "audit": {"entries": self.audit_entries, "checkpoints": self.audit_checkpoints, "verified": True},
                "highest_ticket": self.highest_ticket}


def _sources(settings: Settings) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """The SQLite files of the stores still configured as embedded, with their table maps."""
    found: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    if settings.tickets.kind == "embedded":
        found.append((str(settings.tickets.options.get("db_name", "tickets.db")), TICKET_TABLES))
    if settings.queue.kind == "sqlite":
        found.append((str(settings.queue.options.get("db_name", "queue.db")), QUEUE_TABLES))
    if settings.state.kind == "sqlite":
        found.append(("state.db", STATE_TABLES))
    if settings.audit.kind == "sqlite":
        found.append(("audit.db", AUDIT_TABLES))
    return found


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read transaction on the file (one snapshot of it for the whole copy), never creating it."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        db.execute("BEGIN")
        yield db
    finally:
        db.close()


def migrate_state(settings: Settings, dsn_secret: str) -> MigrationReport:
    """Copy the SQLite state of ``settings`` into the database named by ``settings.secrets[dsn_secret]``."""
    dsn = resolve_dsn(settings, dsn_secret)
    report = MigrationReport(revision=migrate(dsn))
    state_dir = Path(settings.state_dir)
    sources = [(name, tables) for name, tables in _sources(settings) if (state_dir / name).is_file()]
    key = audit_key(settings) if any(name == "audit.db" for name, _ in sources) else None
    try:
        with ExitStack() as stack, psycopg.connect(dsn.get_secret_value(), autocommit=True) as conn:
            sqlite_dbs = {name: stack.enter_context(_read_only(state_dir / name)) for name, _ in sources}
            with conn.transaction():
                _lock_empty(conn, [t for _, tables in sources for _, t in tables])
                for name, tables in sources:
                    _copy_file(sqlite_dbs[name], conn, name, tables, report)
                if "audit.db" in sqlite_dbs:
                    _copy_anchor(conn, state_dir / "audit.db.head")
                    _verify_audit(conn, settings, key, report)
                row = conn.execute("SELECT id FROM tickets ORDER BY year DESC, num DESC LIMIT 1").fetchone()
                report.highest_ticket = str(row[0]) if row else None
    except psycopg.OperationalError as exc:
        raise UnavailableError(f"store migration failed, nothing was migrated: {scrub(str(exc), dsn)}") from None
    _others(state_dir, {name for name, _ in sources}, report)
    return report


def _lock_empty(conn: psycopg.Connection[Any], targets: list[str]) -> None:
    """Every target locked against any other session for the copy, and empty; else nothing is done."""
    if not targets:
        return
    conn.execute(f"LOCK TABLE {', '.join(targets)} IN ACCESS EXCLUSIVE MODE")
    holding = [t for t in targets if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0]]  # type: ignore[index]  # noqa: S608
    if holding:
        raise ConflictError("the target database already holds data in " + ", ".join(holding) +
                            "; spbe store migrate copies into an empty database only (nothing was migrated)",
                            tables=holding)


def _copy_file(src: sqlite3.Connection, dst: psycopg.Connection[Any], name: str,
               tables: tuple[tuple[str, str], ...], report: MigrationReport) -> None:
    present = set(source_tables(src))
    for source, target in tables:
        if source in present:
            report.copied[f"{name}:{source} -> {target}"] = copy_table(src, dst, source, target)
    mapped = {source for source, _ in tables}
    for table in sorted(present - mapped):
        rows = count(src, table)
        why = STAYS.get(table, "no PostgreSQL store for this table")
        report.not_migrated[f"{name}:{table}"] = f"{rows} rows stay in SQLite ({why})"


def _copy_anchor(conn: psycopg.Connection[Any], path: Path) -> None:
    """The SQLite chain's head anchor (a file beside the database) into ``audit_anchor``."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return
    if text:
        conn.execute("INSERT INTO audit_anchor (anchor) VALUES (%s)", (text,))


def _verify_audit(conn: psycopg.Connection[Any], settings: Settings, key: Any, report: MigrationReport) -> None:
    """The copied chain verified as `PostgresAuditLog.verify` verifies it, before the commit."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute("SELECT seq, at, actor, action, ticket_id, data, prev_hash, hash FROM audit "
                           "ORDER BY seq").fetchall()
        meta = {r["name"]: r["value"] for r in cur.execute("SELECT name, value FROM audit_meta")}
        anchor = cur.execute("SELECT anchor FROM audit_anchor").fetchone()
    problems = list(verify_checks.check_meta(meta, key))
    found, hashes, last_seq = verify_checks.check_rows(rows, key)
    problems.extend(found)
    problems.extend(verify_checks.check_anchor(anchor["anchor"] if anchor else None, hashes, last_seq, key))
    valid = 0
    if key is not None:
        file = checkpoints.CheckpointFile(settings.audit.checkpoint_file.expanduser())
        found, valid = checkpoints.check_lines(key, file.path, file.read(), hashes, last_seq,
                                               max(int(settings.audit.checkpoint_every), 1))
        problems.extend(found)
    if problems:
        listing = "; ".join(f"{'head' if p.seq is None else p.seq}: {p.problem}" for p in problems[:20])
        raise IntegrityError(f"the copied audit chain does not verify, nothing was migrated: {listing}")
    report.audit_entries, report.audit_checkpoints = len(rows), valid


def _others(state_dir: Path, done: set[str], report: MigrationReport) -> None:
    """Every other SQLite file of ``state_dir``, named with its tables' row counts: it stays behind."""
    for path in sorted(state_dir.glob("*.db")):
        if path.name in done:
            continue
        try:
            with _read_only(path) as db:
                sizes = {t: count(db, t) for t in source_tables(db)}
        except sqlite3.DatabaseError as exc:
            report.not_migrated[path.name] = f"stays in SQLite (not readable here: {exc})"
            continue
        listing = ", ".join(f"{t}: {n}" for t, n in sizes.items()) or "no tables"
        report.not_migrated[path.name] = f"stays in SQLite, no PostgreSQL store for it ({listing})"
