"""The IKM of Permenpan RB No. 14 of 2017 (`toolkit.survey.ikm`): a worked example in the regulation's
steps, the band edges of its conversion table, and the SQL that computes it per service and period."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from toolkit.survey.ikm import ALL_SERVICES, ELEMENTS, ikm_by_service, ikm_overall, ikm_value, mutu
from toolkit.survey.schema import INSERT, create_schema, db_time

# Five respondents of one service, scores of U1..U9 (the regulation's "contoh" has the same shape: a
# table of respondents x unsur, the column totals, NRR per unsur, NRR x bobot, the sum, x 25).
WORKED = (
    (4, 3, 3, 4, 3, 4, 4, 3, 3),
    (3, 3, 4, 4, 3, 3, 4, 3, 4),
    (4, 4, 3, 4, 4, 3, 4, 3, 3),
    (3, 3, 3, 4, 3, 4, 3, 2, 3),
    (4, 3, 4, 4, 3, 3, 4, 3, 4),
)
# Worked by hand: column totals 18 16 17 20 16 17 19 14 17, divided by 5 respondents.
NRR = {"U1": 3.6, "U2": 3.2, "U3": 3.4, "U4": 4.0, "U5": 3.2, "U6": 3.4, "U7": 3.8, "U8": 2.8, "U9": 3.4}
# sum(NRR) = 30.8; sum(NRR x 1/9) = 3.4222...; x 25 = 85.5555... -> 85.56, in 76.61 - 88.30: B, Baik.
# The regulation's printed weight gives 30.8 x 0.111 = 3.4188; x 25 = 85.47: the same band, 0.09 lower.
WORKED_IKM = 85.56
PERIOD = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))


def test_worked_example_by_hand() -> None:
    means = {code: sum(r[i] for r in WORKED) / len(WORKED) for i, code in enumerate(ELEMENTS)}
    assert means == pytest.approx(NRR)
    assert ikm_value(means) == WORKED_IKM
    assert mutu(WORKED_IKM) == ("B", "Baik")
    printed_weight = round(sum(NRR.values()) * 0.111 * 25, 2)
    assert printed_weight == 85.47
    assert mutu(printed_weight) == mutu(WORKED_IKM)


def test_the_scale_ends_are_the_tables_ends() -> None:
    assert ikm_value(dict.fromkeys(ELEMENTS, 4.0)) == 100.0
    assert ikm_value(dict.fromkeys(ELEMENTS, 1.0)) == 25.0
    assert mutu(100.0) == ("A", "Sangat Baik")
    assert mutu(25.0) == ("D", "Tidak Baik")


@pytest.mark.parametrize(("ikm", "band"), [
    (88.31, ("A", "Sangat Baik")), (88.30, ("B", "Baik")),
    (76.61, ("B", "Baik")), (76.60, ("C", "Kurang Baik")),
    (65.00, ("C", "Kurang Baik")), (64.99, ("D", "Tidak Baik")),
    # between two printed intervals: read on the two-decimal figure, half up
    (88.305, ("A", "Sangat Baik")), (88.3049, ("B", "Baik")), (76.605, ("B", "Baik")), (64.995, ("C", "Kurang Baik")),
])
def test_band_edges(ikm: float, band: tuple[str, str]) -> None:
    assert mutu(ikm) == band


def test_the_value_is_rounded_half_up_to_two_decimals() -> None:
    # sum(NRR) 31.7898 -> x 25 / 9 = 88.305 exactly -> 88.31 (A); 31.7897 -> 88.3047... -> 88.30 (B)
    base = dict.fromkeys(ELEMENTS, 3.5)
    assert ikm_value({**base, "U9": 3.7898}) == 88.31
    assert ikm_value({**base, "U9": 3.7897}) == 88.30


@pytest.mark.parametrize("ikm", [24.99, 100.01, -1.0, float("nan")])
def test_mutu_out_of_scale_is_refused(ikm: float) -> None:
    with pytest.raises(ValueError, match=r"25\.\.100"):
        mutu(ikm)


@pytest.mark.parametrize("means", [
    dict.fromkeys(list(ELEMENTS)[:8], 3.0),  # an element missing
    {**dict.fromkeys(ELEMENTS, 3.0), "U10": 3.0},  # an element too many
    {**dict.fromkeys(ELEMENTS, 3.0), "U3": 0.9},  # below the scale
    {**dict.fromkeys(ELEMENTS, 3.0), "U3": 4.1},  # above the scale
])
def test_ikm_value_refuses_what_is_not_nine_means_in_scale(means: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"U1|U3"):
        ikm_value(means)


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:")
    create_schema(db)
    yield db
    db.close()


def _answer(db: sqlite3.Connection, ticket: str, service: str, at: datetime, scores: tuple[int, ...]) -> None:
    db.execute(INSERT, (ticket, service, f"user-{ticket}", db_time(at), *scores, None))


def test_ikm_by_service_in_sql_over_a_half_open_period(conn: sqlite3.Connection) -> None:
    start, end = PERIOD
    for n, scores in enumerate(WORKED):
        # the first at the period's very start (in), the others inside it, one in another zone
        at = start + timedelta(days=n) if n != 4 else datetime(2026, 1, 31, 23, 0, tzinfo=timezone(timedelta(hours=7)))
        _answer(conn, f"A-{n}", "layanan-a", at, scores)
    _answer(conn, "A-end", "layanan-a", end, (1,) * 9)  # the period's end: out
    _answer(conn, "A-early", "layanan-a", start - timedelta(microseconds=1), (1,) * 9)  # before: out
    _answer(conn, "B-1", "layanan-b", start + timedelta(hours=1), (2,) * 9)

    queries: list[str] = []
    conn.set_trace_callback(queries.append)
    rows = ikm_by_service(conn, start, end)
    conn.set_trace_callback(None)
    assert [q for q in queries if q.lstrip().upper().startswith("SELECT")] == [queries[0]]
    assert "GROUP BY" in queries[0]
    plan = " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {queries[0]}"))
    assert "COVERING INDEX survey_answers_by_service" in plan  # the index alone, never the table's rows

    assert [r.service_id for r in rows] == ["layanan-a", "layanan-b"]
    a, b = rows
    assert a.respondents == 5
    assert a.element_means == pytest.approx(NRR)
    assert (a.ikm, a.mutu, a.kinerja) == (WORKED_IKM, "B", "Baik")
    assert (b.respondents, b.ikm, b.mutu, b.kinerja) == (1, 50.0, "D", "Tidak Baik")
    assert ikm_by_service(conn, start, end, "layanan-b") == [b]
    assert ikm_by_service(conn, start, end, "tidak-ada") == []

    overall = ikm_overall(conn, start, end)
    assert overall is not None and overall.service_id == ALL_SERVICES and overall.respondents == 6
    every = [*WORKED, (2,) * 9]  # each respondent counts once, not each service
    assert overall.ikm == ikm_value({c: sum(r[i] for r in every) / 6 for i, c in enumerate(ELEMENTS)})
    assert ikm_overall(conn, end, end + timedelta(days=1)) is not None  # the row at `end` is in the next period
    assert ikm_overall(conn, end + timedelta(days=1), end + timedelta(days=2)) is None


def test_period_must_be_aware_and_forward(conn: sqlite3.Connection) -> None:
    start, end = PERIOD
    with pytest.raises(ValueError, match="time zone"):
        ikm_by_service(conn, start.replace(tzinfo=None), end)
    with pytest.raises(ValueError, match="after"):
        ikm_overall(conn, end, start)


@pytest.mark.parametrize("bad", [0, 5, -1])
def test_the_table_refuses_scores_out_of_range(conn: sqlite3.Connection, bad: int) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        _answer(conn, "T-1", "layanan-a", PERIOD[0], (3,) * 8 + (bad,))


def test_the_table_holds_one_answer_per_ticket(conn: sqlite3.Connection) -> None:
    _answer(conn, "T-1", "layanan-a", PERIOD[0], (3,) * 9)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        _answer(conn, "T-1", "layanan-a", PERIOD[0], (4,) * 9)
