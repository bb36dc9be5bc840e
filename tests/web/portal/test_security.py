"""The portal's security rules over real HTTP (uvicorn on loopback) and, for XSS, in the real browser.

CSRF: a form without this session's token is a 403 and changes nothing. Cookies: HttpOnly, SameSite=Lax,
Secure when the settings or TLS say so. Brute force: the lockout holds even for the right password, and
the page explains it. IDOR: another applicant's ticket, and its files, are "not found". XSS: markup typed
into every field, the title and a comment is shown as text and runs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.fixtures.browser import Screenshot
from tests.support.principals import as_lab
from tests.web.portal.conftest import PASSWORD, PDF, Served, add_accounts, csrf_of, portal_settings, serve
from toolkit.accounts.service import open_accounts
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def open_ticket(served: Served, user: str = "andi", title: str = "Hosting SIMPUS", **fields: str) -> str:
    values = {"instansi": "Dinas Kesehatan", "perihal": "Permohonan", "hostname": "simpus-app", "vcpu": "2",
              "ram_gb": "4", "kontak_email": "it@dinkes.example.go.id", **fields}
    pdf = AttachmentUpload(name="surat.pdf", media_type="application/pdf", content=PDF, kind="surat_permohonan")
    return desk.open_ticket(served.app, "uji-berkas", as_lab(user), title, values, [pdf]).id


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(served: Served) -> None:
    ticket_id = open_ticket(served)
    sari = served.login("sari")
    for data in ({}, {"csrf": "0" * 64}, {"csrf": csrf_of(served.login("kadis").get("/tiket").text)}):
        response = sari.post(f"/tiket/{ticket_id}/periksa", data=data)
        assert response.status_code == 403 and "Formulir ditolak" in response.text
    assert [e.kind.value for e in served.app.tickets.timeline(ticket_id)] == ["opened"]
    anonymous = served.client()
    assert anonymous.post("/masuk", data={"username": "andi", "password": PASSWORD}).status_code == 403
    token = csrf_of(sari.get("/tiket").text)
    assert sari.post(f"/tiket/{ticket_id}/periksa", data={"csrf": token}).status_code == 303


def test_session_cookie_flags_and_logout_revokes_server_side(served: Served) -> None:
    client = served.client()
    token = csrf_of(client.get("/masuk").text)
    response = client.post("/masuk", data={"csrf": token, "username": "andi", "password": PASSWORD})
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("spbe_sesi="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags and "secure" not in flags  # plain http on loopback
    assert not any(f.startswith(("max-age", "expires")) for f in flags)  # the server ends sessions
    stolen = client.cookies["spbe_sesi"]
    assert client.get("/tiket").status_code == 200
    assert client.post("/keluar", data={"csrf": csrf_of(client.get("/tiket").text)}).status_code == 303
    replay = served.client(cookies={"spbe_sesi": stolen})
    assert replay.get("/tiket").status_code == 303  # revoked: back to the login page


@pytest.fixture
def tls_portal(tmp_path: Path) -> Iterator[str]:
    state = tmp_path / "tls-state"
    state.mkdir()
    app = App(portal_settings(state, portal={"url": "https://layanan.example.go.id"}))
    url, server, thread = serve(app)
    accounts = open_accounts(app)
    add_accounts(app, accounts, ("andi", "sari"))
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    accounts.close()


def test_the_cookie_is_secure_when_the_portal_is_served_over_tls(tls_portal: str) -> None:
    import httpx

    with httpx.Client(base_url=tls_portal) as client:
        page = client.get("/masuk")
        pre = page.headers["set-cookie"]
        assert "secure" in pre.lower()  # the pre-session cookie too; httpx keeps it for https only, so:
        response = client.post("/masuk", data={"csrf": csrf_of(page.text), "username": "andi", "password": PASSWORD},
                               headers={"Cookie": pre.split(";")[0]})
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("spbe_sesi="))
    assert "secure" in cookie.lower() and "httponly" in cookie.lower()


def test_brute_force_locks_the_account_and_says_so(served: Served) -> None:
    client = served.client()
    threshold = served.app.settings.accounts.lockout_threshold
    for _ in range(threshold):
        page = client.get("/masuk")
        response = client.post("/masuk", data={"csrf": csrf_of(page.text), "username": "budi", "password": "salah"})
        assert response.status_code == 401
    page = client.get("/masuk")
    response = client.post("/masuk", data={"csrf": csrf_of(page.text), "username": "budi", "password": PASSWORD})
    assert response.status_code == 401 and "spbe_sesi" not in response.headers.get("set-cookie", "")
    assert "dikunci" in response.text and "salah" not in response.text.split("Kata sandi")[-1][:50]


def test_an_applicant_cannot_open_another_applicants_ticket_or_its_files(served: Served) -> None:
    ticket_id = open_ticket(served, "andi")
    budi = served.login("budi")
    for path in (f"/tiket/{ticket_id}", f"/tiket/{ticket_id}/berkas/surat.pdf", f"/persetujuan/{ticket_id}"):
        response = budi.get(path)
        assert response.status_code == 404 and "simpus-app" not in response.text
    missing = budi.get("/tiket/SPBE-2026-99999")
    assert missing.status_code == 404 and missing.text.count("tidak ditemukan") == budi.get(
        f"/tiket/{ticket_id}").text.count("tidak ditemukan")  # the same answer: ids cannot be probed
    token = csrf_of(budi.get("/tiket").text)
    assert budi.post(f"/tiket/{ticket_id}/komentar", data={"csrf": token, "komentar": "hai"}).status_code == 404
    andi = served.login("andi")
    download = andi.get(f"/tiket/{ticket_id}/berkas/surat.pdf")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment")


def test_the_requester_cannot_approve_their_own_ticket_through_the_portal(served: Served) -> None:
    ticket_id = open_ticket(served, "kadis2")
    desk.check(served.app, ticket_id, as_lab("sari"))
    kadis2 = served.login("kadis2")
    token = csrf_of(kadis2.get(f"/tiket/{ticket_id}").text)
    response = kadis2.post(f"/tiket/{ticket_id}/setujui", data={"csrf": token, "alasan": "saya setuju"})
    assert response.status_code == 403
    assert "approved" not in [e.kind.value for e in served.app.tickets.timeline(ticket_id)]


def test_markup_in_every_field_and_comment_is_shown_as_text(page: Page, served: Served,
                                                            screenshot: Screenshot) -> None:
    ticket_id = open_ticket(served, title=XSS, instansi=XSS, perihal=XSS, keterangan=XSS)
    desk.comment(served.app, ticket_id, as_lab("sari"), XSS)
    raw = served.login("andi").get(f"/tiket/{ticket_id}").text
    assert "<script>window.__xss" not in raw and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in raw
    staff_list = served.login("sari").get("/tiket?semua=1").text
    assert "<script>window" not in staff_list
    page.goto(served.url + "/masuk")
    page.get_by_label("Nama pengguna").fill("andi")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.goto(f"{served.url}/tiket/{ticket_id}")
    assert page.evaluate("window.__xss") is None
    assert page.locator("h1").inner_text().endswith(XSS)  # shown literally
    assert page.locator(".riwayat .teks", has_text="<script>").count() >= 2  # the title and the comment
    screenshot(page, "xss-sebagai-teks")
