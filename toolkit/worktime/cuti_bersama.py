"""The site file of *cuti bersama*: the collective-leave days a joint ministerial decree (SKB) sets each year.

The national holidays come from the holidays library; cuti bersama are decided year by year and a region
may add its own, so they are the site's data, kept in a YAML file the deployment edits
(``settings.worktime.cuti_bersama_file``; the shipped one is ``inventory/cuti_bersama.yml``)::

    dasar: SKB Menteri Agama, Menteri Ketenagakerjaan dan Menteri PANRB ...
    hari:
      - {tanggal: 2026-12-24, keterangan: Cuti Bersama Hari Raya Natal}

The file is validated like every input: a date that does not exist (2026-02-30), a date written as text
in another shape, a description with a newline, markup or shell characters, a repeated date, an unknown
key or an oversized file is refused with a `ConfigurationError` naming the file and the entry.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from toolkit.domain.yaml_doc import safe_load
from toolkit.errors import ConfigurationError

MAX_FILE_BYTES = 256 * 1024
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# Letters (Indonesian names of feasts), digits, spaces and the punctuation such names use; nothing that
# starts markup, a template, a shell expansion or a new line.
Description = Annotated[str, StringConstraints(pattern=r"^[\w .,'()-]{1,120}$")]


def _no_dot_runs(value: str | None) -> str | None:
    if value is not None and ".." in value:
        raise ValueError("a description has no '..'")
    return value


class CutiBersama(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    tanggal: dt.date
    keterangan: Description

    _plain = field_validator("keterangan")(_no_dot_runs)

    @field_validator("tanggal", mode="before")
    @classmethod
    def _a_real_date(cls, value: object) -> object:
        """YAML reads ``2026-12-24`` as a date already; text is accepted only as ``YYYY-MM-DD``."""
        if isinstance(value, dt.datetime):
            raise ValueError("a date without a time of day")
        if isinstance(value, str):
            if not _ISO_DATE.fullmatch(value):
                raise ValueError(f"a date is written YYYY-MM-DD, got {value[:20]!r}")
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"a date that does not exist: {value}") from None
        return value


class CutiBersamaFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    dasar: Description | None = None
    hari: tuple[CutiBersama, ...] = Field(default=(), max_length=1000)

    _plain = field_validator("dasar")(_no_dot_runs)

    @field_validator("hari")
    @classmethod
    def _once(cls, days: tuple[CutiBersama, ...]) -> tuple[CutiBersama, ...]:
        seen: set[dt.date] = set()
        for day in days:
            if day.tanggal in seen:
                raise ValueError(f"{day.tanggal.isoformat()} is listed twice")
            seen.add(day.tanggal)
        return days

    def dates(self) -> frozenset[dt.date]:
        return frozenset(day.tanggal for day in self.hari)


def load_cuti_bersama(path: Path) -> CutiBersamaFile:
    """The validated file; a missing, unreadable, oversized or malformed file is a `ConfigurationError`
    (the message names the file and the entry, never echoes more than a short piece of it)."""
    where = f"cuti bersama file {path}"
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigurationError(f"{where} is larger than {MAX_FILE_BYTES} bytes", path=str(path))
        raw = safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{where} does not exist (settings.worktime.cuti_bersama_file)",
                                 path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{where} cannot be read: {exc.__class__.__name__}", path=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError(f"{where}{line}: not valid YAML", path=str(path)) from None
    except ValueError as exc:  # YAML's own date type: 2026-02-30 fails while the file is read
        raise ConfigurationError(f"{where}: a date that does not exist ({exc})", path=str(path)) from None
    try:
        return CutiBersamaFile.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigurationError(f"{where}: {key or 'file'}: {first['msg']}", path=str(path),
                                 errors=[(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()],
                                 ) from None
