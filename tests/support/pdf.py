"""PDF documents in tests and the benchmark: the sample berita acara (tests/support/document_samples.py) with
NIPs for its people, and looking at a PDF as a person would: the text (poppler's ``pdftotext``), the words
with their boxes (``pdftotext -bbox``) and a page as a picture (``pdftoppm``), kept as an artifact.

The first page's PNG goes to the test's own directory and, when ``SPBE_TEST_ARTIFACTS`` names a
directory, is copied there too (CI keeps it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path
from typing import Any

from PIL import Image

from integrations.state.document_numbers import DocumentNumberStore
from tests.support.document_samples import DIRECTORY, FakeDirectory, context, pusat_data_service
from toolkit.errors import NotFoundError
from toolkit.letters.kit import Letters
from toolkit.letters.numbers import DocumentNumbers
from toolkit.letters.render import PdfRenderer
from toolkit.ports.directory import Person
from toolkit.settings import Settings

APPLICANT = "pemohon"  # the role the sample ticket's requester signs as (the catalog's applicant role)
NIPS = {"rahmat": "198703152010011002", "fadli": "199001022015031004", "kadis": "197011241995031001"}


class SampleDirectory(FakeDirectory):
    """The whole `toolkit.ports.directory.Directory` port (an `ActionContext` checks it)."""

    def person_for_unix_user(self, unix_user: str) -> Person:
        raise NotFoundError(f"no person acts as {unix_user}")


PEOPLE = SampleDirectory([DIRECTORY.person(u).model_copy(update={"nip": NIPS.get(u)})
                          for u in ("rahmat", "sri", "kadis", "fadli", "nurul", "csirt1")])


def ba_context(letters: Letters, **changes: Any) -> dict[str, Any]:
    """The sample berita acara's context, numbered by ``letters``' store (as the action builds it)."""
    return context(pusat_data_service(), **{"directory": PEOPLE, "numbers": letters.numbers, **changes})


A4_PT = (595.28, 841.89)
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def letters_for(settings: Settings) -> Letters:
    """What `App.letters` builds, over a settings object (the tests' own state directory)."""
    register = DocumentNumberStore(settings.state_dir / "state.db")
    return Letters(DocumentNumbers(register, settings.documents, close_register=register.close),
                   lambda: PdfRenderer(settings.templates_dir, settings.documents))


def pdf_text(pdf: Path, *, layout: bool = False) -> str:
    args = ["pdftotext", *(["-layout"] if layout else []), str(pdf), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    match = re.search(r"^Pages:\s+(\d+)", info, re.M)
    assert match, info
    return int(match.group(1))


def words(pdf: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    """(word, xMin, yMin, xMax, yMax) on ``page`` (1-based), in points from the page's top-left."""
    html = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          check=True, capture_output=True, text=True).stdout
    return [(unescape(m.group(5)), float(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4)))
            for m in _WORD.finditer(html)]


def page_png(pdf: Path, out_dir: Path, *, page: int = 1, dpi: int = 72, name: str | None = None) -> Path:
    """``page`` as a PNG in ``out_dir`` (72 dpi: one pixel per point), copied to $SPBE_TEST_ARTIFACTS if set."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / (name or f"{pdf.stem}-p{page}")
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", str(pdf),
                    str(stem)], check=True)
    png = stem.with_suffix(".png")
    keep = os.environ.get("SPBE_TEST_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)
    return png


def ink(png: Path, box: tuple[int, int, int, int] | None = None) -> float:
    """The share of pixels that are not (nearly) white, in the whole image or in ``box`` (left, top, right,
    bottom in pixels)."""
    with Image.open(png) as image:
        gray = image.convert("L")
        if box is not None:
            gray = gray.crop(box)
        histogram = gray.histogram()
    total = sum(histogram)
    return sum(histogram[:230]) / total if total else 0.0
