"""Document numbers: a sequence per type and year, durable, never reused, the same for a re-rendered document.

A register of the state stores (`toolkit.ports.state.DocumentNumberRegister`), one row per issued number:
``(kode, ticket_id)`` is unique, so rendering the same document of the same ticket again returns the number it
got the first time, whatever year it is now; ``(kode, tahun, seq)`` and the number text are unique too. The
sequence counter lives in its own table and only ever grows: a number is committed *before* the document is
rendered, so a render that fails afterwards leaves the number with its ticket (the retry prints it again)
and no other document can ever get it. The register makes read-then-increment one step across threads,
`spbe serve` processes and, on PostgreSQL, hosts. Should a configured pattern still give a number another type already
holds (the settings' check makes that impossible, the unique index makes it harmless), the take fails with
a `ConflictError` rather than issuing a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Self

from toolkit.errors import ConfigurationError
from toolkit.letters.config import DocumentSettings
from toolkit.letters.patterns import Pattern, PatternError
from toolkit.ports.state import DocumentNumberRegister


class DocumentNumbers:
    """Issues document numbers from the patterns of ``settings.documents`` into the deployment's register
    (`toolkit.ports.state.DocumentNumberRegister`: ``state.db`` embedded, PostgreSQL shared by every host)."""

    def __init__(self, register: DocumentNumberRegister, settings: DocumentSettings, *,
                 close_register: Callable[[], None] | None = None) -> None:
        self.register = register
        self._settings = settings
        self._patterns: dict[str, Pattern] = {}
        self._close_register = close_register  # a register of its own (tests, benchmarks); the App's is the state's

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
        return self.register.take(ticket_id=ticket_id, kode=kode, year=year,
                                  number_of=lambda seq: pattern.format(seq=seq, tahun=year, bulan=month, kode=kode))

    def issued(self, kode: str | None = None) -> list[tuple[str, str, int, int]]:
        """(ticket, number, year, sequence) of every number issued (of one type), oldest first: for audits
        and tests."""
        return self.register.issued(kode)

    def close(self) -> None:
        if self._close_register is not None:
            self._close_register()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
