"""What a rendered PDF is: its bytes, its pages and where each party signs.

Kept apart from `toolkit.letters.render` so that reading a document job's facts (the action module, the
signing step) does not import WeasyPrint, which only the process that lays a document out needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


class SignatureBox(BaseModel):
    """Where one party signs: ``page`` 1-based; ``x``, ``y`` the lower-left corner in PDF points from the
    page's lower-left; ``field`` a name fit for a PDF signature field."""

    model_config = ConfigDict(frozen=True)
    id: str
    field: str
    urutan: int
    label: str
    nama: str
    nip: str | None
    peran: str | None
    username: str | None
    page: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class RenderedPdf:
    pdf: bytes
    pages: int
    title: str | None
    signatures: tuple[SignatureBox, ...]
