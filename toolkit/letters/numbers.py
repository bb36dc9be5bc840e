"""Document numbers: a sequence per type and year, durable, never reused, the same for a re-rendered document.

A table in the state database (``state_dir/state.db``, `toolkit.sqlite_tx`), one row per issued number:
``(kode, ticket_id)`` is unique, so rendering the same document of the same ticket again returns the number it
got the first time, whatever year it is now; ``(kode, tahun, seq)`` and the number text are unique too. The
sequence counter lives in its own table and only ever grows: a number is committed *before* the document is
rendered, so a render that fails afterwards leaves the number with its ticket (the retry prints it again)
and no other document can ever get it. ``BEGIN IMMEDIATE`` makes read-then-increment one step across
threads and `spbe serve` processes. Should a configured pattern still give a number another type already
holds (the settings' check makes that impossible, the unique index makes it harmless), the take fails with
a `ConflictError` rather than issuing a duplicate.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from toolkit.errors import ConfigurationError, ConflictError
from toolkit.letters.config import DocumentSettings
from toolkit.letters.patterns import Pattern, PatternError
from toolkit.sqlite_tx import SqliteStore

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS document_sequences (
        kode TEXT NOT NULL, tahun INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (kode, tahun))""",
    """CREATE TABLE IF NOT EXISTS document_numbers (
        kode TEXT NOT NULL, tahun INTEGER NOT NULL, seq INTEGER NOT NULL, ticket_id TEXT NOT NULL,
        nomor TEXT NOT NULL UNIQUE, taken_at TEXT NOT NULL,
        PRIMARY KEY (kode, tahun, seq), UNIQUE (kode, ticket_id))""",
)


class DocumentNumbers(SqliteStore):
    """Issues document numbers from the patterns of ``settings.documents``; one connection per thread."""

    def __init__(self, path: Path, settings: DocumentSettings) -> None:
        super().__init__(path, "document numbers")
        self._settings = settings
        self._patterns: dict[str, Pattern] = {}
        self._create(*_SCHEMA)

    def pattern(self, kode: str) -> Pattern:
        found = self._patterns.get(kode)
        if found is None:
            try:
                found = self._settings.pattern_for(kode)
            except PatternError as exc:
                raise ConfigurationError(f"document numbers: {exc} (settings.documents.numbering)",
                                         kode=kode) from None
            self._patterns[kode] = found
        return found

    def take(self, *, ticket_id: str, kode: str, year: int, month: int) -> str:
        """The number of document type ``kode`` for ``ticket_id``: the one it already has, or the next of
        ``year``'s sequence (``month`` only fills ``{bulan}``)."""
        pattern = self.pattern(kode)
        with self._tx() as db:
            row = db.execute("SELECT nomor FROM document_numbers WHERE kode = ? AND ticket_id = ?",
                             (kode, ticket_id)).fetchone()
            if row is not None:
                return str(row["nomor"])
            db.execute("INSERT INTO document_sequences (kode, tahun, last) VALUES (?, ?, 1) "
                       "ON CONFLICT (kode, tahun) DO UPDATE SET last = last + 1", (kode, year))
            seq = int(db.execute("SELECT last FROM document_sequences WHERE kode = ? AND tahun = ?",
                                 (kode, year)).fetchone()["last"])
            nomor = pattern.format(seq=seq, tahun=year, bulan=month, kode=kode)
            try:
                db.execute("INSERT INTO document_numbers (kode, tahun, seq, ticket_id, nomor, taken_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           (kode, year, seq, ticket_id, nomor, datetime.now(UTC).isoformat()))
            except sqlite3.IntegrityError:
                raise ConflictError(f"document number {nomor} is already held by another document",
                                    kode=kode, nomor=nomor) from None
        return nomor

    def issued(self, kode: str | None = None) -> list[tuple[str, str, int, int]]:
        """(ticket, number, year, sequence) of every number issued (of one type), oldest first: for audits
        and tests."""
        query = "SELECT ticket_id, nomor, tahun, seq FROM document_numbers"
        args: tuple[str, ...] = ()
        if kode is not None:
            query, args = query + " WHERE kode = ?", (kode,)
        with self._tx() as db:
            rows = db.execute(query + " ORDER BY tahun, kode, seq", args).fetchall()
        return [(str(r["ticket_id"]), str(r["nomor"]), int(r["tahun"]), int(r["seq"])) for r in rows]
