"""The audit log's storage: an SQLite chain of entries, its head anchor and its file checkpoints.

Appends are serialised across processes by an ``flock`` on ``<path>.lock``, which covers the row,
the anchor and the checkpoint line together, so none of them can be written out of order. After
each append the signed head ``{seq, hash, at, mac}`` is rewritten in ``<path>.head`` (local, quick
to check, but in the state directory) and, every ``checkpoint_every`` appends, a checkpoint line is
appended to the checkpoint file outside it.

A small ``audit_meta`` table records which scheme the chain uses and the key id it was started with.
It guards against honest mistakes, never against an attacker (who can edit it, and gains nothing):
a log started with one key refuses appends under another, a keyed log refuses unkeyed appends, and
a chain written before keying (no meta, rows present) is treated as unkeyed and refuses keyed
appends; archive it and start a new one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from toolkit.audit import checkpoints, verify_checks
from toolkit.audit.chain import (
    GENESIS,
    AuditEntry,
    AuditProblem,
    AuditVerification,
    canonical,
    chain_after,
    entries_of,
    normalise,
)
from toolkit.audit.checkpoints import Checkpoint, CheckpointFile
from toolkit.audit.keys import AuditKey
from toolkit.audit.verify_checks import KEYED, UNKEYED
from toolkit.errors import ConfigurationError, IntegrityError, InvalidInputError, UnavailableError
from toolkit.private_files import open_private, private_dir, private_file
from toolkit.sqlite_tx import UNAVAILABLE_CODES, connect

log = logging.getLogger("spbe.audit")

_SCHEMA = """CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    ticket_id TEXT, data TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)"""
_META = "CREATE TABLE IF NOT EXISTS audit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
_COLUMNS = "seq, at, actor, action, ticket_id, data, prev_hash, hash"
_ANCHOR_SIZE = 256


class AuditLog:
    """``key=None`` is the unkeyed chain (the evidence ledger); the audit log proper is built keyed,
    with its checkpoint file, by `toolkit.audit.factory.open_audit_log`."""

    def __init__(self, path: Path, *, key: AuditKey | None = None, checkpoint_file: Path | None = None,
                 checkpoint_every: int = 1, busy_timeout_ms: int = 10000, require_auth: bool = False) -> None:
        if checkpoint_file is not None and key is None:
            raise ConfigurationError("audit checkpoints are signed: a checkpoint file needs the audit key")
        self.path = Path(path)
        self.key = key
        self.anchor_path = self.path.with_name(self.path.name + ".head")
        self.checkpoints = CheckpointFile(checkpoint_file) if checkpoint_file is not None else None
        self.checkpoint_every = max(int(checkpoint_every), 1)
        # The audit log proper says how every actor was authenticated (``data["auth"]``: lab-as, os-user,
        # session, token, oidc, ticket-system, engine): an auditor must tell a lab approval from a real one.
        self.require_auth = require_auth
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._local = threading.local()
        self._checked_scheme = False
        # A connection inherited through fork() is never closed by the child (closing it could
        # disturb the parent's WAL); it is kept referenced here instead.
        self._inherited: list[sqlite3.Connection] = []
        private_dir(self.path.parent)
        private_file(self.path)  # parameters may name people and hosts: owner-only, like the store
        if self.checkpoints is not None:  # fail at start, naming the setting, not at the first append
            try:
                os.close(self.checkpoints.open_append())
            except OSError as exc:
                raise ConfigurationError(f"the audit checkpoint file {self.checkpoints.path} cannot be written "
                                         f"(settings.audit.checkpoint_file): {exc.strerror}") from None
        with self._tx() as db:
            db.execute(_SCHEMA)
            db.execute(_META)
            if not db.execute("SELECT 1 FROM audit_meta LIMIT 1").fetchone():
                started_unkeyed = key is None or bool(db.execute("SELECT 1 FROM audit LIMIT 1").fetchone())
                db.execute("INSERT INTO audit_meta VALUES ('scheme', ?)", (UNKEYED if started_unkeyed else KEYED,))
                if not started_unkeyed and key is not None:
                    db.execute("INSERT INTO audit_meta VALUES ('key_id', ?)", (key.key_id,))

    # -- storage -------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        if conn is not None:
            self._inherited.append(conn)
        conn = connect(self.path, busy_timeout_ms=self._busy_timeout_ms, synchronous="FULL")
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def _tx(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        try:
            conn = self._conn()
            conn.execute(f"BEGIN {mode}")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code in UNAVAILABLE_CODES:
                raise UnavailableError(f"audit log unavailable: {exc}", path=str(self.path)) from None
            raise

    def _fd(self, name: str, opener: Callable[[], int]) -> int:
        """One descriptor per thread and process, opened once: on slow filesystems an open() per
        append costs more than the append. Per thread because flock() locks an open file
        description, and threads sharing one would not exclude each other."""
        key = f"{name}_fd"
        fd: int | None = getattr(self._local, key, None)
        if fd is None or getattr(self._local, f"{key}_pid", None) != os.getpid():
            fd = opener()
            setattr(self._local, key, fd)
            setattr(self._local, f"{key}_pid", os.getpid())
        return fd

    @staticmethod
    def _open_rw(path: Path) -> Callable[[], int]:
        return lambda: open_private(path, os.O_RDWR)

    @contextmanager
    def _writer(self, *, shared: bool = False) -> Iterator[None]:
        """Serialises the append *and* its anchor and checkpoint across processes; without it a
        slower writer could put an older head into the anchor after a faster one wrote a newer head.
        `verify` holds it shared so the rows, the anchor and the checkpoints it reads belong together."""
        fd = self._fd("lock", self._open_rw(self._lock_path))
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise UnavailableError("audit log unavailable: another writer holds it",
                                           path=str(self.path)) from None
                time.sleep(0.002)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _write_anchor(self, seq: int, digest: str) -> None:
        """The anchor is one fixed-size record rewritten in place under the exclusive lock (a single
        pwrite at offset 0: the file never changes size, so a reader sees the old or the new record).
        No fsync: after a power cut the anchor may lag the database, never lead it, and verify
        accepts a lagging anchor that matches its entry. Keyed, it is a signed checkpoint."""
        value: dict[str, Any] = (checkpoints.sign(self.key, seq, digest).model_dump() if self.key is not None
                                 else {"seq": seq, "hash": digest})
        record = canonical(value).encode("utf-8").ljust(_ANCHOR_SIZE)
        os.pwrite(self._fd("anchor", self._open_rw(self.anchor_path)), record, 0)

    def _write_checkpoint(self, seq: int, digest: str) -> Checkpoint | None:
        """Under the exclusive lock, after the commit. A failed write is logged, not raised: the
        entry is already committed, and the next checkpoint covers it; verify sees only a lag."""
        if self.key is None or self.checkpoints is None:
            return None
        cp = checkpoints.sign(self.key, seq, digest)
        try:
            fd = self._fd("checkpoint", self.checkpoints.open_append)
            if os.fstat(fd).st_nlink == 0:  # deleted under us: write where verify will look, not to the void
                os.close(fd)
                self._local.checkpoint_fd = None
                fd = self._fd("checkpoint", self.checkpoints.open_append)
            os.write(fd, CheckpointFile.encode(cp))
        except OSError as exc:
            log.warning("audit checkpoint #%d not written to %s: %s", seq, self.checkpoints.path, exc.strerror)
            return None
        return cp

    def _check_scheme(self, db: sqlite3.Connection) -> None:
        if self._checked_scheme:
            return
        meta = {row["name"]: row["value"] for row in db.execute("SELECT name, value FROM audit_meta")}
        scheme = meta.get("scheme", UNKEYED)
        if self.key is None and scheme != UNKEYED:
            raise ConfigurationError(f"audit log {self.path} is keyed; it can only be appended to with its key "
                                     "(settings.audit.key)")
        if self.key is not None and scheme != KEYED:
            raise ConfigurationError(
                f"audit log {self.path} holds an unkeyed (plain SHA-256) chain written before the audit key was "
                "configured; move it (and its .head file) aside as an archive and start a new, keyed log")
        if self.key is not None and meta.get("key_id") != self.key.key_id:
            raise ConfigurationError(
                f"the audit key (settings.audit.key, id {self.key.key_id}) is not the key audit log {self.path} was "
                f"started with (id {meta.get('key_id')}); appending would break the chain")
        self._checked_scheme = True

    @staticmethod
    def _entry(row: sqlite3.Row) -> AuditEntry:
        data = dict(row)
        data["data"] = json.loads(data["data"])
        return AuditEntry.model_validate(data)

    # -- the log -------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Raises `ConfigurationError` when appends would be refused (wrong key, unkeyed chain):
        `spbe serve` calls it before starting, so a misconfigured engine does not start at all."""
        with self._tx("DEFERRED") as db:
            self._check_scheme(db)

    def append(self, actor: str, action: str, ticket_id: str | None, data: Mapping[str, Any]) -> AuditEntry:
        """``data`` must already be masked: the log is permanent by design, so a secret written here
        cannot be taken back. A `SecretStr` handed over unmasked is refused outright."""
        return self.append_many([(actor, action, ticket_id, data)])[0]

    def append_many(self, items: list[tuple[str, str, str | None, Mapping[str, Any]]], *,
                    entries: bool = True) -> list[AuditEntry]:
        """Several entries, chained in order, in one transaction: one commit (and fsync) for all of them,
        one anchor write, and a checkpoint of the last one when the batch reaches a checkpoint boundary.
        A busy engine writes a job batch's entries this way; each entry is what `append` would write.
        ``entries=False``: the caller does not read them back (the engine's `AuditWriter`), so none is
        built and the answer is empty; the rows written are the same (building the models cost a fifth of
        an append)."""
        prepared = []
        for actor, action, ticket_id, data in items:
            if not actor or not action:
                raise InvalidInputError("audit entries need an actor and an action",
                                        errors=[("actor/action", "empty")])
            if self.require_auth and not data.get("auth"):
                raise InvalidInputError(f"audit entry {action!r} does not say how {actor!r} was authenticated "
                                        "(data.auth)", errors=[("auth", "missing")])
            prepared.append((actor, action, ticket_id, normalise(data)))
        if not prepared:
            return []
        with self._writer():
            with self._tx() as db:
                self._check_scheme(db)
                last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                rows = chain_after(prepared, (last["seq"], last["hash"]) if last else (0, GENESIS), self.key)
                db.executemany(f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)  # noqa: S608
            first, seq, prev = rows[0][0], rows[-1][0], rows[-1][7]
            self._write_anchor(seq, prev)
            if seq // self.checkpoint_every > (first - 1) // self.checkpoint_every:
                self._write_checkpoint(seq, prev)
        return entries_of(rows, prepared) if entries else []

    def checkpoint(self) -> Checkpoint:
        """A signed checkpoint of the current head, also appended to the checkpoint file."""
        if self.key is None:
            raise ConfigurationError("an unkeyed audit log has no checkpoints (settings.audit.key)")
        with self._writer():
            seq, digest = self.head()
            return self._write_checkpoint(seq, digest) or checkpoints.sign(self.key, seq, digest)

    def entries(self, ticket_id: str | None = None, limit: int | None = None,
                after: int | None = None) -> list[AuditEntry]:
        """Oldest first; with ``limit``, the most recent ``limit`` entries (still oldest first);
        with ``after``, only entries whose seq is greater."""
        args: list[Any] = []
        clauses: list[str] = []
        if ticket_id is not None:
            clauses.append("ticket_id = ?")
            args.append(ticket_id)
        if after is not None:
            clauses.append("seq > ?")
            args.append(int(after))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        query = f"SELECT {_COLUMNS} FROM audit {where} ORDER BY seq DESC"  # noqa: S608
        if limit is not None:
            query += " LIMIT ?"
            args.append(max(int(limit), 0))
        with self._tx("DEFERRED") as db:
            rows = db.execute(query, args).fetchall()
        return [self._entry(row) for row in reversed(rows)]

    def count_since(self, action: str, after_seq: int = 0) -> tuple[int, int]:
        """How many entries of ``action`` come after ``after_seq``, and the newest seq: a caller that
        keeps a running total (the metrics endpoint) reads only what was appended since it last asked."""
        with self._tx("DEFERRED") as db:
            row = db.execute("SELECT COUNT(*) FILTER (WHERE action = ?), MAX(seq) FROM audit WHERE seq > ?",
                             (action, int(after_seq))).fetchone()
        return int(row[0]), int(row[1] if row[1] is not None else after_seq)

    def head(self) -> tuple[int, str]:
        """The newest ``(seq, hash)``."""
        with self._tx("DEFERRED") as db:
            last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (last["seq"], last["hash"]) if last else (0, GENESIS)

    def verify(self) -> AuditVerification:
        """Checks every entry's MAC, the chain of ``prev_hash`` and contiguous ``seq``, that the chain
        reaches the signed head anchor and every checkpoint in the file, and that the log was started
        with the configured key. Reads one consistent snapshot. The tickets are checked by
        `toolkit.audit.reconcile`, which adds to this."""
        problems: list[AuditProblem] = []
        with self._writer(shared=True), self._tx("DEFERRED") as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY seq").fetchall()  # noqa: S608
            meta = {row["name"]: row["value"] for row in db.execute("SELECT name, value FROM audit_meta")}
            anchor_text = self._read_anchor()
            checkpoint_lines = self.checkpoints.read() if self.checkpoints is not None else None
        problems.extend(verify_checks.check_meta(meta, self.key))
        found, hashes, last_seq = verify_checks.check_rows(rows, self.key)
        problems.extend(found)
        problems.extend(verify_checks.check_anchor(anchor_text, hashes, last_seq, self.key))
        valid = 0
        if self.key is not None and self.checkpoints is not None:
            found, valid = checkpoints.check_lines(self.key, self.checkpoints.path, checkpoint_lines, hashes,
                                                   last_seq, self.checkpoint_every)
            problems.extend(found)
        return AuditVerification(ok=not problems, entries=len(rows), problems=problems, checkpoints=valid)

    def _read_anchor(self) -> str | None:
        try:
            text = self.anchor_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def verify_or_raise(self) -> AuditVerification:
        result = self.verify()
        if not result.ok:
            listing = "; ".join(f"{'head' if p.seq is None else p.seq}: {p.problem}" for p in result.problems)
            raise IntegrityError(f"audit log {self.path} does not verify: {listing}",
                                 problems=[p.model_dump() for p in result.problems])
        return result

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        for key in ("lock_fd", "anchor_fd", "checkpoint_fd"):
            fd = getattr(self._local, key, None)
            if fd is not None and getattr(self._local, f"{key}_pid", None) == os.getpid():
                os.close(fd)
            setattr(self._local, key, None)
