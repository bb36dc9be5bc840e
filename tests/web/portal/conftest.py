"""The portal served for real: FastAPI with `portal_router`, in uvicorn on 127.0.0.1 and a free port, on the
test's own state directory; local accounts (argon2id at the settings' floor, so the suite stays quick) for
the people of inventory/roles.yml the tests act as.

The catalog is the packaged one plus ``uji-berkas`` (tests/web/portal/catalog): the Pusat Data request
with its PDF attachment, whose automated steps are test actions, so a browser test reaches the berita
acara without the lab. The engine runs in-process between steps (`toolkit.engine.server.run_ticket`),
as ``spbe run`` does.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from tests.support.principals import as_lab
from tests.support.smtp_sink import free_port
from toolkit.accounts.service import Accounts, open_accounts
from toolkit.bootstrap import App
from toolkit.domain.catalog.loader import DEFAULT_DIRECTORY
from toolkit.engine.server import run_ticket
from toolkit.settings import Settings, load_settings
from toolkit.web.portal import portal_router

HERE = Path(__file__).resolve().parent
FAST_ARGON2 = {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}
PASSWORD = "Rahasia-uji-7c41e9-Portal"  # noqa: S105 - every test account's password
PEOPLE = ("andi", "budi", "lina", "sari", "kadis", "kadis2", "rina", "prov-dukcapil")
TEST_ACTIONS = ("tests.support.actions:COUNTER", "tests.web.portal.actions:BERITA_ACARA")
# The smallest well-formed PDF libmagic names application/pdf: a real (one blank page) document.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def catalog_dir(root: Path) -> Path:
    """The packaged services and the portal's test service, in one catalog directory."""
    target = root / "catalog"
    target.mkdir(exist_ok=True)
    for path in [*DEFAULT_DIRECTORY.glob("*.yaml"), HERE / "catalog" / "uji-berkas.yaml"]:
        if path.name != "roles.yaml":
            shutil.copy(path, target / path.name)
    return target


def portal_settings(state_dir: Path, **overrides: Any) -> Settings:
    accounts = {**FAST_ARGON2, **overrides.pop("accounts", {})}
    return load_settings(state_dir=state_dir, catalog_dir=catalog_dir(state_dir.parent),
                         extra_actions=TEST_ACTIONS, accounts=accounts, **overrides)


@dataclass
class Served:
    url: str
    app: App
    accounts: Accounts
    server: uvicorn.Server
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An HTTP client, closed when the test ends."""
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30, **kwargs)
        self.clients.append(client)
        return client

    def login(self, user: str, password: str = PASSWORD) -> httpx.Client:
        """An HTTP client holding ``user``'s session cookie (a real login through the form)."""
        client = self.client()
        page = client.get("/masuk")
        token = csrf_of(page.text)
        response = client.post("/masuk", data={"csrf": token, "username": user, "password": password})
        assert response.status_code == 303, response.text[:500]
        return client

    def run_engine(self, ticket_id: str) -> None:
        run_ticket(self.app, ticket_id)


def csrf_of(html: str) -> str:
    import re

    match = re.search(r'name="csrf" value="([^"]*)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def serve(app: App, *, setup: Callable[[FastAPI], None] | None = None,
          port: int | None = None, root_path: str = "") -> tuple[str, uvicorn.Server, threading.Thread]:
    """Serve ``app``'s portal; ``root_path`` as behind a reverse proxy that strips that prefix (uvicorn
    puts it in the scope, as `toolkit.web.server` does from ``settings.http.root_path``)."""
    web = FastAPI()
    web.include_router(portal_router(app))
    if setup is not None:
        setup(web)
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                          root_path=root_path))
    thread = threading.Thread(target=server.run, name="portal-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal did not start")
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


def add_accounts(app: App, accounts: Accounts, people: tuple[str, ...] = PEOPLE) -> None:
    for user in people:
        accounts.admin.add(as_lab("sari"), user, SecretStr(PASSWORD))


@pytest.fixture
def portal_app(state_dir: Path) -> App:
    return App(portal_settings(state_dir))


@contextmanager
def running(app: App, *, root_path: str = "") -> Iterator[Served]:
    """``app``'s portal served on loopback with the test accounts; stopped (and its clients closed) after."""
    url, server, thread = serve(app, root_path=root_path)
    accounts = open_accounts(app)  # the same accounts.db the portal reads
    add_accounts(app, accounts)
    served = Served(url=url, app=app, accounts=accounts, server=server)
    try:
        yield served
    finally:
        for client in served.clients:
            client.close()
        server.should_exit = True
        thread.join(timeout=10)
        accounts.close()


@pytest.fixture
def served(portal_app: App) -> Iterator[Served]:
    with running(portal_app) as served_:
        yield served_
