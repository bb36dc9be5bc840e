"""The new forms in a real headless Chromium, screenshots kept: the koordinator closes a ticket at its
closing step, an Analis records a branch decision (first refused next to the field, then recorded), and
a CSIRT member's containment form refuses a malformed host next to its input, with JavaScript off.
The isolation itself needs the lab: `test_containment_lab`."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.fixtures.browser import Screenshot
from tests.web.portal.conftest import Served
from tests.web.portal.test_browser_flow import login
from tests.web.portal.test_incident_view import report
from tests.web.portal.test_steps import approved, security_report
from toolkit.domain import decisions


def test_the_koordinator_closes_the_ticket_at_its_closing_step(page: Page, served: Served,
                                                              screenshot: Screenshot) -> None:
    ticket_id = approved(served)
    login(page, served, "sari")
    page.goto(f"{served.url}/tiket/{ticket_id}")
    expect(page.get_by_role("heading", name="Tutup tiket")).to_be_visible()
    screenshot(page, "01-langkah-penutupan")
    page.get_by_label("Catatan penutupan (boleh dikosongkan)").fill("Server dan berita acara sudah diterima pemohon.")
    page.get_by_role("button", name="Tutup tiket").click()
    expect(page.get_by_role("status")).to_contain_text("Tiket ditutup")
    expect(page.locator(".status-closed")).to_have_text("Ditutup")
    expect(page.get_by_role("heading", name="Tutup tiket")).to_have_count(0)
    screenshot(page, "02-tiket-ditutup")
    assert served.app.tickets.get(ticket_id).status.value == "closed"


def test_an_incident_branch_decision(page: Page, served: Served, screenshot: Screenshot) -> None:
    ticket_id = security_report(served)
    login(page, served, "hendra")
    page.goto(f"{served.url}/tiket/{ticket_id}")
    # Row 4's decision (the CSIRT's later steps have decision forms of their own on the page too).
    form = page.locator("form", has=page.locator("#putuskan-penentuan-jenis-insiden-alasan"))
    expect(form.get_by_label("Jenis insiden")).to_have_value("keamanan")
    screenshot(page, "01-formulir-keputusan")
    form.get_by_label("Jenis insiden").select_option("umum")
    form.get_by_label("Alasan keputusan").fill("   ")  # passes the browser's check; the command refuses it
    form.get_by_role("button", name="Catat keputusan").click()
    reason = form.get_by_label("Alasan keputusan")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#g-putuskan-penentuan-jenis-insiden-alasan")).to_have_text("Wajib diisi.")
    expect(page.get_by_label("Jenis insiden")).to_have_value("umum")  # what was chosen is kept
    screenshot(page, "02-galat-di-samping-isian")
    reason.fill("Percobaan login biasa, tidak ada akses berhasil.")
    form.get_by_role("button", name="Catat keputusan").click()
    expect(page.get_by_role("status")).to_contain_text("Keputusan dicatat")
    screenshot(page, "03-keputusan-dicatat")
    ticket = served.app.tickets.get(ticket_id)
    assert decisions.effective_fields(ticket.fields, served.app.tickets.timeline(ticket_id))["jenis_insiden"] == "umum"


def test_containment_form_refuses_a_malformed_host_without_javascript(browser: Browser, served: Served,
                                                                       screenshot: Screenshot) -> None:
    ticket_id = report(served)
    page = browser.new_context(java_script_enabled=False, locale="id-ID").new_page()
    try:
        login(page, served, "rina")
        page.goto(f"{served.url}/tiket/{ticket_id}")
        page.get_by_role("link", name="Penahanan (containment) dan pelepasan").click()
        expect(page.get_by_role("heading", name="Isolasi host")).to_be_visible()
        screenshot(page, "01-halaman-penahanan")
        page.get_by_label("Nama host (inventaris)").fill("web-disdik; reboot")
        page.get_by_label("Jaringan manajemen yang tetap diizinkan").fill("10.0.0.0/33")
        page.get_by_role("button", name="Isolasi host").click()
        expect(page.get_by_label("Nama host (inventaris)")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#g-h-host-nama")).to_contain_text("not a valid inventory host name")
        expect(page.locator("#g-h-host-cidr")).to_contain_text("not a network address")
        expect(page.get_by_label("Nama host (inventaris)")).to_have_value("web-disdik; reboot")
        screenshot(page, "02-galat-isian")
        page.get_by_label("Nama host (inventaris)").fill("web-disdik")
        page.get_by_label("Jaringan manajemen yang tetap diizinkan").fill("")
        page.get_by_role("button", name="Isolasi host").click()  # well-formed, but not a verified incident
        expect(page.get_by_role("alert")).to_contain_text("not verified as an incident")
        screenshot(page, "03-insiden-belum-diverifikasi")
    finally:
        page.context.close()
