"""Document settings (``settings.documents``): the letterhead (*kop surat*), its logo and the number patterns.

Imports nothing of the toolkit but the patterns module (pydantic and Pillow otherwise), so `toolkit.settings`
can embed it without an import cycle. Everything is checked when the settings load, so a deployment learns
of a bad logo or a colliding number pattern at start, not in the middle of a berita acara:

- the logo must really be a PNG or JPEG image (its content is opened with Pillow, the name proves nothing),
  no larger than ``logo_max_bytes`` nor than 4096 x 4096 pixels;
- every pattern passes `toolkit.letters.patterns` (``{seq}`` and ``{tahun}`` once each, known placeholders
  only), and no two types' patterns could give the same number; the default pattern, used by a type
  without its own, needs ``{kode}``.

The defaults are those of the lab's province (Pemerintah Provinsi Gorontalo, Dinas Komunikasi, Informatika
dan Statistik; the e-mail and website are the seeds'). The seeds give no street address or telephone: the
address is a default a deployment replaces, the telephone is left out until configured.
"""

from __future__ import annotations

import io
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from toolkit.letters.patterns import KODE, Pattern, PatternError, check_distinct

LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
MAX_LOGO_PIXELS = 4096
_TEXT = r"^[^\x00-\x1f\x7f]*$"  # one line: a letterhead field with a newline would break the layout

DEFAULT_NUMBERING: dict[str, str] = {
    "BA-INSTALASI-SERVER": "000.8/BA-INST/{seq}/{tahun}",
    "BA-PEMANFAATAN-PD": "000.8/BA-PD/{seq}/{tahun}",
    "BA-JIP": "000.8/BA-JIP/{seq}/{tahun}",
    "BA-API": "000.8/BA-API/{seq}/{tahun}",
}


def load_logo(path: Path, max_bytes: int) -> tuple[str, bytes]:
    """(media type, bytes) of a logo that is really a PNG or JPEG of a sane size; `ValueError` otherwise
    (the settings turn it into a `ConfigurationError` naming the key)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ValueError(f"logo {path} cannot be read: {exc.strerror}") from None
    if not path.is_file():
        raise ValueError(f"logo {path} is not a regular file")
    if size > max_bytes:
        raise ValueError(f"logo {path} is {size} bytes, more than logo_max_bytes ({max_bytes})")
    data = path.read_bytes()
    from PIL import Image, UnidentifiedImageError  # here: every CLI start imports the settings, few need Pillow

    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValueError(f"logo {path} is not a PNG or JPEG image") from None
    if kind not in LOGO_FORMATS:
        raise ValueError(f"logo {path} is a {kind} image; only PNG or JPEG are accepted")
    if width > MAX_LOGO_PIXELS or height > MAX_LOGO_PIXELS:
        raise ValueError(f"logo {path} is {width}x{height} pixels, more than {MAX_LOGO_PIXELS} on a side")
    return LOGO_FORMATS[kind], data


class LetterheadSettings(BaseModel):
    """The *kop surat* printed at the top of every PDF document."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    pemerintah: str = Field(default="PEMERINTAH PROVINSI GORONTALO", min_length=1, max_length=120, pattern=_TEXT)
    dinas: str = Field(default="DINAS KOMUNIKASI, INFORMATIKA DAN STATISTIK", min_length=1, max_length=160,
                       pattern=_TEXT)
    alamat: str = Field(default="Jl. Sapta Marga, Kelurahan Botu, Kota Gorontalo 96118", max_length=200,
                        pattern=_TEXT, description="street address (a default: the seeds give none)")
    telepon: str | None = Field(default=None, max_length=60, pattern=_TEXT)
    email: str | None = Field(default="kominfotik@gorontaloprov.go.id", max_length=120, pattern=r"^[^\s@]+@[^\s@]+$")
    website: str | None = Field(default="layanan.gorontaloprov.go.id", max_length=120, pattern=r"^\S+$")
    kota: str = Field(default="Gorontalo", min_length=1, max_length=60, pattern=_TEXT,
                      description="the place written before a document's date")


class DocumentSettings(BaseModel):
    """Each check sits on its own key, so a refusal names ``documents.logo`` or ``documents.numbering`` and
    where the value came from (the variable or the file's key)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kop: LetterheadSettings = LetterheadSettings()
    logo_max_bytes: int = Field(default=1024 * 1024, ge=1024, le=8 * 1024 * 1024)
    logo: Path | None = Field(default=None, description="the letterhead's logo (PNG or JPEG); None: the "
                                                        "built-in emblem")
    default_pattern: str = Field(default="000.8/{kode}/{seq}/{tahun}",
                                 description="the pattern of a type without its own; needs {kode}")
    numbering: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_NUMBERING),
                                      description="document type code (as the template names it) -> number "
                                                  "pattern with {seq}, {tahun}, optional {bulan}, {kode}")

    @field_validator("logo")
    @classmethod
    def _logo(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None:
            load_logo(value, int(info.data.get("logo_max_bytes", 1024 * 1024)))
        return value

    @field_validator("default_pattern")
    @classmethod
    def _default(cls, value: str) -> str:
        Pattern.parse(value, needs_kode=True)  # a PatternError is a ValueError
        return value

    @field_validator("numbering")
    @classmethod
    def _numbering(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(code for code in value if not KODE.fullmatch(code))
        if bad:
            raise ValueError(f"document type code(s) {bad} must match {KODE.pattern}")
        check_distinct({code: Pattern.parse(text) for code, text in value.items()})
        return value

    def patterns(self) -> dict[str, Pattern]:
        """The configured patterns, parsed (checked not to collide when the settings loaded)."""
        return {code: Pattern.parse(text) for code, text in self.numbering.items()}

    def pattern_for(self, kode: str) -> Pattern:
        """The pattern of ``kode``; for a type without its own, the default with the code filled in, refused
        (`PatternError`) when that could give a number of a configured type."""
        if not KODE.fullmatch(kode):
            raise PatternError(f"document type code {kode!r} must match {KODE.pattern}")
        configured = self.patterns()
        if kode in configured:
            return configured[kode]
        pattern = Pattern.parse(self.default_pattern, needs_kode=True)
        check_distinct({**configured, kode: pattern})
        return pattern
