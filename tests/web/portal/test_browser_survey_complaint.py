"""Issue 18's two portal forms in a real headless Chromium, screenshots kept (the HTTP-level rules are in
test_survey_form.py and tests/complaints/test_portal_api.py; this file shows a person can use them):

- the satisfaction survey (SKM) on Andi's closed ticket: nine rows named by their element, a score picked per
  row (the keyboard for some rows, a click for the others), a comment with template syntax refused (the
  free-text rule), then one with markup accepted and shown back as literal text; the form is gone, and the
  same form submitted again from a second tab is refused; the koordinator sees no form on that ticket;
- a complaint (pengaduan) filed anonymously through the portal's request form about a catalog service: Andi's
  ticket page shows it; the koordinator, in a browser context of her own, sees the complaint but not who sent it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.commands.test_survey import closed_ticket
from tests.fixtures.browser import Screenshot
from tests.web.portal.conftest import Served, running
from tests.web.portal.test_browser_flow import login
from tests.web.portal.test_survey_form import app  # noqa: F401 - the survey's App (test catalog), by name
from toolkit.bootstrap import App
from toolkit.survey.ikm import ELEMENTS
from toolkit.web.portal import texts

# One score per row, U1..U9: keyboard for the odd rows, a click for the even ones.
SCORES = {code: 1 + n % 4 for n, code in enumerate(ELEMENTS)}
REFUSED_COMMENT = "Pelayanan <b>x</b> {{7*7}}"  # template syntax: refused by the free-text rule
COMMENT = "Pelayanan <b>x</b> cepat & ramah"  # markup: stored as typed, shown as text
COMPLAINT = "Portal <script>alert(1)</script> sering lambat pada jam kerja."


@pytest.fixture
def survey_served(app: App) -> Iterator[Served]:  # noqa: F811 - the imported fixture, requested by name
    with running(app) as served_:
        yield served_


def _pick_scores(page: Page) -> None:
    form = page.locator("#survei form")
    for n, (code, score) in enumerate(SCORES.items()):
        row = form.get_by_role("group", name=f"{code}. {ELEMENTS[code]}")
        expect(row.get_by_role("radio")).to_have_count(4)
        choice = row.get_by_role("radio", name=f"{score} ", exact=False).first
        if n % 2 == 0:  # keyboard: focus the row's first radio, arrow down to the score, space selects
            first = row.get_by_role("radio").first
            first.focus()
            page.keyboard.press("Space")
            for _ in range(score - 1):
                page.keyboard.press("ArrowDown")
        else:
            choice.click()
        expect(row.locator(f'input[value="{score}"]')).to_be_checked()


def test_the_applicant_answers_the_survey_once(browser: Browser, page: Page, survey_served: Served,
                                               screenshot: Screenshot) -> None:
    served = survey_served
    ticket_id = closed_ticket(served.app)
    login(page, served, "andi")
    page.goto(f"{served.url}/tiket/{ticket_id}")
    panel = page.locator("#survei")
    expect(panel.get_by_role("heading", name="Survei Kepuasan Masyarakat")).to_be_visible()
    for code, name in ELEMENTS.items():
        expect(panel.get_by_role("group", name=f"{code}. {name}")).to_be_visible()
    screenshot(page, "01-survei-di-tiket-tertutup")
    stale = page.context.new_page()  # the same form in a second tab, for the second POST below
    stale.goto(f"{served.url}/tiket/{ticket_id}")

    _pick_scores(page)
    page.get_by_label("Saran atau masukan (tidak wajib)").fill(REFUSED_COMMENT)
    screenshot(page, "02-nilai-dipilih-saran-berpola-templat")
    page.get_by_role("button", name="Kirim survei").click()
    # Drawn again on the ticket page: the problem in Bahasa Indonesia next to the comment, the nine choices
    # and the comment kept, so only the comment is changed.
    comment = page.get_by_label("Saran atau masukan (tidak wajib)")
    expect(comment).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#g-saran")).to_contain_text("Tidak boleh memuat sintaks templat")
    expect(comment).to_have_value(REFUSED_COMMENT)
    form = page.locator("#survei form")
    for code, score in SCORES.items():
        expect(form.get_by_role("group", name=f"{code}. {ELEMENTS[code]}").locator(
            f'input[value="{score}"]')).to_be_checked()
    screenshot(page, "03-saran-berpola-templat-ditolak")
    assert served.app.state.survey.get(ticket_id) is None

    comment.fill(COMMENT)
    page.get_by_role("button", name="Kirim survei").click()
    expect(page.get_by_role("status")).to_contain_text(texts.NOTICES["survei"])
    panel = page.locator("#survei")
    expect(panel).to_contain_text("Terima kasih. Survei untuk tiket ini telah Anda isi")
    expect(panel.locator("blockquote.saran")).to_have_text(COMMENT)  # literal: no <b> element was made
    expect(panel.locator("blockquote.saran b")).to_have_count(0)
    for code, name in ELEMENTS.items():
        expect(panel.get_by_text(f"{code}. {name}: {SCORES[code]}", exact=True)).to_be_visible()
    expect(page.locator("#survei form")).to_have_count(0)
    expect(page.get_by_role("button", name="Kirim survei")).to_have_count(0)
    screenshot(page, "04-survei-tersimpan")
    stored = served.app.state.survey.get(ticket_id)
    assert stored is not None and stored.comment == COMMENT
    assert stored.scores.by_code() == SCORES

    _pick_scores(stale)
    stale.get_by_role("button", name="Kirim survei").click()
    expect(stale.get_by_role("heading", level=1)).to_have_text(texts.TITLE_CONFLICT)
    screenshot(stale, "05-kiriman-kedua-ditolak")
    assert served.app.state.survey.get(ticket_id) == stored

    staff = browser.new_context(locale="id-ID").new_page()
    try:
        login(staff, served, "sari")
        staff.goto(f"{served.url}/tiket/{ticket_id}")
        expect(staff.get_by_role("heading", level=1)).to_contain_text(ticket_id)
        expect(staff.locator("#survei")).to_have_count(0)
        expect(staff.get_by_role("radio")).to_have_count(0)
        expect(staff.get_by_text(COMMENT)).to_have_count(0)  # the answer is not shown to the staff either
        screenshot(staff, "06-petugas-tanpa-survei")
    finally:
        staff.context.close()


def test_an_anonymous_complaint_hides_who_sent_it(browser: Browser, page: Page, served: Served,
                                                  screenshot: Screenshot) -> None:
    login(page, served, "andi")
    page.goto(f"{served.url}/layanan/pengaduan")
    screenshot(page, "01-layanan-pengaduan")
    page.get_by_role("link", name="Ajukan permohonan").click()
    expect(page.get_by_label("Kanal penerimaan")).to_have_count(0)  # the desk's field, not the applicant's
    page.get_by_label("Judul permohonan").fill("Portal Pusat Data lambat")
    page.get_by_label("Jenis (pengaduan / saran / masukan)").select_option("pengaduan")
    page.get_by_label("Layanan yang diadukan (id layanan katalog)").fill("pusat-data")
    page.get_by_label("Isi pengaduan / saran / masukan").fill(COMPLAINT)
    page.get_by_label("Rahasiakan identitas pengadu").select_option("ya")
    screenshot(page, "02-formulir-pengaduan")
    page.get_by_role("button", name="Ajukan").click()
    expect(page.get_by_role("status")).to_contain_text(texts.NOTICES["dibuka"])
    ticket_id = page.url.rsplit("/", 1)[-1].split("?")[0].split("#")[0]
    expect(page.get_by_role("heading", level=1)).to_contain_text(ticket_id)
    expect(page.get_by_text(COMPLAINT, exact=True)).to_be_visible()  # as text: no script ran, none was made
    screenshot(page, "03-tiket-pengaduan-pemohon")
    ticket = served.app.tickets.get(ticket_id)
    assert ticket.service_id == "pengaduan" and ticket.requester == "andi"
    assert ticket.fields["anonim"] is True and ticket.fields["layanan_terkait"] == "pusat-data"

    koordinator = browser.new_context(locale="id-ID").new_page()
    try:
        login(koordinator, served, "sari")
        koordinator.goto(f"{served.url}/tiket/{ticket_id}")
        expect(koordinator.get_by_text(COMPLAINT, exact=True)).to_be_visible()
        expect(koordinator.get_by_text("[dirahasiakan]").first).to_be_visible()
        body = koordinator.locator("body")
        for identity in ("Andi Pratama", "andi@", "andi"):
            expect(body).not_to_contain_text(identity)
        markup = koordinator.content()  # nor in an attribute, a hidden input or an option's value
        assert "Andi Pratama" not in markup and "andi@" not in markup and '"andi"' not in markup
        screenshot(koordinator, "04-koordinator-tanpa-identitas")
    finally:
        koordinator.context.close()
