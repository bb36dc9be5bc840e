"""Small helpers both adapters share: trust roots from PEM files, the time printed in a signature box."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from toolkit.errors import ConfigurationError

_BULAN = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")
_LABELS = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def load_roots(paths: Iterable[Path]) -> list[asn1_x509.Certificate]:
    roots = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"trust root {path} cannot be read: {exc.strerror}") from None
        blocks = [der for _, _, der in pem.unarmor(data, multiple=True)] if pem.detect(data) else [data]
        roots += [asn1_x509.Certificate.load(der) for der in blocks]
    return roots


def local_time_label(moment: datetime, zone: ZoneInfo, label: str | None = None) -> str:
    """``7 Desember 2026 10:15 WITA``: the time a reader of the document expects, in Bahasa Indonesia."""
    local = moment.astimezone(zone)
    label = label or _LABELS.get(str(zone.key), local.strftime("%Z"))
    return f"{local.day} {_BULAN[local.month - 1]} {local.year} {local:%H:%M} {label}"
