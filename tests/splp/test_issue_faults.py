"""Issue 4's "bad input" line end to end through the engine: the gateway answering 500/409/401 in the
middle of ``gateway.issue_endpoint``, or unreachable. Each time: the job fails with a clear comment in
Bahasa Indonesia on the ticket, nothing half-created is left on the gateway (checked on the gateway
itself), no secret stays in the vault, and a retry later (``spbe jobs retry``) completes the job once:
exactly one consumer with exactly one credential, and the try-out passes.

Express Gateway is the REAL lab gateway, behind a fault-injecting forwarder (`faulty_admin`); Kong is
the FAKE (Kong cannot run here; tests/integrations/gateway/fakes/kong_fake.py follows its Admin API).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from integrations.gateway.express_gateway import ExpressGatewayAdapter
from lab.gateway import GatewayLab
from lab.models import LabState
from tests.fixtures.lab import config_env, settings_for
from tests.integrations.gateway.conftest import KONG_TOKEN
from tests.integrations.gateway.fakes.kong_fake import KongFake
from tests.splp.faulty_admin import FaultyForwarder
from tests.splp.helpers import approved_ticket, facts
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import jobs as job_control
from toolkit.engine.server import run_ticket
from toolkit.errors import NotFoundError
from toolkit.ports.jobs import Job, JobState
from toolkit.settings import load_settings
from toolkit.vault import generate_key

API = "kependudukan"


def _failed_comment(app: App, ticket_id: str) -> str:
    failed = [e.text for e in app.tickets.timeline(ticket_id) if str(e.kind) == "step_failed"]
    assert len(failed) == 1, failed
    return failed[0]


def _nothing_kept(app: App, ticket_id: str) -> None:
    assert app.vault.records(ticket_id) == []
    assert app.state.issued.find(ticket_id) is None


def _completes_once(app: App, ticket_id: str, failed: Job) -> dict[str, object]:
    job_control.retry(app, failed.id, as_lab("dewi"))
    jobs = run_ticket(app, ticket_id)
    assert [(j.step_id, j.state) for j in jobs] == [
        ("pemberian-endpoint", JobState.SUCCEEDED), ("try-out-endpoint", JobState.SUCCEEDED)], [j.error for j in jobs]
    assert jobs[0].id == failed.id and jobs[0].attempt == 2
    return facts(jobs)


# ------------------------------------------------------------------ the real Express Gateway


@pytest.fixture
def eg(lab: LabState, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[App, FaultyForwarder, str]]:
    state = GatewayLab(lab.lab_dir, lab.name, lab.lab_dir).status()
    assert state is not None, lab.warnings
    forwarder = FaultyForwarder(state.admin_url).start()
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    settings = settings_for(lab, state_dir=state_dir,
                             gateway={"kind": "express_gateway", "options": {
                                 "admin_url": forwarder.url, "proxy_url": state.proxy_url, "timeout_s": 3}})
    # The route exists before the fault is armed (as it does once the first consumer of the API was served).
    ExpressGatewayAdapter(settings, admin_url=state.admin_url, proxy_url=state.proxy_url).ensure_route(API)
    yield App(settings), forwarder, state.admin_url
    forwarder.stop()


def _eg_user(admin_url: str, name: str) -> dict[str, object] | None:
    answer = requests.get(f"{admin_url}/users/{name}", timeout=5)
    return None if answer.status_code == 404 else dict(answer.json())


def _eg_credentials(admin_url: str, user_id: object) -> list[dict[str, object]]:
    body = requests.get(f"{admin_url}/credentials/{user_id}", timeout=5).json() or {}
    return [c for c in body.get("credentials", []) if c.get("isActive")]


@pytest.mark.lab
@pytest.mark.parametrize(("status", "method", "path", "said"), [
    (500, "POST", r"^/credentials$", "gangguan"),                       # after the consumer was created
    (409, "PUT", r"^/credentials/key-auth/[^/]+/scopes/", "konflik"),   # after the key was issued
    (401, "PUT", r"^/pipelines/spbe-", "401/403"),                      # while applying the quota
])
def test_express_gateway_fault_mid_way_is_undone_and_the_retry_completes_once(
        eg: tuple[App, FaultyForwarder, str], status: int, method: str, path: str, said: str) -> None:
    app, forwarder, admin_url = eg
    consumer = f"simpus-{status}-{id(app) % 100000}"
    ticket = approved_ticket(app, consumer)
    forwarder.fail(status, path, method=method)
    jobs = run_ticket(app, ticket.id)
    assert [(j.step_id, j.state) for j in jobs] == [("pemberian-endpoint", JobState.FAILED)]
    comment = _failed_comment(app, ticket.id)
    assert said in comment and f"konsumen {consumer} dihapus dari gateway" in comment
    assert "aman untuk dijalankan ulang" in comment
    assert _eg_user(admin_url, consumer) is None  # on the real gateway: nothing half-made is left
    _nothing_kept(app, ticket.id)

    issued = _completes_once(app, ticket.id, jobs[0])
    user = _eg_user(admin_url, consumer)
    assert user is not None and user["id"] == issued["consumer_id"]
    assert [c["keyId"] for c in _eg_credentials(admin_url, user["id"])] == [issued["key_id"]]
    requests.delete(f"{admin_url}/users/{user['id']}", timeout=5)


@pytest.mark.lab
def test_express_gateway_unreachable_then_retried_from_the_cli(eg: tuple[App, FaultyForwarder, str],
                                                              lab: LabState) -> None:
    app, forwarder, admin_url = eg
    consumer = f"simpus-down-{id(app) % 100000}"
    ticket = approved_ticket(app, consumer)
    forwarder.down()
    jobs = run_ticket(app, ticket.id)
    assert [j.state for j in jobs] == [JobState.FAILED]
    comment = _failed_comment(app, ticket.id)
    assert "tidak dapat dihubungi" in comment and "Tidak ada konsumen atau kredensial yang tertinggal" in comment
    _nothing_kept(app, ticket.id)
    forwarder.up()
    env = {"SPBE_GATEWAY": app.settings.gateway.model_dump_json(), **config_env(lab)}
    spbe = Spbe(state_dir=app.settings.state_dir, env=env, catch_exceptions=True)
    refused = spbe("jobs", "retry", str(jobs[0].id), "--as", "andi")
    assert refused.exit_code == 4  # the applicant does not decide a re-run
    out = spbe("jobs", "retry", str(jobs[0].id), "--as", "dewi")
    assert out.exit_code == 0, out.output
    done = run_ticket(app, ticket.id)
    assert [j.state for j in done] == [JobState.SUCCEEDED, JobState.SUCCEEDED], [j.error for j in done]
    user = _eg_user(admin_url, consumer)
    assert user is not None and len(_eg_credentials(admin_url, user["id"])) == 1
    requests.delete(f"{admin_url}/users/{user['id']}", timeout=5)


# ------------------------------------------------------------------ the Kong FAKE


@pytest.fixture
def kong(state_dir: Path, tmp_path: Path, provider_backend: str,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[App, KongFake]]:
    fake = KongFake(admin_token=KONG_TOKEN).start()
    fake.publish(API, provider_backend)
    token = tmp_path / "kong-token"
    token.write_text(KONG_TOKEN, encoding="utf-8")
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    settings = load_settings(state_dir=state_dir, secrets={"kong_admin_token": {"ref": f"file:{token}"}},
                             gateway={"kind": "kong", "options": {"admin_url": fake.url, "proxy_url": fake.proxy_url,
                                                                  "admin_token_secret": "kong_admin_token"}})
    yield App(settings), fake
    fake.stop()


@pytest.mark.parametrize(("status", "said"), [(500, "gangguan"), (409, "konflik"), (401, "401/403")])
def test_kong_fault_mid_way_is_undone_and_the_retry_completes_once(kong: tuple[App, KongFake], status: int,
                                                                   said: str) -> None:
    app, fake = kong
    ticket = approved_ticket(app, "simpus-kong")
    fake.fail(status, r"/consumers/[^/]+/key-auth$", method="POST")  # the consumer exists by then
    jobs = run_ticket(app, ticket.id)
    assert [j.state for j in jobs] == [JobState.FAILED]
    comment = _failed_comment(app, ticket.id)
    assert said in comment and "konsumen simpus-kong dihapus dari gateway" in comment
    assert KONG_TOKEN not in comment
    assert [c["username"] for c in fake.consumers.values()] == []  # on the fake: nothing left
    _nothing_kept(app, ticket.id)

    issued = _completes_once(app, ticket.id, jobs[0])
    assert [c["username"] for c in fake.consumers.values()] == ["simpus-kong"]
    assert [k["id"] for k in fake.keys.values()] == [issued["key_id"]]


def test_kong_rotation_through_the_cli_refuses_the_old_key(kong: tuple[App, KongFake]) -> None:
    """The Kong case of `spbe api rotate`: the old key is refused by the fake's proxy, the new one passes."""
    app, _fake = kong
    ticket = approved_ticket(app, "sipd-kong")
    issued = facts(run_ticket(app, ticket.id))
    old = app.vault.reveal(ticket.id, "api-key", as_lab("andi")).get_secret_value()
    url = str(issued["endpoint"]) + "/data"
    assert requests.get(url, headers={"apikey": old}, timeout=5).status_code == 200
    env = {"SPBE_GATEWAY": app.settings.gateway.model_dump_json(),
           "SPBE_SECRETS": '{"kong_admin_token": ' + app.settings.secrets["kong_admin_token"].model_dump_json() + "}"}
    out = Spbe(state_dir=app.settings.state_dir, env=env, catch_exceptions=True)(
        "api", "rotate", "--ticket", ticket.id, "--as", "prov-dukcapil", "--reason", "Rotasi setelah audit.")
    assert out.exit_code == 0, out.output
    assert requests.get(url, headers={"apikey": old}, timeout=5).status_code == 401
    new = app.vault.reveal(ticket.id, "api-key", as_lab("andi")).get_secret_value()
    assert requests.get(url, headers={"apikey": new}, timeout=5).status_code == 200
    with pytest.raises(NotFoundError):
        app.state.issued.get("SPBE-0000-99999")
