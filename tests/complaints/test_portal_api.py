"""The portal's request form files a complaint through the same intake (`toolkit.complaints.intake`)."""

from __future__ import annotations

from tests.web.portal.conftest import Served, csrf_of, portal_app, served  # noqa: F401 - fixtures used by name


def test_portal_form_files_an_anonymous_complaint(served: Served) -> None:  # noqa: F811
    andi = served.login("andi")
    form = andi.get("/layanan/pengaduan/ajukan")
    assert form.status_code == 200 and 'name="isi"' in form.text
    assert 'name="kanal"' not in form.text and 'name="message_id"' not in form.text  # not an applicant's to fill
    assert 'name="nama_pengadu"' not in form.text
    assert "/layanan/pengaduan/ajukan" in andi.get("/layanan/pengaduan").text  # anyone may file one
    staff_form = served.login("sari").get("/layanan/pengaduan/ajukan").text
    assert 'name="kanal"' in staff_form and 'name="message_id"' not in staff_form
    response = andi.post("/layanan/pengaduan/ajukan", data={
        "csrf": csrf_of(form.text), "jenis": "pengaduan", "isi": "Portal <script>alert(1)</script> lambat",
        "layanan_terkait": "pusat-data", "anonim": "ya"})
    assert response.status_code == 303, response.text[:800]
    ticket_id = response.headers["location"].rsplit("/", 1)[-1].split("?")[0]
    ticket = served.app.tickets.get(ticket_id)
    assert ticket.service_id == "pengaduan" and ticket.fields["anonim"] is True
    sari = served.login("sari")
    page = sari.get(f"/tiket/{ticket_id}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page  # shown escaped
    assert "Andi Pratama" not in page and "[dirahasiakan]" in page


def test_portal_form_refuses_an_unknown_service(served: Served) -> None:  # noqa: F811
    andi = served.login("andi")
    form = andi.get("/layanan/pengaduan/ajukan")
    response = andi.post("/layanan/pengaduan/ajukan", data={
        "csrf": csrf_of(form.text), "jenis": "saran", "isi": "x", "layanan_terkait": "tidak-ada"})
    assert response.status_code == 400
    assert served.app.tickets.list_tickets(service_id="pengaduan") == []


def test_http_api_files_a_complaint_through_the_same_intake(state_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """POST /api/v1/tickets with service=pengaduan: the complaint's rules hold (a ticket the caller may not
    see is 'not found', an applicant may not enter a LAPOR complaint), a valid one is created."""
    import json

    import httpx

    from tests.web.conftest import _wait_ready
    from toolkit.accounts.service import open_accounts
    from toolkit.bootstrap import App
    from toolkit.domain.principal import AuthMethod, Principal
    from toolkit.settings import load_settings
    from toolkit.web.server import WebServer

    app = App(load_settings(state_dir=state_dir, http={"bind": "127.0.0.1:0"},
                            accounts={"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}))
    accounts = open_accounts(app)
    try:
        token = accounts.tokens.create(Principal(user="andi", auth=AuthMethod.LAB_AS), "andi", "1d", "act")
    finally:
        accounts.close()
    server = WebServer(app, app.settings, "127.0.0.1", 0)
    url = server.start()
    try:
        _wait_ready(url)
        headers = {"Authorization": f"Bearer {token.secret.get_secret_value()}"}
        with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=30) as c:
            def post(**fields: object) -> httpx.Response:
                return c.post("/tickets", data={"service": "pengaduan", "title": "Keluhan",
                                                "fields": json.dumps({"jenis": "pengaduan", "isi": "x"} | fields)})

            assert post(tiket_terkait="SPBE-2026-00042").status_code == 400
            lapor = post(kanal="sp4n_lapor", nomor_lapor="1234567")
            assert lapor.status_code == 403, lapor.text
            assert post(isi="y" * 5001).status_code == 400
            created = post(layanan_terkait="splp", anonim=True)
            assert created.status_code == 201, created.text
        ticket = app.tickets.get(created.json()["id"])
        assert ticket.service_id == "pengaduan" and ticket.requester == "andi" and ticket.fields["anonim"] is True
    finally:
        server.stop()
        app.close()
