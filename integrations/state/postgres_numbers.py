"""Document numbers (`toolkit.ports.state.DocumentNumberRegister`) in PostgreSQL, shared by every host.

The counter row is taken with ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, which locks it for the rest
of the transaction: two hosts numbering the same type and year go one after the other, each with its own
``seq``, and a number is committed before the document that prints it is rendered. The unique constraints of
revision 0004 are the last word, as in SQLite (`integrations.state.document_numbers`).
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from integrations.state.postgres_tx import PgStore, utc_now
from toolkit.errors import ConflictError


class PgDocumentNumbers(PgStore):
    def take(self, *, ticket_id: str, kode: str, year: int, number_of: Callable[[int], str]) -> str:
        try:
            with self._tx() as cur:
                cur.execute("SELECT nomor FROM document_numbers WHERE kode = %s AND ticket_id = %s",
                            (kode, ticket_id))
                row = cur.fetchone()
                if row is not None:
                    return str(row["nomor"])
                cur.execute("INSERT INTO document_sequences (kode, tahun, last) VALUES (%s, %s, 1) "
                            "ON CONFLICT (kode, tahun) DO UPDATE SET last = document_sequences.last + 1 "
                            "RETURNING last", (kode, year))
                counter = cur.fetchone()
                assert counter is not None  # noqa: S101 - RETURNING of an upsert always gives the row
                nomor = number_of(int(counter["last"]))
                cur.execute("INSERT INTO document_numbers (kode, tahun, seq, ticket_id, nomor, taken_at) "
                            "VALUES (%s, %s, %s, %s, %s, %s)",
                            (kode, year, int(counter["last"]), ticket_id, nomor, utc_now()))
        except psycopg.errors.UniqueViolation as exc:
            if "ticket" in str(exc.diag.constraint_name or ""):  # the same ticket, numbered by another host at once
                return self._held(kode, ticket_id)
            raise ConflictError("document number is already held by another document", kode=kode) from None
        return nomor

    def _held(self, kode: str, ticket_id: str) -> str:
        with self._tx() as cur:
            cur.execute("SELECT nomor FROM document_numbers WHERE kode = %s AND ticket_id = %s", (kode, ticket_id))
            row = cur.fetchone()
        if row is None:
            raise ConflictError("document number is already held by another document", kode=kode)
        return str(row["nomor"])

    def issued(self, kode: str | None = None) -> list[tuple[str, str, int, int]]:
        query = "SELECT ticket_id, nomor, tahun, seq FROM document_numbers"
        args: tuple[str, ...] = ()
        if kode is not None:
            query, args = query + " WHERE kode = %s", (kode,)
        with self._tx() as cur:
            cur.execute(query + " ORDER BY tahun, kode, seq", args)
            rows = cur.fetchall()
        return [(str(r["ticket_id"]), str(r["nomor"]), int(r["tahun"]), int(r["seq"])) for r in rows]
