"""The audit log: every decision (who approved, what ran, with which parameters, what changed),
append-only and tamper-evident.

Each entry's ``hash`` is the SHA-256 of the canonical JSON (sorted keys, no whitespace, UTF-8) of
all its other fields, and each entry carries the previous entry's hash (64 zeros for the first),
so editing or removing an entry breaks the chain from that point on. Removing the *last* entries
leaves a shorter chain that is still valid, so after each append the head ``{seq, hash}`` is also
written to ``<path>.head``; `AuditLog.verify` checks that the chain still reaches it.

What this does not stop: someone able to rewrite both the database and the anchor file can
rebuild a consistent chain. Copying the anchor (or `AuditLog.head`) somewhere that person cannot
write, such as the ticket itself or a remote log, closes that gap.

Callers mask secrets in ``data`` before appending (`toolkit.masking`): the log is permanent by
design, so a secret written here cannot be taken back. A `SecretStr` handed over unmasked is
refused outright, since serialising it would store either the secret or a useless placeholder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretBytes, SecretStr
from pydantic_core import PydanticSerializationError, to_jsonable_python

from toolkit.errors import IntegrityError, InvalidInputError, UnavailableError
from toolkit.private_files import open_private, private_dir, private_file

GENESIS = "0" * 64
_SCHEMA = """CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    ticket_id TEXT, data TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)"""
_COLUMNS = "seq, at, actor, action, ticket_id, data, prev_hash, hash"
_UNAVAILABLE_CODES = frozenset({5, 6, 10, 14, 15})  # BUSY, LOCKED, IOERR, CANTOPEN, PROTOCOL


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    seq: int
    at: datetime
    actor: str
    action: str
    ticket_id: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


class AuditProblem(BaseModel):
    """``seq`` is None for problems of the head anchor rather than of one entry."""

    model_config = ConfigDict(frozen=True)
    seq: int | None
    problem: str


class AuditVerification(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: bool
    entries: int
    problems: list[AuditProblem]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(seq: int, at: str, actor: str, action: str, ticket_id: str | None,
               data: Any, prev_hash: str) -> str:
    """The hash an entry must carry; ``at`` is the exact stored ISO text, not a re-rendering."""
    body = {"seq": seq, "at": at, "actor": actor, "action": action, "ticket_id": ticket_id,
            "data": data, "prev_hash": prev_hash}
    return hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


def _refuse_secrets(value: Any, where: str) -> None:
    if isinstance(value, SecretStr | SecretBytes):
        raise InvalidInputError(f"audit data {where} is a secret; mask it before logging",
                                errors=[(where, "secret value")])
    if isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_secrets(item, f"{where}.{key}")
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _refuse_secrets(item, f"{where}[{index}]")


def _normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``data`` into the plain JSON value that is stored and hashed, so that verifying from
    the stored text later reproduces the same hash."""
    _refuse_secrets(data, "data")
    try:
        normalised = json.loads(_canonical(to_jsonable_python(dict(data))))
    except (PydanticSerializationError, ValueError, TypeError) as exc:
        raise InvalidInputError(f"audit data is not JSON-serialisable: {exc}",
                                errors=[("data", "not JSON")]) from None
    return normalised  # type: ignore[no-any-return]


_ANCHOR_SIZE = 128


class AuditLog:
    def __init__(self, path: Path, *, busy_timeout_ms: int = 10000) -> None:
        self.path = Path(path)
        self.anchor_path = self.path.with_name(self.path.name + ".head")
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._local = threading.local()
        # A connection inherited through fork() is never closed by the child (closing it could
        # disturb the parent's WAL); it is kept referenced here instead.
        self._inherited: list[sqlite3.Connection] = []
        private_dir(self.path.parent)
        private_file(self.path)  # parameters may name people and hosts: owner-only, like the store
        with self._tx() as db:
            db.execute(_SCHEMA)

    # -- storage -------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        if conn is not None:
            self._inherited.append(conn)
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=self._busy_timeout_ms / 1000,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error:
            conn.close()
            raise
        conn.row_factory = sqlite3.Row
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
            if code in _UNAVAILABLE_CODES:
                raise UnavailableError(f"audit log unavailable: {exc}", path=str(self.path)) from None
            raise

    def _fd(self, name: str, path: Path) -> int:
        """One descriptor per thread and process, opened once: on slow filesystems an open() per
        append costs more than the append. Per thread because flock() locks an open file
        description, and threads sharing one would not exclude each other."""
        key = f"{name}_fd"
        fd: int | None = getattr(self._local, key, None)
        if fd is None or getattr(self._local, f"{key}_pid", None) != os.getpid():
            fd = open_private(path, os.O_RDWR)
            setattr(self._local, key, fd)
            setattr(self._local, f"{key}_pid", os.getpid())
        return fd

    @contextmanager
    def _writer(self, *, shared: bool = False) -> Iterator[None]:
        """Serialises the append *and* its anchor update across processes; without it a slower
        writer could put an older head into the anchor after a faster one wrote a newer head.
        `verify` holds it shared so the rows and the anchor it reads belong together."""
        fd = self._fd("lock", self._lock_path)
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
        pwrite of 128 bytes at offset 0: the file never changes size, so a reader sees the old or the
        new record). No fsync: after a power cut the anchor may lag the database, never lead it,
        and verify accepts a lagging anchor that matches its entry."""
        record = _canonical({"seq": seq, "hash": digest}).encode("utf-8").ljust(_ANCHOR_SIZE)
        os.pwrite(self._fd("anchor", self.anchor_path), record, 0)

    @staticmethod
    def _entry(row: sqlite3.Row) -> AuditEntry:
        data = dict(row)
        data["data"] = json.loads(data["data"])
        return AuditEntry.model_validate(data)

    # -- the log -------------------------------------------------------------------------------
    def append(self, actor: str, action: str, ticket_id: str | None, data: Mapping[str, Any]) -> AuditEntry:
        """``data`` must already be masked; see the module docstring."""
        if not actor or not action:
            raise InvalidInputError("audit entries need an actor and an action",
                                    errors=[("actor/action", "empty")])
        clean = _normalise(data)
        with self._writer():
            with self._tx() as db:
                last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
                at = datetime.now(UTC).isoformat(timespec="microseconds")
                digest = entry_hash(seq, at, actor, action, ticket_id, clean, prev)
                db.execute(f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                           (seq, at, actor, action, ticket_id, _canonical(clean), prev, digest))
            self._write_anchor(seq, digest)
        return AuditEntry(seq=seq, at=datetime.fromisoformat(at), actor=actor, action=action,
                          ticket_id=ticket_id, data=clean, prev_hash=prev, hash=digest)

    def entries(self, ticket_id: str | None = None, limit: int | None = None) -> list[AuditEntry]:
        """Oldest first; with ``limit``, the most recent ``limit`` entries (still oldest first)."""
        args: list[Any] = []
        where = ""
        if ticket_id is not None:
            where, args = "WHERE ticket_id = ?", [ticket_id]
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
        """The newest ``(seq, hash)``, for copying somewhere out of an attacker's reach."""
        with self._tx("DEFERRED") as db:
            last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (last["seq"], last["hash"]) if last else (0, GENESIS)

    def verify(self) -> AuditVerification:
        """Checks every entry's hash, the chain of ``prev_hash`` and contiguous ``seq``, and that
        the chain reaches the head anchor. Reads one consistent snapshot."""
        problems: list[AuditProblem] = []
        hashes: dict[int, str] = {}
        expected_seq, expected_prev = 1, GENESIS
        with self._writer(shared=True), self._tx("DEFERRED") as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY seq").fetchall()  # noqa: S608
            anchor_text = self._read_anchor()
        for row in rows:
            seq = row["seq"]
            if seq != expected_seq:
                problems.append(AuditProblem(seq=seq, problem=f"entries {expected_seq}..{seq - 1} missing"))
            elif row["prev_hash"] != expected_prev:
                problems.append(AuditProblem(seq=seq, problem="prev_hash does not match the previous entry"))
            try:
                recomputed = entry_hash(seq, row["at"], row["actor"], row["action"], row["ticket_id"],
                                        json.loads(row["data"]), row["prev_hash"])
            except ValueError:
                recomputed = ""
            if recomputed != row["hash"]:
                problems.append(AuditProblem(seq=seq, problem="hash does not match content (entry edited)"))
            hashes[seq] = row["hash"]
            expected_seq, expected_prev = seq + 1, row["hash"]
        problems.extend(self._check_anchor(anchor_text, hashes, expected_seq - 1))
        return AuditVerification(ok=not problems, entries=len(rows), problems=problems)

    def _read_anchor(self) -> str | None:
        try:
            text = self.anchor_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    @staticmethod
    def _check_anchor(text: str | None, hashes: dict[int, str], last_seq: int) -> list[AuditProblem]:
        if text is None:
            return [AuditProblem(seq=None, problem="head anchor is missing")] if hashes else []
        try:
            anchor = json.loads(text)
            seq, digest = int(anchor["seq"]), str(anchor["hash"])
        except (ValueError, KeyError, TypeError):
            return [AuditProblem(seq=None, problem="head anchor is unreadable")]
        if seq > last_seq:
            problem = f"entries after {last_seq} missing (head anchor is at {seq})"
            return [AuditProblem(seq=seq, problem=problem)]
        if hashes.get(seq) != digest:
            return [AuditProblem(seq=seq, problem="head anchor does not match the entry it names")]
        return []

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
        for key in ("lock_fd", "anchor_fd"):
            fd = getattr(self._local, key, None)
            if fd is not None and getattr(self._local, f"{key}_pid", None) == os.getpid():
                os.close(fd)
            setattr(self._local, key, None)
