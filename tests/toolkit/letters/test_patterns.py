"""Number patterns: what is refused, and "could collide" decided on the numbers, not on the pattern text."""

from __future__ import annotations

import re

import pytest

from toolkit.letters.patterns import Pattern, PatternError, check_distinct, could_collide


def p(text: str) -> Pattern:
    return Pattern.parse(text)


def test_format_fills_every_placeholder() -> None:
    pattern = p("000.8/{kode}/{seq}/{bulan}/{tahun}")
    assert pattern.format(seq=12, tahun=2026, bulan=11, kode="BA-INST") == "000.8/BA-INST/12/XI/2026"


@pytest.mark.parametrize(("text", "why"), [
    ("000.8/BA/{tahun}", "{seq}"),
    ("000.8/BA/{seq}", "{tahun}"),
    ("BA/{seq}/{seq}/{tahun}", "{seq}"),
    ("BA/{seq}/{tahun}/{nomor}", "unknown placeholder"),
    ("BA/{seq}/{tahun}/{{seq}}", "brace"),  # a Jinja-looking placeholder
    ("BA/{seq}/{tahun}}", "brace"),
    ("BA/{seq}/{tahun}\n", "control"),
    ("BA/{seq}/{tahun};$(id)" + "x" * 100, "at most"),
    ("", "non-empty"),
])
def test_malformed_patterns_are_refused(text: str, why: str) -> None:
    with pytest.raises(PatternError, match=re.escape(why)):
        p(text)


def test_the_default_pattern_needs_kode() -> None:
    with pytest.raises(PatternError, match="kode"):
        Pattern.parse("000.8/{seq}/{tahun}", needs_kode=True)


@pytest.mark.parametrize(("a", "b"), [
    ("000.8/BA/{seq}/{tahun}", "000.8/BA/{seq}/{tahun}"),  # the same text
    ("A/{seq}/{tahun}", "A/1{seq}/{tahun}"),  # A/12/2026 is both
    ("{seq}/{tahun}", "{tahun}/{seq}"),  # 2026/2026
    ("A/{seq}/{tahun}", "A/{seq}/{tahun}"),
    ("A-{bulan}/{seq}/{tahun}", "A-I{bulan}/{seq}/{tahun}"),  # A-II/.. is month II or I+I
    ("A/{seq}{tahun}", "A/1{seq}{tahun}"),  # A/12026 is seq 1 of 2026 and (1, 2026) too
])
def test_patterns_that_could_give_the_same_number_collide(a: str, b: str) -> None:
    assert could_collide(p(a), p(b))
    with pytest.raises(PatternError, match="could give the same number"):
        check_distinct({"X": p(a), "Y": p(b)})


@pytest.mark.parametrize(("a", "b"), [
    ("000.8/BA-INST/{seq}/{tahun}", "000.8/BA-PD/{seq}/{tahun}"),
    ("A/{seq}/{tahun}", "A/{seq}/X/{tahun}"),
    ("A/{seq}/{tahun}", "B/{seq}/{tahun}"),
    ("A/{seq}/{bulan}/{tahun}", "A/{seq}/{tahun}"),  # a Roman month is never four digits
])
def test_distinct_patterns_pass(a: str, b: str) -> None:
    assert not could_collide(p(a), p(b))
    check_distinct({"X": p(a), "Y": p(b)})


def test_kode_is_filled_in_before_comparing() -> None:
    default = p("000.8/{kode}/{seq}/{tahun}")
    check_distinct({"BA-X": default, "BA-Y": default})  # different codes: different numbers
    with pytest.raises(PatternError):
        check_distinct({"BA-X": default, "BA-Y": p("000.8/BA-X/{seq}/{tahun}")})
