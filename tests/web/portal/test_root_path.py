"""Behind a reverse proxy that serves the portal under a prefix (``settings.http.root_path``), every link,
form action and redirect the portal makes carries that prefix; the proxy strips it before uvicorn sees
the request, as nginx's ``proxy_pass http://spbe/;`` under ``location /layanan-spbe/`` does."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.web.portal.conftest import PASSWORD, Served, csrf_of, running
from tests.web.portal.test_security import open_ticket
from toolkit.bootstrap import App

ROOT = "/layanan-spbe"


@pytest.fixture
def behind_proxy(portal_app: App) -> Iterator[Served]:
    with running(portal_app, root_path=ROOT) as served:
        yield served


def links(html: str) -> list[str]:
    return re.findall(r'(?:href|action|src)="([^"#][^"]*)"', html)


def test_every_link_form_and_redirect_carries_the_root_path(behind_proxy: Served) -> None:
    client = behind_proxy.client()
    response = client.get("/tiket")
    assert response.status_code == 303 and response.headers["location"] == f"{ROOT}/masuk?lanjut=/tiket"
    page = client.get("/masuk").text
    assert links(page) and all(link.startswith(ROOT + "/") for link in links(page)), links(page)
    response = client.post("/masuk", data={"csrf": csrf_of(page), "username": "sari", "password": PASSWORD,
                                           "lanjut": "/antrean"})
    assert response.status_code == 303 and response.headers["location"] == f"{ROOT}/antrean"
    ticket_id = open_ticket(behind_proxy)
    for path in ("/tiket", "/antrean", "/layanan", f"/tiket/{ticket_id}", "/insiden"):
        page = client.get(path).text
        assert links(page) and all(link.startswith(ROOT + "/") for link in links(page)), (path, links(page))
    assert 'aria-current="page"' in client.get("/antrean").text  # the menu compares route paths
    response = client.post(f"/tiket/{ticket_id}/periksa", data={"csrf": csrf_of(page)})
    assert response.status_code == 303 and response.headers["location"] == f"{ROOT}/tiket/{ticket_id}?ok=diperiksa"
    assert client.get("/static/portal/portal.css").status_code == 200

