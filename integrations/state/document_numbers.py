"""Document numbers (`toolkit.ports.state.DocumentNumberRegister`) in ``state.db``.

``BEGIN IMMEDIATE`` makes read-then-increment one step across threads and `spbe serve` processes; the
counter table only ever grows, and a number is committed before the document that prints it is rendered
(`toolkit.letters.numbers` says why). The unique indexes are the last word: a number text already held by
another type is a `ConflictError`, never a duplicate.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from toolkit.errors import ConflictError
from toolkit.sqlite_tx import SqliteStore

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS document_sequences (
        kode TEXT NOT NULL, tahun INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (kode, tahun))""",
    """CREATE TABLE IF NOT EXISTS document_numbers (
        kode TEXT NOT NULL, tahun INTEGER NOT NULL, seq INTEGER NOT NULL, ticket_id TEXT NOT NULL,
        nomor TEXT NOT NULL UNIQUE, taken_at TEXT NOT NULL,
        PRIMARY KEY (kode, tahun, seq), UNIQUE (kode, ticket_id))""",
)


class DocumentNumberStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "document numbers")
        self._create(*_SCHEMA)

    def take(self, *, ticket_id: str, kode: str, year: int, number_of: Callable[[int], str]) -> str:
        with self._tx() as db:
            row = db.execute("SELECT nomor FROM document_numbers WHERE kode = ? AND ticket_id = ?",
                             (kode, ticket_id)).fetchone()
            if row is not None:
                return str(row["nomor"])
            db.execute("INSERT INTO document_sequences (kode, tahun, last) VALUES (?, ?, 1) "
                       "ON CONFLICT (kode, tahun) DO UPDATE SET last = last + 1", (kode, year))
            seq = int(db.execute("SELECT last FROM document_sequences WHERE kode = ? AND tahun = ?",
                                 (kode, year)).fetchone()["last"])
            nomor = number_of(seq)
            try:
                db.execute("INSERT INTO document_numbers (kode, tahun, seq, ticket_id, nomor, taken_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           (kode, year, seq, ticket_id, nomor, datetime.now(UTC).isoformat()))
            except sqlite3.IntegrityError:
                raise ConflictError(f"document number {nomor} is already held by another document",
                                    kode=kode, nomor=nomor) from None
        return nomor

    def issued(self, kode: str | None = None) -> list[tuple[str, str, int, int]]:
        query = "SELECT ticket_id, nomor, tahun, seq FROM document_numbers"
        args: tuple[str, ...] = ()
        if kode is not None:
            query, args = query + " WHERE kode = ?", (kode,)
        with self._tx() as db:
            rows = db.execute(query + " ORDER BY tahun, kode, seq", args).fetchall()
        return [(str(r["ticket_id"]), str(r["nomor"]), int(r["tahun"]), int(r["seq"])) for r in rows]
