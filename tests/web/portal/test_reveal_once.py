"""Reveal-once end to end in the real browser: a credential issued for an SPLP ticket (stored in the vault
with the applicant as its recipient, as the issuing action stores it) is shown to the applicant once on the
portal; a second visit says it was already collected; another person (staff who may see the ticket, or
another applicant) cannot reveal it. The value is a canary: it never appears in a log line, another
page, the audit log or any store but the vault's."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pydantic import SecretStr

from tests.fixtures.browser import Screenshot
from tests.support.principals import as_lab
from tests.web.portal.conftest import PDF, Served, csrf_of, portal_settings, running
from tests.web.portal.test_browser_flow import login
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.vault import VaultMeta, generate_key

CANARY = "kanari-7f3c9e51d2a84b06-RAHASIA"


@pytest.fixture
def vaulted(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The portal on a deployment whose vault has a key (issued credentials can be stored)."""
    monkeypatch.setenv("SPBE_TEST_PORTAL_VAULT_KEY", generate_key())
    app = App(portal_settings(state_dir, vault={"key": {"ref": "env:SPBE_TEST_PORTAL_VAULT_KEY"}}))
    with running(app) as served:
        yield served


def splp_ticket(served: Served) -> str:
    fields = {"instansi": "Dinas Kesehatan", "api_id": "kependudukan", "aplikasi_konsumen": "simpus",
              "kebutuhan_data": "Verifikasi NIK pasien.", "rate_limit_per_menit": "60",
              "kontak_email": "it@dinkes.example.go.id", "jenis_kredensial": "api-key"}
    service = served.app.catalog.get("splp")
    files = [AttachmentUpload(name=f"{a.name}.pdf", media_type="application/pdf", content=PDF, kind=a.name)
             for a in service.requirements.attachments if "application/pdf" in a.media_types]
    ticket_id = desk.open_ticket(served.app, "splp", as_lab("andi"), "Akses API kependudukan", fields, files).id
    served.app.vault.put(ticket_id, "api-key", SecretStr(CANARY), meta=VaultMeta(
        recipient="andi", label="Kunci API SPLP", attributes={"consumer": "simpus", "endpoint": "/kependudukan"}))
    return ticket_id


def test_the_applicant_reveals_once_and_nobody_else_can(page: Page, vaulted: Served, screenshot: Screenshot,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    served = vaulted
    ticket_id = splp_ticket(served)
    reveal = f"/tiket/{ticket_id}/rahasia/api-key"
    sari, budi = served.login("sari"), served.login("budi")
    assert sari.get(f"/tiket/{ticket_id}").status_code == 200  # staff may see the ticket ...
    assert "rahasia/api-key" not in sari.get(f"/tiket/{ticket_id}").text  # ... but is not offered the secret
    assert sari.get(reveal).status_code == 403
    refused = sari.post(reveal, data={"csrf": csrf_of(sari.get("/tiket").text)})
    assert refused.status_code == 403 and CANARY not in refused.text
    assert budi.get(reveal).status_code == 404  # another applicant: the ticket does not exist for them
    assert budi.post(reveal, data={"csrf": csrf_of(budi.get("/tiket").text)}).status_code == 404
    assert served.app.vault.masked(ticket_id, "api-key").revealed_at is None  # the refusals consumed nothing

    login(page, served, "andi")
    page.goto(f"{served.url}/tiket/{ticket_id}")
    expect(page.get_by_role("heading", name="Kredensial")).to_be_visible()
    screenshot(page, "01-tiket-dengan-kredensial")
    page.get_by_role("link", name="ambil (sekali saja)").click()
    screenshot(page, "02-sebelum-ditampilkan")
    page.get_by_role("button", name="Tampilkan sekali").click()
    expect(page.get_by_label("Nilai kredensial")).to_have_text(CANARY)
    screenshot(page, "03-ditampilkan-sekali")
    page.goto(f"{served.url}{reveal}")
    expect(page.get_by_text("Kredensial ini sudah diambil pada")).to_be_visible()
    assert CANARY not in page.content()
    screenshot(page, "04-sudah-diambil")
    page.goto(f"{served.url}/tiket/{ticket_id}")
    expect(page.get_by_text("sudah diambil")).to_be_visible()

    andi = served.login("andi")
    again = andi.post(reveal, data={"csrf": csrf_of(andi.get("/tiket").text)})
    assert again.status_code in (403, 409) and CANARY not in again.text
    for client, paths in ((andi, ["/tiket", f"/tiket/{ticket_id}", reveal, "/layanan"]),
                          (sari, [f"/tiket/{ticket_id}", "/tiket?semua=1", "/antrean", "/persetujuan", "/insiden"])):
        for path in paths:
            assert CANARY not in client.get(path).text, path
    assert CANARY not in caplog.text
    assert not any(CANARY in str(e.data) for e in served.app.audit.entries(ticket_id))
    state: Path = served.app.settings.state_dir
    for store in ("tickets.db", "audit.db", "queue.db", "accounts.db"):
        for path in state.glob(f"{store}*"):
            assert CANARY.encode() not in path.read_bytes(), path
