"""CSIRT containment's change of access (*penggantian akses*, seeds 000/003) on real targets: a consumer
issued by spbe on the lab's REAL Express Gateway loses its key (refused at the proxy afterwards), and a
user of the Keycloak FAKE (Keycloak cannot run here; tests/support/keycloak_fake follows its admin API)
is disabled with every session ended. The release gives the user back but never the revoked key.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakPostError
from pydantic import SecretStr

from lab.models import LabState
from tests.fixtures.lab import settings_for
from tests.splp.helpers import call, facts, issue
from tests.support.cli import Spbe
from tests.support.keycloak_fake.fixtures import KEYCLOAK_ADMIN_SECRET
from tests.support.keycloak_fake.realm import Client
from tests.support.keycloak_fake.seed import DEFAULT_REALM
from tests.support.keycloak_fake.server import KeycloakFake
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.containment.models import AccessRequest, ReleaseRequest
from toolkit.containment.service import ContainmentService
from toolkit.domain.principal import AuthMethod
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.errors import PermissionDeniedError
from toolkit.vault import generate_key

pytestmark = [pytest.mark.lab]
OPERATOR = "hendra"  # an account the attacker used


def _login(keycloak: KeycloakFake, username: str) -> SecretStr:
    realm = keycloak.realm(DEFAULT_REALM)
    if realm.client_by_client_id("portal") is None:
        realm.add_client(Client(client_id="portal", public_client=True, direct_access_grants_enabled=True))
    oidc = KeycloakOpenID(server_url=keycloak.url + "/", realm_name=DEFAULT_REALM, client_id="portal")
    return SecretStr(oidc.token(username, f"{username}-pw")["access_token"])


@pytest.fixture
def app(lab: LabState, state_dir: Path, keycloak: KeycloakFake, monkeypatch: pytest.MonkeyPatch) -> App:
    assert lab.gateway is not None, lab.warnings
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    monkeypatch.setenv("SPBE_IDP_ADMIN_SECRET", KEYCLOAK_ADMIN_SECRET)
    return App(settings_for(lab, state_dir=state_dir,
                             identity={"server_url": keycloak.url, "realm": DEFAULT_REALM, "timeout_s": 5}))


def _incident(app: App) -> str:
    ticket = desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Kunci API aplikasi bocor", {
        "pelapor_nama": "Lina Marlina", "pelapor_kontak": "lina@example.go.id", "objek_terdampak": "simpus",
        "deskripsi": "Kunci API dan akun operator terlihat di forum publik.", "ada_backup": True}, [
        AttachmentUpload(name="layar.png", media_type="image/png", content=b"\x89PNG\r\n", kind="tangkapan_layar"),
        AttachmentUpload(name="log.txt", media_type="text/plain", content=b"log", kind="log_sistem"),
        AttachmentUpload(name="ktp.pdf", media_type="application/pdf", content=b"%PDF-1.4", kind="kartu_identitas")])
    desk.approve(app, ticket.id, as_lab("sari"), "Laporan terverifikasi sebagai insiden siber")
    return ticket.id


def test_change_of_access_revokes_a_real_consumer_and_disables_a_keycloak_user(app: App,
                                                                                keycloak: KeycloakFake) -> None:
    consumer = f"simpus-{uuid.uuid4().hex[:6]}"
    splp, jobs = issue(app, consumer)
    issued = facts(jobs)
    key = app.vault.reveal(splp.id, "api-key", as_lab("andi")).get_secret_value()
    assert call(issued["endpoint"], issued["key_id"], key) == 200
    sessions = [_login(keycloak, OPERATOR) for _ in range(2)]
    app.identity.validate_token(sessions[0], authorized_party="portal", check_active=True)
    incident = _incident(app)
    service = ContainmentService(app)

    with pytest.raises(PermissionDeniedError):  # only the CSIRT changes access
        service.change_access(AccessRequest(ticket_id=incident, actor="sari", auth=AuthMethod.LAB_AS,
                                            gateway_consumers=(consumer,),
                                            idp_users=(OPERATOR,), reason="x"))
    assert call(issued["endpoint"], issued["key_id"], key) == 200

    record = service.change_access(AccessRequest(ticket_id=incident, actor="rina", auth=AuthMethod.LAB_AS,
                                                 gateway_consumers=(consumer,),
                                                 idp_users=(OPERATOR,), reason="Kunci dan akun bocor."))
    assert record.applied["gateway"]["status"] == "done", record.applied
    assert record.applied["gateway"]["data"]["revoked"] == {consumer: [issued["key_id"]]}
    assert record.applied["identity"]["status"] == "done", record.applied
    assert record.applied["identity"]["data"]["users"] == {OPERATOR: {"was_enabled": True, "sessions_closed": 2}}
    assert call(issued["endpoint"], issued["key_id"], key) == 401  # refused at the real proxy
    for token in sessions:
        with pytest.raises(PermissionDeniedError, match="no longer active"):
            app.identity.validate_token(token, authorized_party="portal", check_active=True)
    with pytest.raises(KeycloakPostError):
        _login(keycloak, OPERATOR)

    # Containment revoked through the SPLP lifecycle hook: the register itself (`spbe api list`, no
    # --live, no gateway asked) says revoked, by the CSIRT, with the reason; the gateway agrees.
    from toolkit.splp.lifecycle import listing

    listed = Spbe(state_dir=app.settings.state_dir)("api", "list", "--json")
    assert listed.exit_code == 0, listed.output
    row = next(r for r in json.loads(listed.stdout) if r["ticket_id"] == splp.id)
    assert (row["status"], row["ended_by"], row["reason"]) == ("revoked", "rina", "Kunci dan akun bocor.")
    assert record.applied["gateway"]["data"]["register"] == {consumer: [splp.id]}
    live = next(r for r in listing(app, live=True) if r["ticket_id"] == splp.id)
    assert (live["status"], live["gateway_active"]) == ("revoked", False)
    assert any(e.action == "api.revoke" and e.ticket_id == incident and e.actor == "rina"
               for e in app.audit.entries())

    service.release(ReleaseRequest(ticket_id=incident, actor="rina", auth=AuthMethod.LAB_AS,
                                   record_id=record.id, reason="Pulih."))
    assert app.identity.get_user(OPERATOR).enabled
    _login(keycloak, OPERATOR)
    assert call(issued["endpoint"], issued["key_id"], key) == 401  # a leaked key stays dead
    said = [e.text for e in app.tickets.timeline(incident) if e.data.get("containment")]
    assert any(consumer in t and "kredensial dicabut" in t for t in said)
    assert all(key not in t and KEYCLOAK_ADMIN_SECRET not in t for t in said)
    assert json.dumps(record.applied).count(key) == 0


def test_change_of_access_also_disables_the_consumers_oauth2_client(app: App, keycloak: KeycloakFake) -> None:
    """Revoking the keys alone would leave the OAuth2 client able to mint new tokens."""
    consumer = f"simpus-{uuid.uuid4().hex[:6]}"
    _splp, jobs = issue(app, consumer, jenis_kredensial="oauth2")
    assert all(j.error is None for j in jobs), [j.error for j in jobs]
    assert app.identity.get_client(consumer).enabled
    incident = _incident(app)
    record = ContainmentService(app).change_access(AccessRequest(
        ticket_id=incident, actor="rina", auth=AuthMethod.LAB_AS,
            gateway_consumers=(consumer,), reason="Klien OAuth2 bocor."))
    gateway = record.applied["gateway"]
    assert gateway["status"] == "done" and gateway["data"]["oauth2_disabled"] == [consumer], gateway
    assert not app.identity.get_client(consumer).enabled
    assert any(e.action == "identity.client.disable" and e.ticket_id == incident for e in app.audit.entries())
