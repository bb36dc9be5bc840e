"""`spbe ticket wait` while a real server (trigger + workers) works the ticket in the background."""

from __future__ import annotations

import json
import threading

import pytest

from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.engine.helpers import approved_ticket
from tests.support.cli import Spbe
from toolkit.engine.server import Server


@pytest.fixture
def served(engine_app, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SPBE_CATALOG_DIR", str(TEST_CATALOG))
    monkeypatch.setenv("SPBE_EXTRA_ACTIONS", json.dumps(list(TEST_ACTIONS)))
    server = Server(engine_app, workers=1)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield engine_app
    server.stop.set()
    thread.join(timeout=30)


def _wait(app, *args: str):  # type: ignore[no-untyped-def]
    return Spbe(state_dir=app.settings.state_dir)("ticket", "wait", *args)


def test_wait_returns_when_the_step_is_done(served):
    ticket_id = approved_ticket(served, jeda_detik="1")
    result = _wait(served, ticket_id, "--step", "aksi-kedua", "--timeout", "60")
    assert result.exit_code == 0, result.output
    assert "aksi-pertama" in result.output and "aksi-kedua" in result.output


def test_wait_reports_an_unknown_step_and_a_timeout(served):
    ticket_id = approved_ticket(served, jeda_detik="1")
    assert _wait(served, ticket_id, "--step", "tidak-ada").exit_code == 3
    result = _wait(served, ticket_id, "--step", "penutupan", "--timeout", "0.5")
    assert result.exit_code == 6 and "not done" in result.output


def test_wait_reports_a_failed_job(engine_app, monkeypatch):
    monkeypatch.setenv("SPBE_CATALOG_DIR", str(TEST_CATALOG))
    monkeypatch.setenv("SPBE_EXTRA_ACTIONS", json.dumps(list(TEST_ACTIONS)))
    ticket_id = approved_ticket(engine_app)
    engine_app.queue._conn().execute("UPDATE jobs SET state='failed', error='playbook failed on pd-app-01'")
    result = _wait(engine_app, ticket_id, "--step", "aksi-kedua", "--timeout", "30")
    assert result.exit_code == 7 and "playbook failed on pd-app-01" in result.output
