"""`/readyz` on a real server: 503 naming the store when the ticket store and the queue cannot be opened
(the state directory taken away under the running server), ready again once it is back. `/healthz` keeps
answering meanwhile: the process is alive, it just cannot serve."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.web.conftest import _wait_ready
from toolkit.bootstrap import App
from toolkit.settings import load_settings
from toolkit.web.server import WebServer


@pytest.fixture
def served(state_dir: Path) -> Iterator[tuple[str, Path]]:
    settings = load_settings(state_dir=state_dir, catalog_dir=TEST_CATALOG, extra_actions=TEST_ACTIONS,
                             http={"bind": "127.0.0.1:0"})
    app = App(settings)
    server = WebServer(app, settings, "127.0.0.1", 0)
    url = server.start()
    _wait_ready(url)
    try:
        yield url, state_dir
    finally:
        server.stop()
        app.close()


def test_readyz_is_503_while_the_stores_cannot_be_opened(served: tuple[str, Path]) -> None:
    url, state_dir = served
    # The stores keep one connection per thread; the server's request threads have opened none yet, so
    # the first readiness probe must open the databases, and the state directory is gone.
    away = state_dir.with_name("state-away")
    state_dir.rename(away)
    try:
        down = httpx.get(url + "/readyz", timeout=30)
        assert down.status_code == 503, down.text
        assert down.json() == {"status": "unavailable", "checks": {"tickets": "unavailable", "queue": "unavailable"}}
        assert httpx.get(url + "/healthz", timeout=30).status_code == 200
    finally:
        away.rename(state_dir)
    up = httpx.get(url + "/readyz", timeout=30)
    assert up.status_code == 200 and up.json()["status"] == "ready", up.text

