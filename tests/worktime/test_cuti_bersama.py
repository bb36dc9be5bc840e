"""The site file of cuti bersama: the shipped one loads; a malformed one is refused with a ConfigurationError
that names the file and the entry, and no calendar is built from it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import spbe_data
from toolkit.domain.catalog.models import TimeUnit
from toolkit.errors import ConfigurationError
from toolkit.worktime.calendars import Calendars
from toolkit.worktime.config import WorktimeSettings
from toolkit.worktime.cuti_bersama import MAX_FILE_BYTES, load_cuti_bersama


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cuti_bersama.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_covers_this_year_and_the_next() -> None:
    shipped = load_cuti_bersama(spbe_data.data_path("inventory", "cuti_bersama.yml"))
    assert WorktimeSettings().cuti_bersama_file == spbe_data.data_path("inventory", "cuti_bersama.yml")
    years = {day.tanggal.year for day in shipped.hari}
    assert {2026, 2027} <= years
    assert date(2026, 12, 24) in shipped.dates()
    assert all(day.tanggal.weekday() < 5 for day in shipped.hari)  # a cuti bersama on a weekend means nothing


def test_an_empty_file_means_no_cuti_bersama(tmp_path: Path) -> None:
    assert load_cuti_bersama(write(tmp_path, "# none this year\n")).dates() == frozenset()


@pytest.mark.parametrize(("text", "problem"), [
    ("hari:\n  - {tanggal: 2026-02-30, keterangan: Cuti}\n", "does not exist"),
    ("hari:\n  - {tanggal: '2026-02-30', keterangan: Cuti}\n", "hari.0.tanggal"),
    ("hari:\n  - {tanggal: 30-12-2026, keterangan: Cuti}\n", "YYYY-MM-DD"),
    ("hari:\n  - {tanggal: '2026-12-24T00:00:00', keterangan: Cuti}\n", "YYYY-MM-DD"),
    ("hari:\n  - {tanggal: 2026-12-24 08:00:00, keterangan: Cuti}\n", "without a time"),
    ("hari:\n  - {tanggal: 20261224, keterangan: Cuti}\n", "hari.0.tanggal"),
    ("hari:\n  - {tanggal: 2026-12-24}\n", "hari.0.keterangan"),
    ("hari:\n  - {tanggal: 2026-12-24, keterangan: Natal}\n  - {tanggal: 2026-12-24, keterangan: Natal}\n",
     "listed twice"),
    ("hari:\n  - {tanggal: 2026-12-24, keterangan: Natal, libur: true}\n", "hari.0.libur"),
    ("tahun: 2026\n", "tahun"),
    ("- 2026-12-24\n", "file"),
    ("hari: [\n", "not valid YAML"),
    ("hari:\n  - {tanggal: 2026-12-24, keterangan: !!python/object/apply:os.system [id]}\n", "not valid YAML"),
])
def test_a_malformed_file_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError, match=problem) as refused:
        load_cuti_bersama(path)
    assert str(path) in str(refused.value)


@pytest.mark.parametrize("hostile", ["Natal\nhari: []", "Natal; rm -rf /", "$(reboot)", "`id`", "{{ 7*7 }}",
                                     "{% raw %}", "../../etc/passwd", "<script>alert(1)</script>", "Natal | x",
                                     "[x](http://evil)", "x" * 121, ""])
def test_injection_in_a_description_is_refused(tmp_path: Path, hostile: str) -> None:
    path = tmp_path / "cuti.yml"
    import yaml

    path.write_text(yaml.safe_dump({"hari": [{"tanggal": date(2026, 12, 24), "keterangan": hostile}]}),
                    encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"hari\.0\.keterangan"):
        load_cuti_bersama(path)


def test_an_oversized_or_missing_file_is_refused(tmp_path: Path) -> None:
    big = write(tmp_path, "# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(ConfigurationError, match="larger than"):
        load_cuti_bersama(big)
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_cuti_bersama(tmp_path / "absent.yml")
    (tmp_path / "binary.yml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_cuti_bersama(tmp_path / "binary.yml")


def test_a_broken_file_stops_working_time_clocks_only(tmp_path: Path) -> None:
    """A calendar-time SLA never reads the site file; a hari kerja one cannot be counted without it."""
    cal = Calendars(WorktimeSettings(cuti_bersama_file=write(tmp_path, "hari: [\n"))).for_zone("Asia/Jakarta")
    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert cal.deadline(start, timedelta(hours=8), TimeUnit.KALENDER) == start + timedelta(hours=8)
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        cal.deadline(start, timedelta(days=1), TimeUnit.HARI_KERJA)
