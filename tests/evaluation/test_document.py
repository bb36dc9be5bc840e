"""The evaluation as a document and on the command line: charts drawn, the PDF (the letter kit's) and the HTML
carry the figures, an empty year says so, bad input fails with the toolkit's exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.evaluation.conftest import YEAR, History
from tests.support.cli import Spbe
from tests.support.pdf import pdf_text
from toolkit.errors import InvalidInputError, NotFoundError
from toolkit.evaluation.charts import charts
from toolkit.evaluation.generator import year_end
from toolkit.evaluation.render import EMPTY, render_html, render_markdown
from toolkit.evaluation.report import evaluate_period
from toolkit.settings import Settings

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(history: History):  # type: ignore[no-untyped-def]
    return evaluate_period(history.store, history.catalog, history.calendars, year=YEAR, now=year_end(YEAR))


def test_the_charts_are_drawn(report) -> None:  # type: ignore[no-untyped-def]
    drawn = charts(report)
    assert set(drawn) == {"hasil", "sla", "ikm"}
    assert all(png.startswith(PNG) and len(png) > 5000 for png in drawn.values())


def test_the_html_carries_the_figures_and_escapes(report, history: History) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(state_dir=history.state_dir)
    markdown = render_markdown(report, settings.templates_dir, settings.documents.kop, history.catalog.roles.labels())
    page = render_html(markdown, settings.templates_dir, settings.documents.kop)
    assert settings.documents.kop.dinas in page
    assert page.count("data:image/png;base64,") == 3
    for service in report.services:
        assert service.name in page
        assert f"Jumlah permohonan: {service.outcomes.total};" in page
    assert "<script" not in page


def _spbe(history: History, tmp_path: Path) -> Spbe:
    return Spbe(state_dir=history.state_dir, env={"SPBE_DEPLOYMENT": "lab"})


def test_the_pdf_says_the_facts(history: History, report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "evaluasi.pdf"
    result = _spbe(history, tmp_path)("report", "evaluasi", "--year", str(YEAR), "-o", str(target))
    assert result.exit_code == 0, result.output
    text = " ".join(pdf_text(target).split())
    assert "LAPORAN EVALUASI PENERAPAN STANDAR PELAYANAN" in text and f"Tahun {YEAR}" in text
    for service in report.services:
        assert f"Jumlah permohonan: {service.outcomes.total}; selesai {service.outcomes.done}" in text
        if service.ikm is not None:
            assert f"{service.ikm.ikm:.2f}".replace(".", ",") in text
    late = next(s for s in report.services if s.late_steps).late_steps[0]
    assert f"terlambat {late.late} dari {late.measured} kali" in text
    assert "Rekomendasi:" in text


def test_json_figures_and_a_month(history: History, report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = _spbe(history, tmp_path).json("report", "evaluasi", "--year", str(YEAR))
    assert data["empty"] is False
    assert [s["outcomes"]["total"] for s in data["services"]] == [s.outcomes.total for s in report.services]
    month = _spbe(history, tmp_path).json("report", "evaluasi", "--year", str(YEAR), "--month", "3",
                                          "--service", "splp")
    assert month["period"]["month"] == 3 and [s["service_id"] for s in month["services"]] == ["splp"]


def test_an_empty_year_says_so(history: History, tmp_path: Path) -> None:
    spbe = _spbe(history, tmp_path)
    assert spbe.json("report", "evaluasi", "--year", "2024")["empty"] is True
    target = tmp_path / "kosong.pdf"
    result = spbe("report", "evaluasi", "--year", "2024", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert EMPTY in " ".join(pdf_text(target).split())
    html = tmp_path / "kosong.html"
    assert spbe("report", "evaluasi", "--year", "2024", "--format", "html", "-o", str(html)).exit_code == 0
    assert EMPTY in html.read_text(encoding="utf-8")


def test_a_fresh_state_dir_is_an_empty_report(spbe: Spbe) -> None:
    assert spbe.json("report", "evaluasi", "--year", str(YEAR))["services"] == []


@pytest.mark.parametrize(("args", "code", "words"), [
    (("--year", "1800"), InvalidInputError.exit_code, "--year must be between"),
    (("--year", "2026", "--month", "13"), InvalidInputError.exit_code, "--month must be between 1 and 12"),
    (("--year", "2026", "--month", "0"), InvalidInputError.exit_code, "--month must be between 1 and 12"),
    (("--year", "2026", "--service", "tidak-ada"), NotFoundError.exit_code, "unknown service 'tidak-ada'"),
    (("--year", "2026", "--service", "../../etc/passwd"), NotFoundError.exit_code, "unknown service"),
])
def test_bad_input_fails_clearly(spbe: Spbe, args: tuple[str, ...], code: int, words: str) -> None:
    result = spbe("report", "evaluasi", *args)
    assert result.exit_code == code, result.output
    assert words in " ".join(result.output.split())


def test_seed_history_is_for_labs_and_empty_years(tmp_path: Path) -> None:
    spbe = Spbe(state_dir=tmp_path / "state dir #1?")  # read back through a file URI: quoted, not a query
    refused = spbe("report", "seed-history", "--year", "2025", "--tickets", "20", env={"SPBE_DEPLOYMENT": "production"})
    assert refused.exit_code == 4, refused.output
    made = spbe.json("report", "seed-history", "--year", "2025", "--tickets", "60", "--seed", "5",
                     env={"SPBE_DEPLOYMENT": "lab"})
    assert made["tickets"] == 60 and made["complaints"] == 3
    again = spbe("report", "seed-history", "--year", "2025", "--tickets", "20", env={"SPBE_DEPLOYMENT": "lab"})
    assert again.exit_code == 5 and "already holds tickets of 2025" in again.output
    figures = spbe.json("report", "evaluasi", "--year", "2025", env={"SPBE_DEPLOYMENT": "lab"})
    assert sum(s["outcomes"]["total"] for s in figures["services"]) == 60
    assert json.dumps(figures).count("\"service_id\"") > 5


def test_hostile_text_in_the_store_is_shown_as_text_and_fields_never(history: History, tmp_path: Path) -> None:
    """An actor name no directory would issue (markup, a template, a shell line) is data in the document; the
    tickets' field values (a canary secret) never reach the figures, the JSON or the page."""
    import shutil
    import sqlite3

    state = tmp_path / "state"
    shutil.copytree(history.state_dir, state)
    hostile = "<script>alert(1)</script>{{ 7*7 }}; $(id)\n../../etc/passwd"
    canary = "CANARY-kata-sandi-7f3a9"
    ticket = next(t for t in history.tickets if t.service_id == "keamanan-informasi" and t.status == "closed")
    with sqlite3.connect(state / "tickets.db") as db:
        db.execute("INSERT INTO events (ticket_id, at, kind, actor, text, step_id, data) VALUES "
                   "(?, ?, 'step_completed', ?, '', 'tindak-lanjut-laporan', '{}')",
                   (ticket.id, ticket.events[-1].at.isoformat(), hostile))
        db.execute("UPDATE tickets SET fields = json_set(fields, '$.kata_sandi', ?) WHERE id = ?", (canary, ticket.id))
    spbe = Spbe(state_dir=state, env={"SPBE_DEPLOYMENT": "lab"})
    data = spbe.json("report", "evaluasi", "--year", str(YEAR), "--service", "keamanan-informasi")
    assert any(w["actor"] == hostile for w in data["services"][0]["workload"])
    page_path = tmp_path / "r.html"
    result = spbe("report", "evaluasi", "--year", str(YEAR), "--service", "keamanan-informasi", "--format", "html",
                  "-o", str(page_path))
    assert result.exit_code == 0, result.output
    page = page_path.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ 7*7 }}; $(id) ../../etc/passwd" in page
    for shown in (json.dumps(data), page, result.output):
        assert canary not in shown
