"""`POST /api/v1/tickets/{id}/reject` on a real server with the packaged catalog: the koordinator closes a report
as not verified with their own token; the CSIRT's token is refused, the reporter's too, and nothing changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.actions.test_incident_workflow import EVIDENCE, GORONTALO
from tests.support.principals import as_lab
from toolkit.accounts.service import open_accounts
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.settings import load_settings
from toolkit.web.server import WebServer

FAST_ARGON2 = {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}


@pytest.fixture
def served(state_dir: Path) -> Iterator[tuple[App, str]]:
    app = App(load_settings(state_dir=state_dir, http={"bind": "127.0.0.1:0"}, accounts=FAST_ARGON2))
    server = WebServer(app, app.settings, "127.0.0.1", 0)
    url = server.start()
    assert server.started.wait(30)
    try:
        yield app, url + "/api/v1"
    finally:
        server.stop()
        app.close()


def _client(app: App, api: str, user: str) -> httpx.Client:
    accounts = open_accounts(app)
    try:
        token = accounts.tokens.create(as_lab(user), user, "1d", "act").secret.get_secret_value()
    finally:
        accounts.close()
    return httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_reject_through_the_api(served: tuple[App, str]) -> None:
    app, api = served
    ticket_id = desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Situs berubah", GORONTALO, EVIDENCE).id
    for user in ("rina", "lina"):
        with _client(app, api, user) as c:
            refused = c.post(f"/tickets/{ticket_id}/reject", json={"reason": "Bukan insiden."})
            assert refused.status_code == 403, refused.text
    with _client(app, api, "sari") as c:
        assert c.post(f"/tickets/{ticket_id}/reject", json={"reason": "{{ 7*7 }}"}).status_code in (400, 422)
        assert app.tickets.get(ticket_id).status.value == "open"
        done = c.post(f"/tickets/{ticket_id}/reject", json={"reason": "Pemeliharaan terjadwal, bukan peretasan."})
        assert done.status_code == 200 and done.json()["status"] == "closed", done.text
        again = c.post(f"/tickets/{ticket_id}/approve", json={"reason": "Terverifikasi."})
        assert again.status_code == 409, again.text
    assert app.queue.list_jobs(ticket_id=ticket_id) == []
