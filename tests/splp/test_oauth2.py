"""OAuth2 credentials for SPLP (``jenis_kredensial=oauth2``) through the real engine.

The gateway is the lab's REAL Express Gateway: its ``jwt`` policy verifies the RS256 token itself (the
realm's public key, issuer, audience) and its route admits only tokens carrying the approved API's
role. Keycloak is the FAKE (it cannot run here; tests/support/keycloak_fake follows its admin REST API
and token endpoint and signs real RS256 tokens), so the tokens, their signatures and our validation
are real. Faults (500/409/401 from Keycloak mid-way) undo the client and the gateway consumer.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakPostError

from integrations.gateway.express_gateway import ExpressGatewayAdapter
from lab.models import LabState
from tests.fixtures.lab import settings_for
from tests.splp.helpers import approved_ticket, comments, facts, issue
from tests.support.keycloak_fake.fixtures import KEYCLOAK_ADMIN_SECRET
from tests.support.keycloak_fake.realm import Client
from tests.support.keycloak_fake.seed import DEFAULT_REALM
from tests.support.keycloak_fake.server import KeycloakFake
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import jobs as job_control
from toolkit.engine.server import run_ticket
from toolkit.ports.jobs import JobState
from toolkit.splp.lifecycle import revoke_credential
from toolkit.vault import generate_key

pytestmark = [pytest.mark.lab]
OAUTH2 = {"jenis_kredensial": "oauth2"}


@pytest.fixture
def app(lab: LabState, state_dir: Path, keycloak: KeycloakFake, monkeypatch: pytest.MonkeyPatch) -> App:
    assert lab.gateway is not None, lab.warnings
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    monkeypatch.setenv("SPBE_IDP_ADMIN_SECRET", KEYCLOAK_ADMIN_SECRET)
    return App(settings_for(lab, state_dir=state_dir,
                             identity={"server_url": keycloak.url, "realm": DEFAULT_REALM, "timeout_s": 5,
                                       "options": {"jwks_min_refresh_s": 0}}))


def _eg(app: App) -> ExpressGatewayAdapter:
    """The lab's Express Gateway as the settings name it (the lab's spbe.toml)."""
    return ExpressGatewayAdapter(app.settings, **app.settings.gateway.options)


def unique(prefix: str = "sim") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _token(keycloak: KeycloakFake, client_id: str, secret: str) -> str:
    oidc = KeycloakOpenID(server_url=keycloak.url + "/", realm_name=DEFAULT_REALM, client_id=client_id,
                          client_secret_key=secret)
    return str(oidc.token(grant_type="client_credentials")["access_token"])


def _get(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url + "/pasien", headers=headers, timeout=10).status_code


def test_oauth2_client_is_created_and_its_token_passes_the_gateway(app: App, keycloak: KeycloakFake) -> None:
    consumer = unique()
    ticket, jobs = issue(app, consumer, **OAUTH2)
    assert [j.state for j in jobs] == [JobState.SUCCEEDED, JobState.SUCCEEDED], [j.error for j in jobs]
    issued, tried = facts(jobs), facts(jobs, "try-out-endpoint")
    client = app.identity.get_client(consumer)
    assert (client.confidential, client.service_account, client.enabled) == (True, True, True)
    assert client.api_roles == frozenset({"kependudukan"}) and client.ticket_id == ticket.id
    assert issued["oauth2_client"] == consumer and issued["oauth2_endpoint"].endswith("/oauth2/kependudukan")
    assert tried["token_valid"] is True and tried["token_role"] == "kependudukan"  # noqa: S105 - an API name
    assert (tried["status_with_token"], tried["status_without_token"]) == (200, 401)
    assert (tried["status_with_key"], tried["status_without_key"]) == (200, 401)  # the key works too

    # The applicant collects the client secret once and does what their application will do.
    secret = app.vault.reveal(ticket.id, "oauth2-client-secret", as_lab("andi")).get_secret_value()
    token = _token(keycloak, consumer, secret)
    assert _get(issued["oauth2_endpoint"], token) == 200
    assert all(secret not in c and token not in c for c in comments(app, ticket.id))

    # The gateway checks the token itself: forged signature, wrong role and garbage are refused.
    claims = jwt.decode(token, options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(token)["kid"]
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": kid})
    assert _get(issued["oauth2_endpoint"], forged) == 401
    assert _get(issued["oauth2_endpoint"], "not-a-jwt") == 401
    other = unique()
    _, other_jobs = issue(app, other, api="perizinan", **OAUTH2)
    assert [j.state for j in other_jobs] == [JobState.SUCCEEDED, JobState.SUCCEEDED], [j.error for j in other_jobs]
    other_secret = app.identity.client_secret(other)  # the automation reads it, as the try-out did
    other_token = _token(keycloak, other, other_secret.get_secret_value())
    assert _get(issued["oauth2_endpoint"], other_token) == 403  # approved for perizinan, not kependudukan

    # Revocation disables the client: no new token is issued for it.
    revoke_credential(app, ticket.id, principal=as_lab("prov-dukcapil"), reason="Kerja sama berakhir.")
    assert not app.identity.get_client(consumer).enabled
    with pytest.raises(KeycloakPostError):
        _token(keycloak, consumer, secret)


@pytest.mark.parametrize(("status", "method", "path", "said"), [
    (500, "POST", r"/role-mappings/clients/", "gangguan"),   # granting the API role, after the client was made
    (409, "POST", r"/clients$", "konflik"),                  # creating the client
    (401, "GET", r"/client-secret$", "401/403"),             # reading its secret
])
def test_keycloak_fault_mid_way_undoes_client_and_consumer_and_the_retry_completes_once(
        app: App, keycloak: KeycloakFake, status: int, method: str, path: str, said: str) -> None:

    consumer = unique()
    ticket = approved_ticket(app, consumer, **OAUTH2)
    keycloak.fail(status, path=path, method=method, times=2 if status == 401 else 1)  # python-keycloak
    # retries a 401 once (after refreshing its own token), so a lasting refusal answers twice
    jobs = run_ticket(app, ticket.id)
    assert [j.state for j in jobs] == [JobState.FAILED]
    failed = [e.text for e in app.tickets.timeline(ticket.id) if str(e.kind) == "step_failed"]
    assert len(failed) == 1 and said in failed[0] and f"konsumen {consumer} dihapus dari gateway" in failed[0]
    assert KEYCLOAK_ADMIN_SECRET not in failed[0]
    assert keycloak.realm(DEFAULT_REALM).client_by_client_id(consumer) is None  # no half-made client
    assert _eg(app).get_consumer(consumer) is None
    assert app.vault.records(ticket.id) == []

    job_control.retry(app, jobs[0].id, as_lab("dewi"))
    done = run_ticket(app, ticket.id)
    assert [j.state for j in done] == [JobState.SUCCEEDED, JobState.SUCCEEDED], [j.error for j in done]
    clients = [c for c in keycloak.realm(DEFAULT_REALM).clients.values() if c.client_id == consumer]
    assert len(clients) == 1 and app.identity.get_client(consumer).api_roles == frozenset({"kependudukan"})
    info = next(i for i in _eg(app).list_consumers() if i.consumer.name == consumer)
    assert [c.active for c in info.credentials] == [True]


def test_a_client_create_answered_late_is_still_undone_when_its_secret_is_refused(
        app: App, keycloak: KeycloakFake) -> None:
    """Under load Keycloak made the client but answered after the adapter's timeout, so python-keycloak
    resent the create and got 409. The client is still this attempt's: the refusal that follows (401
    on its secret) undoes it with the consumer, and the retry completes once. (This left the client
    behind in a full-suite run, where it was taken for another worker's.)"""

    assert app.settings.identity is not None
    impatient = app.settings.identity.model_copy(update={"timeout_s": 1})
    app = App(app.settings.model_copy(update={"identity": impatient}))
    consumer = unique()
    ticket = approved_ticket(app, consumer, **OAUTH2)
    keycloak.realm(DEFAULT_REALM).add_client(Client(client_id=impatient.api_client_id,
                                                    attributes={"spbe.managed": "true"}))  # only ours is created
    keycloak.slow(2.0, path=r"/admin/realms/spbe/clients$", method="POST")
    keycloak.fail(401, path=r"/client-secret$", method="GET", times=2)  # refused, and again after a new token
    jobs = run_ticket(app, ticket.id)
    assert [j.state for j in jobs] == [JobState.FAILED]
    assert sum(r == ("POST", "/admin/realms/spbe/clients") for r in keycloak.requests) == 2  # sent twice
    failed = [e.text for e in app.tickets.timeline(ticket.id) if str(e.kind) == "step_failed"]
    assert len(failed) == 1 and f"client OAuth2 {consumer} dihapus dari Keycloak" in failed[0]
    assert keycloak.realm(DEFAULT_REALM).client_by_client_id(consumer) is None
    assert _eg(app).get_consumer(consumer) is None

    job_control.retry(app, jobs[0].id, as_lab("dewi"))
    done = run_ticket(app, ticket.id)
    assert [j.state for j in done] == [JobState.SUCCEEDED, JobState.SUCCEEDED], [j.error for j in done]
    assert sum(c.client_id == consumer for c in keycloak.realm(DEFAULT_REALM).clients.values()) == 1


def test_oauth2_without_an_identity_provider_is_refused_before_anything_is_made(
        lab: LabState, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    app = App(settings_for(lab, state_dir=state_dir))
    consumer = unique()
    ticket = approved_ticket(app, consumer, **OAUTH2)
    jobs = run_ticket(app, ticket.id)
    assert [j.state for j in jobs] == [JobState.FAILED] and "identity provider" in (jobs[0].error or "")
    assert _eg(app).get_consumer(consumer) is None
