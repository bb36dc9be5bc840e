"""Issue 13 point 7 for real: the Pusat Data request of the SOP, in a real headless Chromium, against the lab.

The applicant (andi), the koordinator (sari) and the kepala dinas (kadis) each log in to the portal in a
browser context of their own (local accounts made through the accounts layer) and do their part: open a
``pusat-data`` request with its PDF letter, check it, approve it. The server is what ``spbe serve --http``
runs, in this process: the HTTP front (``WebServer``: the API and the portal) and the engine's trigger loop
and workers (``Server``), on the lab's settings (its Ansible inventory and Prometheus, as
tests/e2e/test_pusat_data.py uses them, on a lab of this module's own like theirs). Nobody runs a command:
the approval alone makes the engine provision the lab's pool host with ansible-runner over SSH, install
monitoring, configure the backup and write the berita acara, and the applicant, reloading "Tiket saya",
sees that document appear on the ticket, downloads it from the page and finds the ticket and the host named in it.

Every page is kept as a screenshot (``$SPBE_TEST_ARTIFACTS/screenshots/web.portal.test_browser_pusat_data...``),
and no page the applicant is shown, nor the document, carries the backup password (the canary the lab
settings plant).

Waiting is bounded only so that a broken engine fails the test instead of hanging it; nothing is asserted
about how long anything took (the machine is shared).
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from lab.manager import LabManager
from lab.models import LabState
from tests.conftest import CANARY_BACKUP_PASSWORD
from tests.fixtures import lab as lab_plugin  # its test_lab_name, imported by name, would be collected
from tests.fixtures.browser import Screenshot
from tests.web.portal.conftest import FAST_ARGON2, PASSWORD, PDF, add_accounts
from toolkit.accounts.service import open_accounts
from toolkit.bootstrap import App
from toolkit.engine.server import Server
from toolkit.ports.jobs import JobState
from toolkit.settings import Settings
from toolkit.web.server import WebServer

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HOSTNAME = "simpus-app"
AUTOMATED = ["koordinasi-pengembangan-aplikasi", "instalasi-server", "instalasi-monitoring", "konfigurasi-backup",
             "berita-acara-instalasi-server"]
# Only so that a broken engine ends the test with its jobs' states instead of hanging the run; generous,
# since provisioning on a busy machine takes what it takes. Not an assertion on time.
GIVE_UP_AFTER_S = 45 * 60


@pytest.fixture(scope="module")
def lab(lab_manager: LabManager, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    """A lab of this module's own, as tests/e2e/conftest.py gives each e2e module: the ticket provisions the
    pool host (host name, web stack, backup), which the session lab's other users (tests/playbooks) expect
    untouched. Same name as the e2e labs: modules run one after the other, and that name's /24 is known free."""
    manager = LabManager(tmp_path_factory.mktemp("pd-browser-lab"), lab_plugin.test_lab_name("-e2e"))
    state = manager.up()
    try:
        yield state
    finally:
        manager.down()


@dataclass
class Serving:
    """``spbe serve --http`` in this process: the portal at ``url`` and the engine working the queue."""

    url: str
    app: App
    engine: Server


@pytest.fixture
def serving(lab: LabState, lab_settings: Settings) -> Iterator[Serving]:
    # The e2e test's settings (the lab's spbe.toml, this test's state dir, the backup password canary in the
    # environment), with the portal tests' quick argon2 parameters for the accounts.
    settings = lab_plugin.settings_for(lab, state_dir=lab_settings.state_dir, accounts=FAST_ARGON2)
    app = App(settings)
    accounts = open_accounts(app)
    add_accounts(app, accounts, ("andi", "sari", "kadis"))
    web = WebServer(app, settings, "127.0.0.1", 0)
    url = web.start()
    engine = Server(app, workers=settings.workers.count, shutdown_grace=settings.workers.shutdown_grace_s)
    loop = threading.Thread(target=engine.run, name="spbe-serve", daemon=True)
    loop.start()
    try:
        assert web.started.wait(60), "the HTTP server did not start"
        yield Serving(url=url, app=app, engine=engine)
    finally:
        engine.stop.set()
        loop.join(timeout=settings.workers.shutdown_grace_s + 120)
        web.stop()
        accounts.close()
        app.close()


@dataclass
class Applicant:
    """What the applicant's browser was shown: every page's HTML, and the document downloaded."""

    page: Page
    shown: list[tuple[str, str]] = field(default_factory=list)

    def saw(self) -> None:
        self.shown.append((self.page.url, self.page.content()))


def login(page: Page, url: str, user: str) -> None:
    page.goto(url + "/masuk")
    page.get_by_label("Nama pengguna").fill(user)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tiket saya")


def jobs_of(app: App, ticket_id: str) -> list[tuple[str, str, str | None]]:
    return [(j.step_id, j.state.value, j.error) for j in reversed(app.queue.list_jobs(ticket_id=ticket_id))]


def test_pusat_data_request_through_the_portal_provisions_the_lab_and_shows_the_berita_acara(
        browser: Browser, page: Page, serving: Serving, lab: LabState, screenshot: Screenshot,
        tmp_path: Path) -> None:
    url, app = serving.url, serving.app
    letter = tmp_path / "surat_permohonan.pdf"
    letter.write_bytes(PDF)
    applicant = Applicant(page)

    # The applicant opens the request with the letter attached.
    login(page, url, "andi")
    applicant.saw()
    screenshot(page, "01-pemohon-tiket-saya")
    page.get_by_role("link", name="Katalog layanan").click()
    applicant.saw()
    screenshot(page, "02-katalog")
    page.get_by_role("link", name="Layanan Pemanfaatan Pusat Data").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pusat Data")
    applicant.saw()
    screenshot(page, "03-layanan-persyaratan")
    page.get_by_role("link", name="Ajukan permohonan").click()
    page.get_by_label("Judul permohonan").fill("Hosting SIMPUS")
    page.get_by_label("Instansi / Organisasi Perangkat Daerah (OPD) pemohon").fill("Dinas Kesehatan")
    page.get_by_label("Perihal surat permohonan").fill("Permohonan pemanfaatan Pusat Data untuk SIMPUS")
    page.get_by_label("Produk layanan").select_option("hosting-aplikasi")
    page.get_by_label("Nama aplikasi").fill("simpus")
    page.get_by_label("Nama host server").fill(HOSTNAME)
    page.get_by_label("Jumlah vCPU").fill("2")
    page.get_by_label("Memori (GB)").fill("4")
    page.get_by_label("Penyimpanan (GB)").fill("40")
    page.get_by_label("Memerlukan backup / pencadangan").select_option("ya")
    page.get_by_label("Melalui User Acceptance Test").select_option("ya")
    page.get_by_label("Email kontak pemohon").fill("it@dinkes.example.go.id")
    page.get_by_label("Surat permohonan pemanfaatan Pusat Data").set_input_files(str(letter))
    approval = tmp_path / "persetujuan_aplikasi.pdf"  # hosting needs it too (SOP 002 step 4)
    approval.write_bytes(PDF)
    page.get_by_label("Dokumen persetujuan aplikasi").set_input_files(str(approval))
    applicant.saw()
    screenshot(page, "04-formulir-pusat-data")
    page.get_by_role("button", name="Ajukan").click()
    expect(page.get_by_role("status")).to_contain_text("telah diajukan")
    ticket_id = page.locator("h1 .nomor").inner_text()
    expect(page.locator("#h-giliran + p")).to_contain_text("Koordinator Layanan memeriksa kelengkapan")
    applicant.saw()
    screenshot(page, "05-tiket-dibuka")
    ticket = app.tickets.get(ticket_id)
    assert ticket.service_id == "pusat-data" and ticket.requester == "andi"
    assert [(a.kind, a.media_type) for a in ticket.attachments] == [
        ("surat_permohonan", "application/pdf"), ("dokumen_persetujuan_aplikasi", "application/pdf")]

    # The koordinator checks it.
    koordinator = browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta").new_page()
    login(koordinator, url, "sari")
    koordinator.get_by_role("link", name="Antrean pemeriksaan").click()
    screenshot(koordinator, "06-antrean-koordinator")
    koordinator.get_by_role("link", name=ticket_id).click()
    expect(koordinator.get_by_role("link", name="surat_permohonan.pdf")).to_be_visible()
    screenshot(koordinator, "07-koordinator-tiket")
    koordinator.get_by_role("button", name="Lengkap — teruskan untuk persetujuan").click()
    expect(koordinator.get_by_role("status")).to_contain_text("diteruskan untuk persetujuan")
    screenshot(koordinator, "08-diperiksa")
    koordinator.context.close()

    # The kepala dinas logs in and approves, with the spec in front of them.
    kadis = browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta").new_page()
    login(kadis, url, "kadis")
    kadis.get_by_role("link", name="Persetujuan").click()
    screenshot(kadis, "09-daftar-persetujuan")
    kadis.get_by_role("link", name=ticket_id).click()
    expect(kadis.get_by_role("heading", name="Rencana yang akan dijalankan")).to_be_visible()
    expect(kadis.locator("#h-data + dl")).to_contain_text(HOSTNAME)
    screenshot(kadis, "10-persetujuan-dengan-spesifikasi")
    assert jobs_of(app, ticket_id) == []  # the engine has been running all along: nothing before the approval
    kadis.get_by_label("Alasan persetujuan").fill("Disetujui sesuai rekomendasi spesifikasi.")
    kadis.get_by_role("button", name="Setujui").click()
    expect(kadis.get_by_role("status")).to_contain_text("disetujui")
    screenshot(kadis, "11-disetujui")
    kadis.context.close()

    # Nobody runs anything: the engine provisions the lab host. The applicant follows it on "Tiket saya".
    page.get_by_role("link", name="Tiket saya").click()
    expect(page.get_by_role("link", name=ticket_id)).to_be_visible()
    applicant.saw()
    screenshot(page, "12-tiket-saya-diproses")
    page.get_by_role("link", name=ticket_id).click()
    applicant.saw()
    screenshot(page, "13-tiket-sedang-dikerjakan")
    document = page.get_by_role("link", name=f"berita_acara_instalasi_server_{ticket_id}.md")
    give_up = time.monotonic() + GIVE_UP_AFTER_S
    while not document.is_visible():
        failed = [j for j in jobs_of(app, ticket_id) if j[1] in (JobState.FAILED, JobState.CANCELED)]
        assert not failed, jobs_of(app, ticket_id)
        if time.monotonic() > give_up:
            pytest.fail(f"no berita acara on the ticket; jobs: {jobs_of(app, ticket_id)}")
        page.wait_for_timeout(3000)
        page.reload()
        applicant.saw()
    expect(page.locator(".langkah-done", has_text="membuat berita acara")).to_have_count(1)
    screenshot(page, "14-berita-acara-muncul")

    assert [(step, state) for step, state, _ in jobs_of(app, ticket_id)] == [
        (step, "succeeded") for step in AUTOMATED], jobs_of(app, ticket_id)
    host = lab.hosts[0]
    with page.expect_download() as download:
        document.click()
    berita_acara = Path(download.value.path()).read_text(encoding="utf-8")
    assert "## BERITA ACARA INSTALASI SERVER" in berita_acara, berita_acara[:400]
    assert ticket_id in berita_acara and HOSTNAME in berita_acara and host.address in berita_acara, berita_acara

    # What the provisioning did is there: the host's web stack answers over the lab network.
    provision = next(j for j in app.queue.list_jobs(ticket_id=ticket_id) if j.step_id == "instalasi-server")
    assert provision.result is not None and provision.result["facts"]["address"] == host.address
    log = "\n".join(line for _, line in app.queue.logs(provision.id))  # ansible-runner's events, streamed
    assert "TASK [Set the host name]" in log and "PLAY RECAP" in log
    with urllib.request.urlopen(f"http://{host.address}/", timeout=30) as response:  # noqa: S310 - the lab host
        assert response.status == 200

    # The backup password was used by the backup playbook, and never shown to the applicant.
    assert len(applicant.shown) >= 7
    leaks = [shown_url for shown_url, html in applicant.shown if CANARY_BACKUP_PASSWORD in html]
    assert leaks == [], leaks
    assert CANARY_BACKUP_PASSWORD not in berita_acara
