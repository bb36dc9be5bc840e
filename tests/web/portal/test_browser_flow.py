"""Issue 13 point 7 in a real headless Chromium: the applicant, the koordinator and the kepala dinas each log
in to the portal and do their part; the engine runs in-process between the steps; the applicant sees the
berita acara appear on the ticket. Screenshots of each page are kept as artifacts.

The end-to-end flow uses ``uji-berkas`` (the Pusat Data request without the lab: see its catalog file);
the real Pusat Data form is driven up to the approval with JavaScript off, which is also how the core
forms (login, open a request, approve) are shown to work without scripts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.browser import Screenshot
from tests.web.portal.conftest import PASSWORD, PDF, Served

pytestmark = pytest.mark.slow  # processes of their own (spbe serve, a browser, mypy): the full suite runs these


def login(page: Page, served: Served, user: str) -> None:
    page.goto(served.url + "/masuk")
    page.get_by_label("Nama pengguna").fill(user)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tiket saya")


def pdf_file(tmp_path: Path) -> Path:
    path = tmp_path / "surat_permohonan.pdf"
    path.write_bytes(PDF)
    return path


def test_request_checked_approved_and_the_berita_acara_appears(browser: Browser, page: Page, served: Served,
                                                              screenshot: Screenshot, tmp_path: Path) -> None:
    login(page, served, "andi")
    screenshot(page, "01-pemohon-tiket-saya")
    page.get_by_role("link", name="Katalog layanan").click()
    screenshot(page, "02-katalog")
    page.get_by_role("link", name="Layanan Uji Pusat Data (tanpa lab)").click()
    screenshot(page, "03-layanan-persyaratan")
    page.get_by_role("link", name="Ajukan permohonan").click()
    page.get_by_label("Judul permohonan").fill("Hosting SIMPUS")
    page.get_by_label("Instansi / Organisasi Perangkat Daerah (OPD) pemohon").fill("Dinas Kesehatan")
    page.get_by_label("Perihal surat permohonan").fill("Permohonan hosting SIMPUS")
    page.get_by_label("Nama host server").fill("simpus-app")
    page.get_by_label("Jumlah vCPU").fill("100")  # above the catalog's 64: the error must appear next to it
    page.get_by_label("Memori (GB)").fill("4")
    page.get_by_label("Email kontak pemohon").fill("it@dinkes.example.go.id")
    page.get_by_label("Surat permohonan kepada Kepala Dinas").set_input_files(str(pdf_file(tmp_path)))
    page.get_by_role("button", name="Ajukan").click()
    expect(page.locator("#g-vcpu")).to_contain_text("64")
    expect(page.get_by_label("Jumlah vCPU")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Nama host server")).to_have_value("simpus-app")  # what was typed is kept
    screenshot(page, "04-formulir-galat")
    assert served.app.tickets.list_tickets() == []  # nothing half-done
    page.get_by_label("Jumlah vCPU").fill("2")
    page.get_by_label("Surat permohonan kepada Kepala Dinas").set_input_files(str(pdf_file(tmp_path)))
    page.get_by_role("button", name="Ajukan").click()
    expect(page.get_by_role("status")).to_contain_text("telah diajukan")
    ticket_id = page.locator("h1 .nomor").inner_text()
    expect(page.locator("#h-giliran + p")).to_contain_text("Koordinator Layanan memeriksa kelengkapan")
    expect(page.get_by_text("Dapat dikerjakan oleh: Koordinator Layanan")).to_be_visible()
    expect(page.get_by_text("Paling lambat:")).to_be_visible()
    screenshot(page, "05-tiket-dibuka")

    koordinator = browser.new_context(locale="id-ID").new_page()
    login(koordinator, served, "sari")
    koordinator.get_by_role("link", name="Antrean pemeriksaan").click()
    screenshot(koordinator, "06-antrean-koordinator")
    koordinator.get_by_role("link", name=ticket_id).click()
    koordinator.get_by_role("button", name="Lengkap — teruskan untuk persetujuan").click()
    expect(koordinator.get_by_role("status")).to_contain_text("diteruskan untuk persetujuan")
    screenshot(koordinator, "07-diperiksa")
    koordinator.context.close()

    kadis = browser.new_context(locale="id-ID").new_page()
    login(kadis, served, "kadis")
    kadis.get_by_role("link", name="Persetujuan").click()
    screenshot(kadis, "08-daftar-persetujuan")
    kadis.get_by_role("link", name=ticket_id).click()
    expect(kadis.get_by_role("heading", name="Rencana yang akan dijalankan")).to_be_visible()
    expect(kadis.locator("#h-data + dl")).to_contain_text("simpus-app")
    screenshot(kadis, "09-persetujuan-dengan-rencana")
    kadis.get_by_label("Alasan persetujuan").fill("Sesuai kebutuhan Dinas Kesehatan.")
    kadis.get_by_role("button", name="Setujui").click()
    expect(kadis.get_by_role("status")).to_contain_text("disetujui")
    kadis.context.close()

    served.run_engine(ticket_id)  # what `spbe serve` would do after the approval

    page.reload()
    document = page.get_by_role("link", name=f"berita_acara_instalasi_server_{ticket_id}.md")
    expect(document).to_be_visible()
    expect(page.locator(".langkah-done", has_text="membuat berita acara")).to_have_count(1)
    screenshot(page, "10-berita-acara-muncul")
    with page.expect_download() as download:
        document.click()
    assert Path(download.value.path()).read_text().startswith("# Berita Acara Instalasi Server")


def test_core_forms_work_with_javascript_off(browser: Browser, served: Served, screenshot: Screenshot,
                                            tmp_path: Path) -> None:
    """Login, the real Pusat Data request form with its PDF, the check and the approval, no script at all."""
    def no_js_page() -> Page:
        return browser.new_context(java_script_enabled=False, locale="id-ID").new_page()

    applicant = no_js_page()
    login(applicant, served, "budi")
    applicant.goto(served.url + "/layanan/pusat-data/ajukan")
    applicant.get_by_label("Judul permohonan").fill("Hosting SIMPEG")
    applicant.get_by_label("Instansi / Organisasi Perangkat Daerah (OPD) pemohon").fill("BKD")
    applicant.get_by_label("Perihal surat permohonan").fill("Permohonan hosting")
    applicant.get_by_label("Produk layanan").select_option("hosting-aplikasi")
    applicant.get_by_label("Nama aplikasi").fill("simpeg")
    applicant.get_by_label("Nama host server").fill("simpeg-app")
    applicant.get_by_label("Jumlah vCPU").fill("2")
    applicant.get_by_label("Memori (GB)").fill("4")
    applicant.get_by_label("Penyimpanan (GB)").fill("40")
    applicant.get_by_label("Melalui User Acceptance Test").select_option("tidak")
    applicant.get_by_label("Email kontak pemohon").fill("it@bkd.example.go.id")
    applicant.get_by_label("Surat permohonan pemanfaatan Pusat Data").set_input_files(str(pdf_file(tmp_path)))
    approval = tmp_path / "persetujuan_aplikasi.pdf"  # hosting needs it too (SOP 002 step 4)
    approval.write_bytes(pdf_file(tmp_path).read_bytes())
    applicant.get_by_label("Dokumen persetujuan aplikasi").set_input_files(str(approval))
    applicant.get_by_role("button", name="Ajukan").click()
    expect(applicant.get_by_role("status")).to_contain_text("telah diajukan")
    ticket_id = applicant.locator("h1 .nomor").inner_text()
    screenshot(applicant, "tanpa-js-tiket-pusat-data")
    ticket = served.app.tickets.get(ticket_id)
    assert ticket.requester == "budi" and ticket.attachments[0].media_type == "application/pdf"

    koordinator = no_js_page()
    login(koordinator, served, "sari")
    koordinator.goto(f"{served.url}/tiket/{ticket_id}")
    koordinator.get_by_role("button", name="Lengkap — teruskan untuk persetujuan").click()
    expect(koordinator.get_by_role("status")).to_contain_text("diteruskan")

    kadis = no_js_page()
    login(kadis, served, "kadis")
    kadis.goto(f"{served.url}/persetujuan/{ticket_id}")
    expect(kadis.locator("#h-data + dl")).to_contain_text("simpeg-app")  # the spec is the plan here
    kadis.get_by_label("Alasan persetujuan").fill("Disetujui.")
    kadis.get_by_role("button", name="Setujui").click()
    expect(kadis.get_by_role("status")).to_contain_text("disetujui")
    screenshot(kadis, "tanpa-js-disetujui")
    assert served.app.tickets.get(ticket_id).status.value == "in_progress"
    for tab in (applicant, koordinator, kadis):
        tab.context.close()


def test_phone_width_layout_and_keyboard(page: Page, served: Served, screenshot: Screenshot) -> None:
    """On a phone-sized screen nothing scrolls sideways; the skip link is the first thing a keyboard reaches."""
    page.set_viewport_size({"width": 375, "height": 740})
    login(page, served, "andi")
    page.goto(served.url + "/layanan/pusat-data/ajukan")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Lompat ke isi"
    labels = page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                              .filter(e => !document.querySelector('label[for="' + e.id + '"]')).length""")
    assert labels == 0  # every input has a label
    screenshot(page, "ponsel-formulir")
