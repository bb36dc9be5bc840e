"""``settings.documents``: a logo that is not an image or too large, and patterns that could collide, stop the
settings from loading with a `ConfigurationError` naming what is wrong (never a traceback, never at render time)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from toolkit.errors import ConfigurationError
from toolkit.letters.config import DEFAULT_NUMBERING, DocumentSettings
from toolkit.letters.patterns import PatternError
from toolkit.settings import load_settings


def image(kind: str, size: tuple[int, int] = (32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind)
    return out.getvalue()


def settings_with(state_dir: Path, **documents: Any) -> Any:
    return load_settings(state_dir=state_dir, documents=documents)


def test_defaults_are_the_labs_province(state_dir: Path) -> None:
    documents = load_settings(state_dir=state_dir).documents
    assert documents.kop.pemerintah == "PEMERINTAH PROVINSI GORONTALO"
    assert documents.kop.dinas == "DINAS KOMUNIKASI, INFORMATIKA DAN STATISTIK"
    assert documents.kop.email == "kominfotik@gorontaloprov.go.id"
    assert documents.logo is None
    assert documents.numbering == DEFAULT_NUMBERING


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_a_png_or_jpeg_logo_is_accepted(state_dir: Path, tmp_path: Path, kind: str) -> None:
    logo = tmp_path / f"logo.{kind.lower()}"
    logo.write_bytes(image(kind))
    assert settings_with(state_dir, logo=str(logo)).documents.logo == logo


@pytest.mark.parametrize(("content", "why"), [
    (b"%PDF-1.7 not an image", "not a PNG or JPEG image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "not a PNG or JPEG image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a PNG or JPEG image"),  # a PNG signature, then garbage
    (image("GIF"), "only PNG or JPEG"),
    (image("PNG", (5000, 10)), "more than 4096"),
])
def test_a_logo_that_is_not_a_usable_image_is_refused(state_dir: Path, tmp_path: Path, content: bytes,
                                                      why: str) -> None:
    logo = tmp_path / "logo.png"  # the name proves nothing: the content is opened
    logo.write_bytes(content)
    with pytest.raises(ConfigurationError, match=why) as caught:
        settings_with(state_dir, logo=str(logo))
    assert "documents" in str(caught.value)


def test_an_oversized_logo_is_refused_before_it_is_read(state_dir: Path, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(image("PNG") + b"\x00" * 2048)
    with pytest.raises(ConfigurationError, match="more than logo_max_bytes"):
        settings_with(state_dir, logo=str(logo), logo_max_bytes=1024)


def test_a_missing_logo_or_a_directory_is_refused(state_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read"):
        settings_with(state_dir, logo=str(tmp_path / "nope.png"))
    with pytest.raises(ConfigurationError, match="not a regular file"):
        settings_with(state_dir, logo=str(tmp_path))


@pytest.mark.parametrize(("numbering", "why"), [
    ({"BA-A": "000.8/BA/{seq}/{tahun}", "BA-B": "000.8/BA/{seq}/{tahun}"}, "could give the same number"),
    ({"BA-A": "A/{seq}/{tahun}", "BA-B": "A/1{seq}/{tahun}"}, "could give the same number"),
    ({"BA-A": "000.8/BA/{tahun}"}, "{seq}"),
    ({"BA-A": "000.8/BA/{seq}"}, "{tahun}"),
    ({"BA-A": "000.8/{nomor}/{seq}/{tahun}"}, "unknown placeholder"),
    ({"ba a": "A/{seq}/{tahun}"}, "must match"),
    ({"../X": "A/{seq}/{tahun}"}, "must match"),
])
def test_number_patterns_that_could_collide_are_refused(state_dir: Path, numbering: dict[str, str],
                                                        why: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(why)):
        settings_with(state_dir, numbering=numbering)


def test_a_default_pattern_without_kode_is_refused(state_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="kode"):
        settings_with(state_dir, default_pattern="000.8/{seq}/{tahun}")


def test_a_type_on_the_default_pattern_may_not_take_a_configured_types_numbers() -> None:
    documents = DocumentSettings(numbering={"BA-INSTALASI-SERVER": "000.8/BA-INST/{seq}/{tahun}"})
    assert documents.pattern_for("LAP-PD").text == "000.8/{kode}/{seq}/{tahun}"
    with pytest.raises(PatternError, match="could give the same number"):
        documents.pattern_for("BA-INST")  # 000.8/BA-INST/{seq}/{tahun} through the default
    with pytest.raises(PatternError, match="must match"):
        documents.pattern_for("x/../y")


@pytest.mark.parametrize("field", ["pemerintah", "dinas", "alamat", "kota"])
def test_letterhead_text_is_one_line(state_dir: Path, field: str) -> None:
    with pytest.raises(ConfigurationError, match=f"documents.kop.{field}"):
        settings_with(state_dir, kop={field: "DINAS\nLAIN"})
