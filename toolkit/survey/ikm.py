"""The Indeks Kepuasan Masyarakat (IKM) the way Permenpan RB No. 14 of 2017 (Pedoman Penyusunan Survei
Kepuasan Masyarakat Unit Penyelenggara Pelayanan Publik), Lampiran, computes it.

The regulation:

- nine elements (unsur) U1..U9, `ELEMENTS`, each answered on a scale of 1 (tidak sesuai / tidak puas) to
  4 (sangat sesuai / sangat puas);
- the mean of each element over the respondents (nilai rata-rata per unsur, NRR);
- every element weighs the same: "bobot nilai rata-rata tertimbang = jumlah bobot / jumlah unsur = 1/9",
  which the regulation prints as 0,111;
- IKM unit pelayanan = sum(NRR x bobot), converted to the 25..100 scale by x 25;
- the converted value gives the quality (mutu pelayanan) and the unit's performance (kinerja unit
  pelayanan) by the table of nilai interval konversi, `BANDS`:

  ==================  =====  ============
  nilai konversi      mutu   kinerja
  ==================  =====  ============
  25,00 - 64,99       D      Tidak Baik
  65,00 - 76,60       C      Kurang Baik
  76,61 - 88,30       B      Baik
  88,31 - 100,00      A      Sangat Baik
  ==================  =====  ============

**The weight is exactly 1/9, not the printed 0,111.** The regulation defines the weight as 1/jumlah unsur;
0,111 is that fraction written to three places. With 0,111 a survey where everyone answered 4 to
everything converts to 99,90 and one where everyone answered 1 to 24,98, so the regulation's own
conversion range (25,00 - 100,00) would be unreachable at both ends; with 1/9 it is exactly 25..100. The
difference is at most 0,1 point (the factor 0,999); tests/survey/test_ikm.py works an example both ways.

**The value is reported to two decimals, rounded half up, and the band is read on that figure**, because
the table's intervals are written to two decimals: 88,305 is neither "76,61 - 88,30" nor "88,31 -
100,00" until it is rounded (to 88,31, so A). The element means are kept unrounded: rounding each NRR
first would move the result.

The period is half-open, [start, end) on ``answered_at`` (a month is [1st, 1st of next)), so consecutive
periods never count an answer twice. The means are computed by SQLite (one GROUP BY over the
``(service_id, answered_at)`` index), never by loading the answers: a year of answers stays one query.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.survey.schema import ELEMENT_COLUMNS, db_time

ELEMENTS: dict[str, str] = {
    "U1": "Persyaratan",
    "U2": "Sistem, mekanisme dan prosedur",
    "U3": "Waktu penyelesaian",
    "U4": "Biaya/tarif",
    "U5": "Produk spesifikasi jenis pelayanan",
    "U6": "Kompetensi pelaksana",
    "U7": "Perilaku pelaksana",
    "U8": "Penanganan pengaduan, saran dan masukan",
    "U9": "Sarana dan prasarana",
}
# The SQL column of each element code.
COLUMNS: dict[str, str] = dict(zip(ELEMENTS, ELEMENT_COLUMNS, strict=True))

SCORE_MIN, SCORE_MAX = 1, 4
CONVERSION = Decimal(25)  # "nilai dasar 25": the 1..4 scale times 25 is the 25..100 scale
ALL_SERVICES = "*"  # the service_id of the overall row (`ikm_overall`)

Mutu = Literal["A", "B", "C", "D"]
# (lowest converted value of the band, mutu pelayanan, kinerja unit pelayanan), best band first.
BANDS: tuple[tuple[Decimal, Mutu, str], ...] = (
    (Decimal("88.31"), "A", "Sangat Baik"),
    (Decimal("76.61"), "B", "Baik"),
    (Decimal("65.00"), "C", "Kurang Baik"),
    (Decimal("25.00"), "D", "Tidak Baik"),
)
_CENT = Decimal("0.01")


class IkmRow(BaseModel):
    """The IKM of one service (or of all, ``service_id == ALL_SERVICES``) over one period."""

    model_config = ConfigDict(frozen=True)

    service_id: str
    respondents: int = Field(ge=1)
    element_means: dict[str, float]  # "U1".."U9" -> NRR, unrounded
    ikm: float  # converted (25..100), two decimals
    mutu: Mutu
    kinerja: str


def ikm_value(element_means: Mapping[str, float]) -> float:
    """The converted IKM (25..100, two decimals, half up) of the nine element means ("U1".."U9")."""
    if set(element_means) != set(ELEMENTS):
        raise ValueError(f"the IKM needs the means of exactly {', '.join(ELEMENTS)}")
    total = Decimal(0)
    for code, mean in element_means.items():
        if not (math.isfinite(mean) and SCORE_MIN <= mean <= SCORE_MAX):
            raise ValueError(f"the mean of {code} must lie in {SCORE_MIN}..{SCORE_MAX}, not {mean!r}")
        total += Decimal(repr(float(mean)))
    # sum(NRR x 1/9) x 25, with one division at the end so that no 1/9 is rounded on the way
    return float((total * CONVERSION / len(ELEMENTS)).quantize(_CENT, rounding=ROUND_HALF_UP))


def mutu(ikm: float) -> tuple[Mutu, str]:
    """(mutu pelayanan, kinerja unit pelayanan) of a converted IKM, read on its two-decimal figure."""
    if not math.isfinite(ikm):
        raise ValueError(f"a converted IKM lies in 25..100, not {ikm!r}")
    value = Decimal(repr(float(ikm))).quantize(_CENT, rounding=ROUND_HALF_UP)
    if not BANDS[-1][0] <= value <= Decimal(100):
        raise ValueError(f"a converted IKM lies in 25..100, not {ikm!r}")
    for floor, letter, kinerja in BANDS:
        if value >= floor:
            return letter, kinerja
    raise AssertionError("unreachable: the last band starts at the minimum")  # pragma: no cover


def _row(service_id: str, respondents: int, means: Mapping[str, float]) -> IkmRow:
    value = ikm_value(means)
    letter, kinerja = mutu(value)
    return IkmRow(service_id=service_id, respondents=respondents, element_means=dict(means), ikm=value,
                  mutu=letter, kinerja=kinerja)


def _period(start: datetime, end: datetime) -> tuple[str, str]:
    since, until = db_time(start), db_time(end)  # first: refuses a naive bound before comparing
    if end <= start:
        raise ValueError("the period must end after it starts")
    return since, until


_AVERAGES = ", ".join(f"AVG({column})" for column in ELEMENT_COLUMNS)


def ikm_by_service(conn: sqlite3.Connection, start: datetime, end: datetime,
                   service_id: str | None = None) -> list[IkmRow]:
    """The IKM of each service with at least one answer in [start, end), by service id; only
    ``service_id``'s when given. A service without answers has no row (no IKM without respondents)."""
    since, until = _period(start, end)
    where, args = "answered_at >= ? AND answered_at < ?", [since, until]
    if service_id is not None:
        where += " AND service_id = ?"
        args.append(service_id)
    rows = conn.execute(f"SELECT service_id, COUNT(*), {_AVERAGES} FROM survey_answers "  # noqa: S608 - fixed columns
                        f"WHERE {where} GROUP BY service_id ORDER BY service_id", args).fetchall()
    return [_row(row[0], int(row[1]), dict(zip(ELEMENTS, map(float, row[2:]), strict=True))) for row in rows]


def ikm_overall(conn: sqlite3.Connection, start: datetime, end: datetime) -> IkmRow | None:
    """The IKM of every answer in [start, end) taken together (service ``ALL_SERVICES``), ``None`` when
    there is none. Every respondent counts once, as the regulation's unit-wide survey does: a service
    with many answers weighs more than one with few (it is not the mean of the services' IKMs)."""
    since, until = _period(start, end)
    row = conn.execute(f"SELECT COUNT(*), {_AVERAGES} FROM survey_answers "  # noqa: S608 - fixed columns
                       "WHERE answered_at >= ? AND answered_at < ?", (since, until)).fetchone()
    if not row[0]:
        return None
    return _row(ALL_SERVICES, int(row[0]), dict(zip(ELEMENTS, map(float, row[1:]), strict=True)))
