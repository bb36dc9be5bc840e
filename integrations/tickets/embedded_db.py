"""The embedded ticket store's file: its schema, connections, transactions and row helpers (`EmbeddedDb`).

`integrations.tickets.embedded.EmbeddedTicketStore` adds the `TicketSystem` methods on top. Reads are
``BEGIN DEFERRED`` (WAL readers never wait); writes are ``BEGIN IMMEDIATE``, one at a time per process on
a `WriterGate`, and a busy or unreadable file is reported as `UnavailableError`, which callers retry.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from integrations.queue.writer_gate import WriterGate
from integrations.tickets.embedded_rows import RowModels, to_json
from toolkit.at_rest import MAGIC, Sealer, is_sealed
from toolkit.domain.tickets.models import AttachmentUpload, EventKind, NewEvent, Ticket, TimelineEvent
from toolkit.errors import (
    ConfigurationError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
)
from toolkit.settings import Settings
from toolkit.sqlite_tx import UNAVAILABLE_CODES, connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY, year INTEGER NOT NULL, num INTEGER NOT NULL,
    service_id TEXT NOT NULL, title TEXT NOT NULL, requester TEXT NOT NULL, fields TEXT NOT NULL,
    status TEXT NOT NULL, assignee TEXT, sla_variant TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (year, num));
CREATE INDEX IF NOT EXISTS tickets_filter ON tickets(status, service_id);
CREATE INDEX IF NOT EXISTS tickets_requester ON tickets(requester, year, num);
CREATE TABLE IF NOT EXISTS attachments (
    ticket_id TEXT NOT NULL REFERENCES tickets(id), name TEXT NOT NULL, media_type TEXT NOT NULL,
    size INTEGER NOT NULL, sha256 TEXT NOT NULL, kind TEXT, content BLOB NOT NULL,
    added_by TEXT NOT NULL, added_at TEXT NOT NULL, PRIMARY KEY (ticket_id, name));
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id TEXT NOT NULL REFERENCES tickets(id),
    at TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, text TEXT NOT NULL,
    step_id TEXT, data TEXT NOT NULL, dedupe_key TEXT UNIQUE);
CREATE INDEX IF NOT EXISTS events_ticket ON events(ticket_id, seq)
"""
_TICKET_COLUMNS = ("id, service_id, title, requester, fields, status, assignee, sla_variant, "
                   "created_at, updated_at")
_REF_COLUMNS = "ticket_id, name, media_type, size, sha256, kind, added_by, added_at"
_EVENT_COLUMNS = "seq, ticket_id, at, kind, actor, text, step_id, data"
# ``PRAGMA user_version`` from which every attachment's content is known to be sealed (`toolkit.at_rest`);
# a file of an older version (0) has its plaintext attachments sealed once, when a key is available.
SEALED_VERSION = 1
_MIGRATE_BATCH = 32


def attachment_context(ticket_id: str, name: str) -> bytes:
    """What an attachment's ciphertext is bound to: a blob moved to another row does not decrypt."""
    return b"attachment\0" + ticket_id.encode("utf-8") + b"\0" + name.encode("utf-8")


class EmbeddedDb:
    path: Path
    _busy_timeout_ms: int
    _clock: Callable[[], datetime]
    _rows: RowModels
    _gate: WriterGate
    _local: threading.local
    _lock: threading.Lock
    _open: list[sqlite3.Connection]
    _inherited: list[sqlite3.Connection]
    _settings: Settings
    _at_rest: Sealer | None

    # -- connections and transactions ---------------------------------------------------------
    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF in UNAVAILABLE_CODES:
                raise UnavailableError(f"ticket store unavailable: {exc}", path=str(self.path)) from None
            raise
        except OSError as exc:
            raise UnavailableError(f"ticket store unavailable: {exc.strerror}", path=str(self.path)) from None

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        if conn is not None:
            self._inherited.append(conn)
        conn = connect(self.path, busy_timeout_ms=self._busy_timeout_ms, foreign_keys=True)
        conn.execute("PRAGMA secure_delete=ON")  # freed pages (a migrated plaintext) are zeroed, not left behind
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._lock:
            self._open.append(conn)
        return conn

    @contextmanager
    def _tx(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        if mode != "IMMEDIATE":  # readers never wait in WAL mode
            with self._tx_unguarded(mode) as db:
                yield db
            return
        with self._gate.held(), self._tx_unguarded(mode) as db:  # this process's writers, one at a time
            yield db

    @contextmanager
    def _tx_unguarded(self, mode: str) -> Iterator[sqlite3.Connection]:
        with self._guard():
            conn = self._conn()
            conn.execute(f"BEGIN {mode}")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                try:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                except sqlite3.Error:  # state unknown: let the next call start on a fresh connection
                    self._local.conn = None
                    with suppress(sqlite3.Error):
                        conn.close()
                raise

    def close(self) -> None:
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise InvalidInputError("the store's clock returned a naive datetime")
        return now.astimezone(UTC)

    # -- rows --------------------------------------------------------------------------------
    def _tickets(self, db: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[Ticket]:
        query = f"SELECT {_TICKET_COLUMNS} FROM tickets {where} ORDER BY year, num"  # noqa: S608
        rows = db.execute(query, args).fetchall()
        refs: dict[str, list[sqlite3.Row]] = {}
        query = (f"SELECT {_REF_COLUMNS} FROM attachments WHERE ticket_id IN "  # noqa: S608
                 f"(SELECT id FROM tickets {where}) ORDER BY added_at, rowid")
        for ref_row in db.execute(query, args):
            refs.setdefault(ref_row["ticket_id"], []).append(ref_row)
        return [self._rows.ticket(row, refs.get(row["id"], ())) for row in rows]

    def _ticket(self, db: sqlite3.Connection, ticket_id: str) -> Ticket:
        found = self._tickets(db, "WHERE id = ?", (ticket_id,))
        if not found:
            raise NotFoundError(f"ticket {ticket_id} not found", ticket=ticket_id)
        return found[0]

    @staticmethod
    def _require(db: sqlite3.Connection, ticket_id: str) -> sqlite3.Row:
        query = "SELECT status, assignee FROM tickets WHERE id = ?"
        row: sqlite3.Row | None = db.execute(query, (ticket_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"ticket {ticket_id} not found", ticket=ticket_id)
        return row

    @staticmethod
    def _by_key(
        db: sqlite3.Connection, key: str | None, ticket_id: str, kind: EventKind
    ) -> sqlite3.Row | None:
        """The event already recorded under ``key``, if any. A key reused for another ticket or
        another kind of event is a caller's bug, and answering with the unrelated event would hide it."""
        if key is None:
            return None
        query = f"SELECT {_EVENT_COLUMNS} FROM events WHERE dedupe_key = ?"  # noqa: S608
        row: sqlite3.Row | None = db.execute(query, (key,)).fetchone()
        if row is not None and (row["ticket_id"] != ticket_id or row["kind"] != kind):
            raise ConflictError(
                f"dedupe key '{key}' already names a {row['kind']} event on {row['ticket_id']}",
                dedupe_key=key, ticket=row["ticket_id"],
            )
        return row

    def _add_event(self, db: sqlite3.Connection, ticket_id: str, event: NewEvent, at: datetime) -> int | sqlite3.Row:
        """Insert: the new event's seq; or the row already stored under the same dedupe key. ``ON CONFLICT DO
        NOTHING`` keeps this correct even without the write lock; the SELECT first only spares an
        AUTOINCREMENT value, which a conflicting insert would otherwise consume and leave as a gap."""
        earlier = self._by_key(db, event.dedupe_key, ticket_id, event.kind)
        if earlier is not None:
            return earlier
        cur = db.execute(
            "INSERT INTO events (ticket_id, at, kind, actor, text, step_id, data, dedupe_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING",
            (ticket_id, at.isoformat(), event.kind.value, event.actor, event.text, event.step_id,
             to_json(event.data), event.dedupe_key),
        )
        if cur.rowcount == 1 and cur.lastrowid is not None:
            return cur.lastrowid
        row = self._by_key(db, event.dedupe_key, ticket_id, event.kind)
        assert row is not None
        return row

    def _insert_event(
        self, db: sqlite3.Connection, ticket_id: str, event: NewEvent, at: datetime
    ) -> sqlite3.Row:
        """Insert, or return the event already stored under the same dedupe key (`_add_event`)."""
        added = self._add_event(db, ticket_id, event, at)
        if not isinstance(added, int):
            return added
        db.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (at.isoformat(), ticket_id))
        query = f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq = ?"  # noqa: S608
        row: sqlite3.Row | None = db.execute(query, (added,)).fetchone()
        assert row is not None
        return row

    @staticmethod
    def _attachment(db: sqlite3.Connection, ticket_id: str, name: str) -> sqlite3.Row | None:
        query = f"SELECT {_REF_COLUMNS} FROM attachments WHERE ticket_id = ? AND name = ?"  # noqa: S608
        row: sqlite3.Row | None = db.execute(query, (ticket_id, name)).fetchone()
        return row

    # -- attachment content, encrypted at rest ------------------------------------------------------
    def _sealer(self) -> Sealer:
        """The key of ``settings.vault.key``, resolved when an attachment is first written or read (a
        store that only reads tickets works without it); a `ConfigurationError` naming it otherwise."""
        if self._at_rest is None:
            self._at_rest = Sealer.from_settings(self._settings)
        return self._at_rest

    def _insert_attachment(
        self, db: sqlite3.Connection, ticket_id: str, upload: AttachmentUpload, actor: str, at: datetime,
        sealed: bytes | None = None,
    ) -> None:
        """``size`` and ``sha256`` describe the plaintext (what the ticket shows and dedupe compares);
        ``content`` is the sealed blob (``sealed``: already sealed by the caller, outside the write lock)."""
        if sealed is None:
            sealed = self._sealer().seal(upload.content, attachment_context(ticket_id, upload.name))
        db.execute(
            "INSERT INTO attachments (ticket_id, name, media_type, size, sha256, kind, content,"
            " added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ticket_id, upload.name, upload.media_type, len(upload.content),
             hashlib.sha256(upload.content).hexdigest(), upload.kind, sealed, actor, at.isoformat()),
        )

    def _plaintext(self, ticket_id: str, name: str, raw: bytes, sha256: str) -> bytes:
        """The stored content in clear, checked against its recorded SHA-256. A blob without the marker
        is plaintext from an older version; one with the marker that hashes to the recorded value is
        too (a plaintext that happened to start with it)."""
        what = f"attachment '{name}' of {ticket_id}"
        if is_sealed(raw):
            try:
                content = self._sealer().open(raw, attachment_context(ticket_id, name), what=what)
            except (IntegrityError, ConfigurationError):
                if hashlib.sha256(raw).hexdigest() != sha256:
                    raise
                content = raw
        else:
            content = raw
        if hashlib.sha256(content).hexdigest() != sha256:
            raise IntegrityError(f"{what} does not match its recorded sha256", ticket=ticket_id, name=name)
        return content

    def seal_legacy_attachments(self) -> int:
        """Seal the plaintext attachments an older version stored (once per file: ``user_version``
        records that none is left), in short write transactions. Without a key nothing is changed and
        the plaintext stays readable. Freed pages are zeroed (``secure_delete``) and the WAL truncated,
        so no copy of the plaintext stays in the file. Returns how many were sealed."""
        with self._tx("DEFERRED") as db:
            (version,) = db.execute("PRAGMA user_version").fetchone()
        if version >= SEALED_VERSION:
            return 0
        try:
            sealer = self._sealer()
        except ConfigurationError:  # no key: leave the plaintext (readable) and the version as they are
            with self._tx() as db:
                if db.execute("SELECT 1 FROM attachments LIMIT 1").fetchone() is None:
                    db.execute(f"PRAGMA user_version = {SEALED_VERSION}")  # nothing to seal, ever
            return 0
        sealed, last, done = 0, 0, False
        while not done:  # one attachment's content in memory at a time, a short transaction per batch
            with self._tx() as db:
                rows = db.execute("SELECT rowid, ticket_id, name, sha256, substr(content, 1, ?) AS head "
                                  "FROM attachments WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                  (len(MAGIC), last, _MIGRATE_BATCH)).fetchall()
                for row in rows:
                    last = row["rowid"]
                    (raw,) = db.execute("SELECT content FROM attachments WHERE rowid = ?", (last,)).fetchone()
                    raw = bytes(raw)
                    if is_sealed(bytes(row["head"])) and hashlib.sha256(raw).hexdigest() != row["sha256"]:
                        continue  # sealed already (by a migration cut short), not a plaintext starting like a blob
                    blob = sealer.seal(raw, attachment_context(row["ticket_id"], row["name"]))
                    db.execute("UPDATE attachments SET content = ? WHERE rowid = ?", (blob, last))
                    sealed += 1
                if not rows:
                    db.execute(f"PRAGMA user_version = {SEALED_VERSION}")
                    done = True
        if sealed:
            with self._guard():
                self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return sealed

    def _events(self, db: sqlite3.Connection, ticket_id: str) -> list[TimelineEvent]:
        query = f"SELECT {_EVENT_COLUMNS} FROM events WHERE ticket_id = ? ORDER BY seq"  # noqa: S608
        return [self._rows.event(row) for row in db.execute(query, (ticket_id,)).fetchall()]
