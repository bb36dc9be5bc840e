"""Documents, comments, escalations and `spbe ticket show` in the office's local time: WITA for the Gorontalo
services, WIB for Surakarta's; SLA clocks in hari kerja / jam kerja counted on the office calendar, with the
engine's injectable clock (tests/support/clock.py) moved past the deadlines instead of waiting for them."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.actions.test_incident_workflow import EVIDENCE, GORONTALO, LETTER, SURAKARTA
from tests.support.cli import Spbe
from tests.support.clock import ManualClock
from tests.support.document_samples import CATALOG, context, pusat_data_service, render_doc, repository_renderer
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.catalog.loader import DEFAULT_DIRECTORY
from toolkit.domain.tickets.models import EventKind
from toolkit.engine.escalation import check_once
from toolkit.settings import load_settings

FRIDAY_3PM_WIB = datetime(2026, 12, 18, 8, 0, tzinfo=UTC)  # Jumat 18 Desember 2026, 15:00 WIB


def at_clock(state_dir: Path, clock: ManualClock, **settings: Any) -> App:
    """An app whose ticket store and engine both read ``clock``."""
    return App(load_settings(state_dir=state_dir, tickets={"kind": "embedded", "options": {"clock": clock.now}},
                             **settings), clock=clock)


# -- documents and comments ---------------------------------------------------------------------------------
def test_a_gorontalo_berita_acara_shows_wita_and_the_right_hour() -> None:
    text = render_doc(repository_renderer(), "berita_acara_pemanfaatan", context(pusat_data_service()))
    # UAT done at 03:00 UTC: 11:00 in Gorontalo (10:00 WIB was what the document printed before)
    assert "| Selesai pada | 24 November 2026 pukul 11:00 WITA |" in text
    assert "WIB" not in text


def test_the_date_line_and_the_number_follow_the_office_across_midnight_and_new_year() -> None:
    service = pusat_data_service()
    surakarta_like = service.model_copy(update={"timezone": "Asia/Jakarta"})
    late = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 WITA on Selasa 1 Desember; 23:30 WIB on Senin
    renderer = repository_renderer()
    gorontalo = render_doc(renderer, "berita_acara_pemanfaatan", context(service, now=late))
    jakarta = render_doc(renderer, "berita_acara_pemanfaatan", context(surakarta_like, now=late))
    assert "Selasa" in gorontalo and "(1 Desember 2026)" in gorontalo
    assert "Senin" in jakarta and "(30 November 2026)" in jakarta and "pukul 10:00 WIB" in jakarta
    new_year = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert context(service, now=new_year)["nomor_dokumen"]("BA").endswith("/2027")
    assert context(surakarta_like, now=new_year)["nomor_dokumen"]("BA").endswith("/2026")
    assert context(service)["zona_waktu"] == {"nama": "Asia/Makassar", "label": "WITA"}


def test_a_surakarta_notice_shows_wib_and_a_gorontalo_one_wita(state_dir: Path) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 3, 5, tzinfo=UTC))
    app = at_clock(state_dir, clock)
    surakarta = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement", SURAKARTA, [LETTER])
    gorontalo = desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Situs diretas", GORONTALO, EVIDENCE)
    from tests.actions.test_incident_documents import _render

    assert "pada 23 November 2026 pukul 10:05 WIB" in _render(app, surakarta.id, "comments",
                                                              "pemberitahuan_insiden_opd")
    assert "pada 23 November 2026 pukul 11:05 WITA" in _render(app, gorontalo.id, "comments",
                                                               "pemberitahuan_insiden_opd")


def test_a_context_without_an_office_zone_uses_the_deployments(tmp_path: Path) -> None:
    (tmp_path / "comments").mkdir()
    (tmp_path / "comments" / "jam.md.j2").write_text("{{ t | hari }} {{ t | tanggal }} {{ t | waktu }}\n",
                                                     encoding="utf-8")
    from toolkit.documents import TemplateRenderer
    from toolkit.worktime.calendars import calendars_for

    papua = calendars_for(load_settings(worktime={"timezone": "Asia/Jayapura"}).worktime).zone()
    renderer = TemplateRenderer(tmp_path, CATALOG.roles, zone=papua)
    t = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    assert renderer.render("comments", "jam", {"t": t}) == "Senin 23 November 2026 01:00 WIT\n"
    wita = {"t": t, "zona_waktu": {"nama": "Asia/Makassar", "label": "WITA"}}
    assert renderer.render("comments", "jam", wita) == "Senin 23 November 2026 00:00 WITA\n"
    assert App(load_settings(worktime={"timezone": "Asia/Jayapura"})).renderer.zone.label == "WIT"


# -- escalation by the calendar -----------------------------------------------------------------------------
def _escalated(app: App, ticket_id: str) -> list[str]:
    return [e.data["escalation"] for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.ESCALATED]


def test_a_hari_kerja_sla_does_not_escalate_over_the_weekend(state_dir: Path) -> None:
    clock = ManualClock(FRIDAY_3PM_WIB)
    app = at_clock(state_dir, clock)
    ticket = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement", SURAKARTA, [LETTER])
    clock.advance(timedelta(days=1, minutes=1))  # Sabtu 15:01: a calendar day is over, no working day is
    check_once(app)
    assert "sla:standar" not in _escalated(app, ticket.id)
    clock.advance(timedelta(days=2, minutes=-2))  # Senin 14:59 WIB
    check_once(app)
    assert "sla:standar" not in _escalated(app, ticket.id)
    clock.advance(timedelta(minutes=2))  # Senin 15:01 WIB: one hari kerja after Friday 15:00
    assert [o.escalation.key for o in check_once(app)] == ["sla:standar"]
    [event] = [e for e in app.tickets.timeline(ticket.id) if e.data.get("escalation") == "sla:standar"]
    assert event.data["due_at"] == "2026-12-21T08:00:00+00:00"
    assert "sejak 21 Desember 2026 pukul 15:00 WIB" in event.text


def test_a_hari_kerja_sla_skips_cuti_bersama_and_christmas(state_dir: Path) -> None:
    clock = ManualClock(datetime(2026, 12, 23, 3, 0, tzinfo=UTC))  # Rabu 23 Desember, 10:00 WIB
    app = at_clock(state_dir, clock)
    ticket = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement", SURAKARTA, [LETTER])
    # Kamis 24 is cuti bersama (the shipped site file), Jumat 25 Natal: the working day ends Senin 28, 10:00
    check_once(app, now=datetime(2026, 12, 28, 2, 59, tzinfo=UTC))
    assert "sla:standar" not in _escalated(app, ticket.id)
    assert [o.escalation.key for o in check_once(app, now=datetime(2026, 12, 28, 3, 1, tzinfo=UTC))] == [
        "sla:standar"]


def test_a_jam_kerja_step_escalates_after_office_time_not_wall_time(state_dir: Path, tmp_path: Path) -> None:
    """A site catalog states Surakarta's row 3 (15 minutes) in jam kerja: opened ten minutes before the
    close, the step is late five minutes after the next opening."""
    catalog = tmp_path / "catalog"
    shutil.copytree(DEFAULT_DIRECTORY, catalog)
    service = catalog / "keamanan-informasi.yaml"
    text = service.read_text(encoding="utf-8")
    head, step, rest = text.partition("  - id: tindak-lanjut-laporan")
    unit = "    standard_time: PT15M\n    standard_time_unit: jam-kerja\n"
    rest = rest.replace("    standard_time: PT15M\n", unit, 1)
    service.write_text(head + step + rest, encoding="utf-8")
    clock = ManualClock(datetime(2026, 11, 23, 8, 50, tzinfo=UTC))  # Senin 15:50 WIB
    app = at_clock(state_dir, clock, catalog_dir=catalog)
    assert app.catalog.get("keamanan-informasi").step("tindak-lanjut-laporan").standard_time_unit == "jam-kerja"
    ticket = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement", SURAKARTA, [LETTER])
    clock.advance(timedelta(minutes=20))  # 16:10 WIB: twenty minutes on the wall, ten of office time
    assert check_once(app) == []
    clock.advance(timedelta(hours=15, minutes=24))  # Selasa 07:34 WIB: fourteen minutes of office time
    assert check_once(app) == []
    clock.advance(timedelta(minutes=2))  # 07:36 WIB
    [outcome] = check_once(app)
    assert outcome.escalation.key == "step:tindak-lanjut-laporan"
    assert outcome.escalation.due_at == datetime(2026, 11, 24, 0, 35, tzinfo=UTC)
    [event] = [e for e in app.tickets.timeline(ticket.id) if e.kind == EventKind.ESCALATED]
    assert "waktu baku 15 menit kerja" in event.text and "tenggat 24 November 2026 pukul 07:35 WIB" in event.text


# -- spbe ticket show ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("service", "fields", "label", "deadline"), [
    ("keamanan-informasi", SURAKARTA, "WIB", "2026-12-21 15:00 WIB"),  # 1 hari kerja from Friday 15:00
    ("insiden-siber", GORONTALO, "WITA", "2026-12-20 16:00 WITA"),  # 48 jam from Friday 16:00 WITA
])
def test_ticket_show_gives_the_deadline_in_local_time(state_dir: Path, service: str, fields: dict[str, str],
                                                       label: str, deadline: str) -> None:
    app = at_clock(state_dir, ManualClock(FRIDAY_3PM_WIB))
    opener = as_lab("kabid") if service == "keamanan-informasi" else as_lab("lina")
    ticket = desk.open_ticket(app, service, opener, "Situs diretas", fields, [LETTER] if label == "WIB" else EVIDENCE)
    spbe = Spbe(state_dir=state_dir, env={"COLUMNS": "200"})
    shown = spbe("ticket", "show", ticket.id, "--as", "kadis")
    assert shown.exit_code == 0, shown.output
    assert f"tenggat {deadline}" in shown.output
    detail = spbe.json("ticket", "show", ticket.id, "--as", "kadis")
    assert detail["sla"]["deadline_local"] == deadline
    assert detail["sla"]["timezone"]["label"] == label
    # only Surakarta's SOP gives its steps standard times (row 3: 15 minutes from the opening)
    timed = [step["id"] for step in detail["steps"] if step["deadline"]]
    assert timed == (["penerimaan-laporan", "tindak-lanjut-laporan"] if label == "WIB" else [])
    if label == "WIB":
        assert "Langkah saat ini: Menindaklanjuti Laporan — tenggat 2026-12-18 15:15 WIB" in shown.output


def test_the_portal_shows_times_in_the_deployments_zone_with_its_label() -> None:
    from toolkit.web.portal import texts
    from toolkit.worktime.calendars import local_zone

    instant = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    assert texts.when(instant, local_zone("Asia/Makassar")) == "23-11-2026 10:30 WITA"
    assert texts.when(instant, local_zone("Asia/Jakarta")) == "23-11-2026 09:30 WIB"
    assert texts.when(None, local_zone("Asia/Jakarta")) == "-"
