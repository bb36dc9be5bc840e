"""The audit chain in PostgreSQL (``audit.kind = "postgres"``): one chain for every `spbe serve` process on
every host, with the SQLite log's guarantees (`toolkit.audit.log`) and the same checks (`verify_checks`).

**Appends are serialised across processes and hosts** by ``pg_advisory_xact_lock`` on one fixed key, taken
first in the append's transaction: the next writer reads the head only after the previous one committed, so
``seq`` stays contiguous and every ``prev_hash`` is the hash before it. (The primary key on ``seq`` refuses a
fork of the chain even from a writer that skipped the lock.) The lock is the transaction's, so a writer that
dies mid-append leaves no lock behind; waiting longer than the busy timeout is an `UnavailableError`.

**The signed head anchor** is the ``audit_anchor`` row, written in the same transaction as the entries: it
can never lag or lead them (SQLite's anchor is a file written after the commit). **Checkpoints** still go
to ``settings.audit.checkpoint_file`` on the host that appended, after the commit -- outside the database,
where a writer of the database cannot rewrite them. Each host's file holds the checkpoints of that host's
appends; ``verify`` checks the one of the host it runs on.

**verify** takes the lock *shared* (``pg_advisory_xact_lock_shared``) before reading, so no append commits
while it reads the rows, the meta, the anchor and the checkpoint file; every statement after the lock sees
every append committed before it, so a checkpoint in the file is never ahead of what verify read.

Durability: the append sets ``synchronous_commit = on`` for its transaction, whatever the server's default
(SQLite's audit log runs ``synchronous=FULL`` for the same reason).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from integrations.postgres.pool import PostgresOptions, database_from_settings
from integrations.state.postgres_tx import not_migrated
from toolkit.audit import checkpoints, verify_checks
from toolkit.audit.chain import (
    GENESIS,
    AuditEntry,
    AuditProblem,
    AuditVerification,
    ChainRow,
    Prepared,
    canonical,
    chain_after,
    entries_of,
    normalise,
)
from toolkit.audit.checkpoints import Checkpoint, CheckpointFile
from toolkit.audit.keys import AuditKey
from toolkit.audit.port import AuditTrail
from toolkit.audit.verify_checks import KEYED, UNKEYED
from toolkit.errors import ConfigurationError, ConflictError, IntegrityError, InvalidInputError
from toolkit.settings import Settings

log = logging.getLogger("spbe.audit")

_LOCK = 0x5350424541554454  # "SPBEAUDT": the one advisory lock key of the audit chain
_COLUMNS = "seq, at, actor, action, ticket_id, data, prev_hash, hash"
# An append in one statement (its CTEs share one snapshot, taken after the lock): the head, then the rows and
# the anchor only if the head is the one the rows were chained on. Answers the head it read.
_APPEND = f"""
WITH head AS (
    SELECT COALESCE((SELECT seq FROM audit ORDER BY seq DESC LIMIT 1), 0) AS seq,
           COALESCE((SELECT hash FROM audit ORDER BY seq DESC LIMIT 1), %(genesis)s) AS hash
), added AS (
    INSERT INTO audit ({_COLUMNS})
    SELECT r.* FROM unnest(%(seq)b::bigint[], %(at)b::text[], %(actor)b::text[], %(action)b::text[],
                           %(ticket)b::text[], %(data)b::text[], %(prev)b::text[], %(hash)b::text[]) AS r, head
    WHERE head.seq = %(expect_seq)s AND head.hash = %(expect_hash)s
    RETURNING seq
), anchored AS (
    INSERT INTO audit_anchor (one, anchor) SELECT true, %(anchor)s FROM head
    WHERE head.seq = %(expect_seq)s AND head.hash = %(expect_hash)s
    ON CONFLICT (one) DO UPDATE SET anchor = EXCLUDED.anchor
)
SELECT seq, hash FROM head
"""  # noqa: S608 - composed of the module's constant column list


class PostgresAuditLog:
    """`toolkit.audit.port.AuditTrail` on the shared database; built by `toolkit.audit.factory` when
    ``settings.audit.kind == "postgres"`` (``audit.options``: `integrations.postgres.pool.PostgresOptions`)."""

    Options = PostgresOptions

    def __init__(self, *, settings: Settings, key: AuditKey | None, checkpoint_file: Path | None = None,
                 checkpoint_every: int = 1, require_auth: bool = True, busy_timeout_ms: int = 10000,
                 dsn_secret: str = "postgres_dsn", pool_min: int = 1, pool_max: int = 10,  # noqa: S107 - a name
                 connect_timeout_s: float = 10.0) -> None:
        if checkpoint_file is not None and key is None:
            raise ConfigurationError("audit checkpoints are signed: a checkpoint file needs the audit key")
        self.key = key
        self.checkpoints = CheckpointFile(checkpoint_file) if checkpoint_file is not None else None
        self.checkpoint_every = max(int(checkpoint_every), 1)
        self.require_auth = require_auth
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._local = threading.local()
        self._checked_scheme = False
        self._head: tuple[int, str] | None = None  # (seq, hash) this log last appended: the next append's guess
        if self.checkpoints is not None:  # fail at start, naming the setting, not at the first append
            try:
                os.close(self.checkpoints.open_append())
            except OSError as exc:
                raise ConfigurationError(f"the audit checkpoint file {self.checkpoints.path} cannot be written "
                                         f"(settings.audit.checkpoint_file): {exc.strerror}") from None
        self.db = database_from_settings(settings, "audit log", dsn_secret=dsn_secret, pool_min=pool_min,
                                         pool_max=pool_max, connect_timeout_s=connect_timeout_s)
        self.path = "postgresql:audit"  # what messages name (never the DSN)
        try:
            self._start_meta()
        except psycopg.errors.UndefinedTable:
            self.db.close()
            raise not_migrated() from None
        except BaseException:
            self.db.close()
            raise

    # -- storage -------------------------------------------------------------------------------
    def _lock(self, conn: Any, *, shared: bool = False, durable: bool = False) -> None:
        """The chain's lock for this transaction, waiting at most the busy timeout; ``durable``: this commit
        waits for the WAL flush whatever the server's default. One round trip."""
        sync = "'on'" if durable else "current_setting('synchronous_commit')"  # else: the server's own setting
        conn.execute(f"SELECT set_config('lock_timeout', %s, true), set_config('synchronous_commit', {sync}, true), "
                     f"pg_advisory_xact_lock{'_shared' if shared else ''}(%s)", (f"{self._busy_timeout_ms}ms", _LOCK))

    def _start_meta(self) -> None:
        """The scheme and key id the chain is started with, written once (under the lock: two processes
        starting a fresh database at once agree). Once written, opening the log reads it and takes no lock,
        so a process starts while another appends."""
        with self.db.connection() as conn:
            if conn.execute("SELECT 1 FROM audit_meta LIMIT 1").fetchone():
                return
        with self.db.transaction() as conn:
            self._lock(conn)
            if conn.execute("SELECT 1 FROM audit_meta LIMIT 1").fetchone():
                return
            started_unkeyed = self.key is None or bool(conn.execute("SELECT 1 FROM audit LIMIT 1").fetchone())
            conn.execute("INSERT INTO audit_meta VALUES ('scheme', %s)", (UNKEYED if started_unkeyed else KEYED,))
            if not started_unkeyed and self.key is not None:
                conn.execute("INSERT INTO audit_meta VALUES ('key_id', %s)", (self.key.key_id,))

    def _check_scheme(self, conn: Any) -> None:
        if self._checked_scheme:
            return
        meta = {r[0]: r[1] for r in conn.execute("SELECT name, value FROM audit_meta")}
        scheme = meta.get("scheme", UNKEYED)
        if self.key is None and scheme != UNKEYED:
            raise ConfigurationError("the PostgreSQL audit log is keyed; it can only be appended to with its key "
                                     "(settings.audit.key)")
        if self.key is not None and scheme != KEYED:
            raise ConfigurationError("the PostgreSQL audit log holds an unkeyed chain; archive it and start a new, "
                                     "keyed log")
        if self.key is not None and meta.get("key_id") != self.key.key_id:
            raise ConfigurationError(
                f"the audit key (settings.audit.key, id {self.key.key_id}) is not the key the PostgreSQL audit log "
                f"was started with (id {meta.get('key_id')}); appending would break the chain")
        self._checked_scheme = True

    def _anchor(self, seq: int, digest: str) -> str:
        value: dict[str, Any] = (checkpoints.sign(self.key, seq, digest).model_dump() if self.key is not None
                                 else {"seq": seq, "hash": digest})
        return canonical(value)

    def _write_checkpoint(self, seq: int, digest: str) -> Checkpoint | None:
        """After the commit, on this host's file. A failed write is logged, not raised: the entry is
        committed, and the next checkpoint covers it; verify sees only a lag."""
        if self.key is None or self.checkpoints is None:
            return None
        cp = checkpoints.sign(self.key, seq, digest)
        fd: int | None = getattr(self._local, "checkpoint_fd", None)
        try:
            if fd is None or self._local.checkpoint_pid != os.getpid() or os.fstat(fd).st_nlink == 0:
                fd = self.checkpoints.open_append()  # first use, a fork, or the file deleted under us
                self._local.checkpoint_fd, self._local.checkpoint_pid = fd, os.getpid()
            os.write(fd, CheckpointFile.encode(cp))
        except OSError as exc:
            log.warning("audit checkpoint #%d not written to %s: %s", seq, self.checkpoints.path, exc.strerror)
            return None
        return cp

    # -- the log -------------------------------------------------------------------------------
    def check_writable(self) -> None:
        with self.db.connection() as conn:
            self._check_scheme(conn)

    def append(self, actor: str, action: str, ticket_id: str | None, data: Mapping[str, Any]) -> AuditEntry:
        return self.append_many([(actor, action, ticket_id, data)])[0]

    def append_many(self, items: list[tuple[str, str, str | None, Mapping[str, Any]]], *,
                    entries: bool = True) -> list[AuditEntry]:
        """As `toolkit.audit.log.AuditLog.append_many`: several entries chained in order, one transaction."""
        prepared = []
        for actor, action, ticket_id, data in items:
            if not actor or not action:
                raise InvalidInputError("audit entries need an actor and an action", errors=[("actor/action", "empty")])
            if self.require_auth and not data.get("auth"):
                raise InvalidInputError(f"audit entry {action!r} does not say how {actor!r} was authenticated "
                                        "(data.auth)", errors=[("auth", "missing")])
            prepared.append((actor, action, ticket_id, normalise(data)))
        if not prepared:
            return []
        # The entries are chained before the transaction, on the head this log last wrote (the audit writer
        # thread is usually the chain's only appender), so the lock is held for two round trips, not for the
        # hashing; under the lock the statement inserts them only if that is still the head, else they are
        # chained again on the head it read there. Either way they follow the head read under the lock.
        guess = self._head
        rows = self._chain(prepared, guess) if guess is not None else None
        anchor = self._anchor(rows[-1][0], rows[-1][7]) if rows is not None else ""  # signed outside the lock too
        with self.db.transaction() as conn:
            self._lock(conn, durable=True)
            self._check_scheme(conn)
            if rows is not None and guess is not None:
                head = self._insert(conn, rows, guess, anchor)
                if head != guess:
                    rows = None
            else:
                last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                head = (int(last[0]), str(last[1])) if last else (0, GENESIS)
            if rows is None:
                rows = self._chain(prepared, head)
                anchor = self._anchor(rows[-1][0], rows[-1][7])
                if self._insert(conn, rows, head, anchor) != head:  # the lock is held: nobody can have appended
                    raise IntegrityError("the audit head moved while the chain's lock was held")
        seq, prev = rows[-1][0], rows[-1][7]
        self._head = (seq, prev)
        if seq // self.checkpoint_every > (rows[0][0] - 1) // self.checkpoint_every:
            self._write_checkpoint(seq, prev)
        if not entries:
            return []
        return entries_of(rows, prepared)

    def _chain(self, prepared: list[Prepared], head: tuple[int, str]) -> list[ChainRow]:
        return chain_after(prepared, head, self.key)

    @staticmethod
    def _insert(conn: Any, rows: list[tuple[Any, ...]], expect: tuple[int, str], anchor: str) -> tuple[int, str]:
        """Insert ``rows`` and the signed anchor of their last in one statement, if the head is ``expect``;
        returns the head the statement read (``expect``: inserted; another: nothing written)."""
        columns = list(zip(*rows, strict=True))
        found = conn.execute(_APPEND, {
            "seq": list(columns[0]), "at": list(columns[1]), "actor": list(columns[2]), "action": list(columns[3]),
            "ticket": list(columns[4]), "data": list(columns[5]), "prev": list(columns[6]), "hash": list(columns[7]),
            "expect_seq": expect[0], "expect_hash": expect[1], "genesis": GENESIS,
            "anchor": anchor}).fetchone()
        return int(found[0]), str(found[1])

    def checkpoint(self) -> Checkpoint:
        if self.key is None:
            raise ConfigurationError("an unkeyed audit log has no checkpoints (settings.audit.key)")
        seq, digest = self.head()
        return self._write_checkpoint(seq, digest) or checkpoints.sign(self.key, seq, digest)

    def entries(self, ticket_id: str | None = None, limit: int | None = None,
                after: int | None = None) -> list[AuditEntry]:
        query = (f"SELECT {_COLUMNS} FROM audit WHERE (%(t)s::text IS NULL OR ticket_id = %(t)s) "  # noqa: S608
                 "AND (%(a)s::bigint IS NULL OR seq > %(a)s) ORDER BY seq DESC")
        args: dict[str, Any] = {"t": ticket_id, "a": None if after is None else int(after)}
        if limit is not None:
            query += " LIMIT %(n)s"
            args["n"] = max(int(limit), 0)
        with self.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query, args).fetchall()
        return [AuditEntry.model_validate({**r, "data": json.loads(r["data"])}) for r in reversed(rows)]

    def count_since(self, action: str, after_seq: int = 0) -> tuple[int, int]:
        with self.db.connection() as conn:
            row = conn.execute("SELECT COUNT(*) FILTER (WHERE action = %s), MAX(seq) FROM audit WHERE seq > %s",
                               (action, int(after_seq))).fetchone()
        assert row is not None  # noqa: S101 - an aggregate returns one row
        return int(row[0]), int(row[1] if row[1] is not None else after_seq)

    def head(self) -> tuple[int, str]:
        with self.db.connection() as conn:
            last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(last[0]), str(last[1])) if last else (0, GENESIS)

    def verify(self) -> AuditVerification:
        """As `toolkit.audit.log.AuditLog.verify`, reading under the shared lock (module docstring)."""
        problems: list[AuditProblem] = []
        with self.db.transaction() as conn, conn.cursor(row_factory=dict_row) as cur:
            self._lock(conn, shared=True)
            rows = cur.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY seq").fetchall()  # noqa: S608
            meta = {r["name"]: r["value"] for r in cur.execute("SELECT name, value FROM audit_meta")}
            anchor_row = cur.execute("SELECT anchor FROM audit_anchor").fetchone()
            checkpoint_lines = self.checkpoints.read() if self.checkpoints is not None else None
        problems.extend(verify_checks.check_meta(meta, self.key))
        found, hashes, last_seq = verify_checks.check_rows(rows, self.key)
        problems.extend(found)
        problems.extend(verify_checks.check_anchor(anchor_row["anchor"] if anchor_row else None, hashes, last_seq,
                                                   self.key))
        valid = 0
        if self.key is not None and self.checkpoints is not None:
            found, valid = checkpoints.check_lines(self.key, self.checkpoints.path, checkpoint_lines, hashes,
                                                   last_seq, self.checkpoint_every)
            problems.extend(found)
        return AuditVerification(ok=not problems, entries=len(rows), problems=problems, checkpoints=valid)

    def import_chain(self, source: AuditTrail) -> int:
        """Copy an embedded chain here (moving an installation to PostgreSQL): every entry verbatim (seq, the
        exact ``at`` text, the canonical data, prev_hash, hash), so it verifies here as it did there, then the
        signed anchor of its head and a checkpoint. Refused unless ``source`` verifies under this log's key
        and this chain is empty: a chain is never merged into another. Returns how many entries were copied."""
        if self.key is None or source.key is None or source.key.key_id != self.key.key_id:
            raise ConfigurationError("only a chain keyed with this log's audit key can be imported")
        checked = source.verify()
        if not checked.ok:
            raise IntegrityError("the audit chain to import does not verify; it is not copied",
                                 problems=[p.model_dump() for p in checked.problems])
        entries = source.entries()
        rows = [(e.seq, e.at.isoformat(timespec="microseconds"), e.actor, e.action, e.ticket_id, canonical(e.data),
                 e.prev_hash, e.hash) for e in entries]
        with self.db.transaction() as conn:
            self._lock(conn, durable=True)
            self._check_scheme(conn)
            if conn.execute("SELECT 1 FROM audit LIMIT 1").fetchone():
                raise ConflictError("the PostgreSQL audit chain is not empty; a chain is imported only into an "
                                    "empty one")
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO audit ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)  # noqa: S608
            if entries:
                head = self._anchor(entries[-1].seq, entries[-1].hash)
                conn.execute("INSERT INTO audit_anchor (one, anchor) VALUES (true, %s) ON CONFLICT (one) "
                             "DO UPDATE SET anchor = EXCLUDED.anchor", (head,))
        if entries:
            self._write_checkpoint(entries[-1].seq, entries[-1].hash)
        return len(entries)

    def verify_or_raise(self) -> AuditVerification:
        result = self.verify()
        if not result.ok:
            listing = "; ".join(f"{'head' if p.seq is None else p.seq}: {p.problem}" for p in result.problems)
            raise IntegrityError(f"the PostgreSQL audit log does not verify: {listing}",
                                 problems=[p.model_dump() for p in result.problems])
        return result

    def close(self) -> None:
        fd = getattr(self._local, "checkpoint_fd", None)
        if fd is not None and getattr(self._local, "checkpoint_pid", None) == os.getpid():
            os.close(fd)
        self._local.checkpoint_fd = None
        self.db.close()
