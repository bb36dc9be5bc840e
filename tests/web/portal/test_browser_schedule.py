"""The jadwal pelaksanaan in a real headless Chromium, screenshots kept: Yusuf (the Jaringan Intra team) first
types an end before the start (refused next to the input), then proposes a window with a note; Andi (the
applicant, in a browser context of his own) sees it in WITA, the note as plain text, and confirms it; the
team's page then shows the confirmed schedule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.browser import Screenshot
from tests.web.portal.conftest import Served
from tests.web.portal.jadwal_support import approved, jadwal_app, serving, shown, typed, wita
from tests.web.portal.test_browser_flow import login
from toolkit.bootstrap import App
from toolkit.domain.install_schedule import SCHEDULE
from toolkit.web.portal import texts


@pytest.fixture
def app(state_dir: Path) -> Iterator[App]:
    built = jadwal_app(state_dir)
    yield built
    built.close()


@pytest.fixture
def served(app: App) -> Iterator[Served]:
    with serving(app) as served_:
        yield served_


def test_the_team_proposes_and_the_applicant_confirms(browser: Browser, page: Page, served: Served,
                                                      screenshot: Screenshot) -> None:
    ticket_id = approved(served.app)
    start, end = wita(4), wita(4.125)
    login(page, served, "yusuf")
    page.goto(f"{served.url}/tiket/{ticket_id}")
    panel = page.locator("#jadwal")
    expect(panel.get_by_role("heading", name="Jadwal pelaksanaan")).to_be_visible()
    screenshot(page, "01-formulir-usulan")
    panel.get_by_label("Mulai (WITA)").fill(typed(end))
    panel.get_by_label("Selesai (WITA)").fill(typed(start))
    panel.get_by_role("button", name="Usulkan jadwal").click()
    expect(page.locator("#g-jadwal-usul-selesai")).to_have_text("Waktu selesai harus sesudah waktu mulai.")
    expect(page.get_by_label("Selesai (WITA)")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "02-galat-di-samping-isian")
    panel = page.locator("#jadwal")
    panel.get_by_label("Mulai (WITA)").fill(typed(start))
    panel.get_by_label("Selesai (WITA)").fill(typed(end))
    panel.get_by_label("Catatan untuk pemohon (boleh dikosongkan)").fill("Membawa switch 24 port <b>dan kabel</b>")
    panel.get_by_role("button", name="Usulkan jadwal").click()
    expect(page.get_by_role("status")).to_contain_text(texts.NOTICES["jadwal-diusulkan"])
    expect(page.locator("#jadwal-status")).to_have_text("Menunggu konfirmasi pemohon")
    screenshot(page, "03-jadwal-diusulkan")

    applicant = browser.new_context(locale="id-ID").new_page()
    try:
        login(applicant, served, "andi")
        applicant.goto(f"{served.url}/tiket/{ticket_id}")
        expect(applicant.locator("#jadwal-mulai")).to_have_text(shown(start))
        expect(applicant.locator("#jadwal-selesai")).to_have_text(shown(end))
        expect(applicant.locator("#jadwal-catatan")).to_have_text("Membawa switch 24 port <b>dan kabel</b>")
        expect(applicant.get_by_role("button", name="Usulkan jadwal")).to_have_count(0)
        screenshot(applicant, "04-pemohon-melihat-usulan")
        applicant.get_by_role("button", name="Konfirmasi jadwal").click()
        expect(applicant.get_by_role("status")).to_contain_text(texts.NOTICES["jadwal-dikonfirmasi"])
        expect(applicant.locator("#jadwal-status")).to_have_text("Dikonfirmasi pemohon")
        expect(applicant.get_by_role("button", name="Konfirmasi jadwal")).to_have_count(0)
        screenshot(applicant, "05-jadwal-dikonfirmasi")
    finally:
        applicant.context.close()

    page.goto(f"{served.url}/tiket/{ticket_id}")
    expect(page.locator("#jadwal-status")).to_have_text("Dikonfirmasi pemohon")
    expect(page.locator("#jadwal-mulai")).to_have_text(shown(start))
    screenshot(page, "06-tim-melihat-jadwal-terkonfirmasi")
    answers = [e.data[SCHEDULE]["action"] for e in served.app.tickets.timeline(ticket_id) if SCHEDULE in e.data]
    assert answers == ["propose", "confirm"]
    assert [e.actor for e in served.app.audit.entries() if e.action.startswith("schedule.")] == ["yusuf", "andi"]
