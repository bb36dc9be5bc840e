"""The ``splp`` profile on the lab's REAL Express Gateway (and the Keycloak FAKE: Keycloak cannot run here):
an orphan consumer, a ticketed consumer whose key is past its date in the register, a route without a limit
for every consumer and an enabled OAuth2 client of a revoked consumer are found; the approved plan puts
them right (proved through the proxy); undo brings every one back; a plan that fails half-way is rolled back.

The orphan's key is a canary chosen through Express Gateway's admin API: it opens the proxy, so it is a real
secret, and it must appear in no fact, evidence, plan or log.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from lab.models import LabState
from tests.fixtures.lab import settings_for
from tests.splp.helpers import LETTER, fields
from tests.support.keycloak_fake.fixtures import KEYCLOAK_ADMIN_SECRET, keycloak  # noqa: F401 - a fixture
from tests.support.keycloak_fake.seed import DEFAULT_REALM
from tests.support.keycloak_fake.server import KeycloakFake
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.compliance.facts import GatewayFacts
from toolkit.compliance.gather_gateway import GatewayGatherer
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import GatewayProfile, evaluate
from toolkit.compliance.outcome import Verdict
from toolkit.compliance.remediate_gateway import GatewayRemediator
from toolkit.ports.identity_provider import ConsumerClientSpec
from toolkit.ports.state_records import IssuedCredential

pytestmark = [pytest.mark.lab]
API = "kependudukan"
PROFILE = load_profiles()["splp"]
assert isinstance(PROFILE, GatewayProfile)
CANARY = "CANARYsplpLabOrphanKey7c41e9"  # noqa: S105 - Express Gateway keys are alphanumeric
RULE_IDS = ("SPLP-KONSUMEN-01", "SPLP-KREDENSIAL-01", "SPLP-RUTE-01", "SPLP-OAUTH2-01")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def app(lab: LabState, state_dir: Path, keycloak: KeycloakFake, monkeypatch: pytest.MonkeyPatch) -> App:  # noqa: F811
    assert lab.gateway is not None, lab.warnings
    monkeypatch.setenv("SPBE_IDP_ADMIN_SECRET", KEYCLOAK_ADMIN_SECRET)
    return App(settings_for(lab, state_dir=state_dir,
                            identity={"server_url": keycloak.url, "realm": DEFAULT_REALM, "timeout_s": 5}))


class Lab:
    def __init__(self, app: App, admin_url: str) -> None:
        self.app = app
        gw = app.gateway
        self.name = app.settings.gateway.kind
        self.url = gw.ensure_route(API).url
        self.orphan, self.ticketed, self.expired, self.revoked = (
            _name("yatim"), _name("simpus"), _name("lama"), _name("dicabut"))
        desk.open_ticket(app, "splp", as_lab("andi"), "Akses API kependudukan", fields(self.ticketed), [LETTER])
        keys = {}
        for consumer in (self.ticketed, self.expired):
            gw.ensure_consumer(consumer)
            cred = gw.issue_key_credential(consumer)
            gw.restrict_to_api(consumer, API)
            keys[consumer] = (cred.key_id, cred.secret.get_secret_value())
        gw.set_rate_limit(self.ticketed, API, 50)
        user = gw.ensure_consumer(self.orphan)
        planted = requests.post(f"{admin_url}/credentials", timeout=10, json={
            "consumerId": user.id, "type": "key-auth",
            "credential": {"keySecret": CANARY, "scopes": [f"api-{API}"]}})
        assert planted.status_code in (200, 201), planted.text
        keys[self.orphan] = (str(planted.json()["keyId"]), CANARY)
        self.keys = keys
        now = datetime.now(UTC)
        issued = app.state.issued
        issued.record(self._row("T-LAMA", self.expired, keys[self.expired][0], now - timedelta(days=400),
                                now - timedelta(days=35)))
        app.identity.ensure_consumer_client(ConsumerClientSpec(client_id=self.revoked, name="Dicabut", api_role=API,
                                                               ticket_id="T-CABUT"))
        issued.record(self._row("T-CABUT", self.revoked, "KunciDicabut01", now - timedelta(days=10),
                                now + timedelta(days=300), oauth2_client=self.revoked))
        issued.end("T-CABUT", "revoked", actor="csirt", reason="kunci bocor", at=now)
        self.gatherer = GatewayGatherer(name=self.name, gateway=gw, tickets=app.tickets, issued=issued,
                                        services=("splp",), clock=app.clock, identity=app.identity,
                                        masker=app.masker)
        self.remediator = GatewayRemediator(name=self.name, gateway=gw, identity=app.identity, masker=app.masker)

    def _row(self, ticket: str, consumer: str, key_id: str, issued_at: datetime, expires_at: datetime,
             oauth2_client: str | None = None) -> IssuedCredential:
        return IssuedCredential(ticket_id=ticket, api=API, consumer=consumer, consumer_id=f"id-{consumer}",
                                gateway=self.app.gateway.name, kind="key-auth", key_id=key_id, masked="****abcd",
                                per_minute=5, endpoint=self.url, applicant="andi", oauth2_client=oauth2_client,
                                issued_at=issued_at, expires_at=expires_at)

    def facts(self) -> GatewayFacts:
        found = self.gatherer.gather(self.gatherer.resolve(["*"]))[self.name]
        assert isinstance(found, GatewayFacts), found
        return found

    def verdicts(self) -> dict[str, Verdict]:
        return {r.rule_id: r.outcome.verdict for r in evaluate(PROFILE, self.facts())}

    def status(self, consumer: str) -> int:
        key_id, secret = self.keys[consumer]
        return requests.get(f"{self.url}/pasien", headers={"Authorization": f"apiKey {key_id}:{secret}"},
                            timeout=10).status_code

    def statuses(self) -> tuple[int, int, int]:
        return self.status(self.orphan), self.status(self.expired), self.status(self.ticketed)


@pytest.fixture
def world(app: App, lab: LabState) -> Lab:
    assert lab.gateway is not None
    return Lab(app, lab.gateway.admin_url)


def test_found_remediated_rechecked_and_undone_on_the_real_gateway(world: Lab, keycloak: KeycloakFake) -> None:  # noqa: F811
    facts = world.facts()
    results = {r.rule_id: r for r in evaluate(PROFILE, facts)}
    assert {rid: r.outcome.verdict for rid, r in results.items()} == dict.fromkeys(RULE_IDS, Verdict.FAIL)
    orphans = results["SPLP-KONSUMEN-01"].outcome.evidence
    assert world.orphan in orphans and world.ticketed not in orphans and world.expired not in orphans
    assert f"{world.expired}/{world.keys[world.expired][0]} (berakhir" in results["SPLP-KREDENSIAL-01"].outcome.evidence
    assert f"\n{API} (kebijakan: key-auth, rate-limit, proxy;" in results["SPLP-RUTE-01"].outcome.evidence
    assert f"{world.revoked}/{world.revoked} (masih aktif)" in results["SPLP-OAUTH2-01"].outcome.evidence
    assert world.statuses() == (200, 200, 200)  # the orphan's canary and the expired key both still work

    plan = world.remediator.plan(world.name, list(PROFILE.rules), facts)
    logs: list[str] = []
    applied = world.remediator.apply(plan, None, logs.append)
    assert applied.ok, applied.error
    assert world.verdicts() == dict.fromkeys(RULE_IDS, Verdict.PASS)
    assert world.statuses() == (401, 401, 200)  # refused at the proxy; the ticketed consumer untouched
    assert next(r for r in world.app.gateway.list_routes() if r.api == API).default_per_minute == 600
    assert world.app.identity.get_client(world.revoked).enabled is False

    undone = world.remediator.undo(plan, None, logs.append)
    assert undone.ok, undone.error
    assert world.verdicts() == dict.fromkeys(RULE_IDS, Verdict.FAIL)
    assert world.statuses() == (200, 200, 200)
    assert next(r for r in world.app.gateway.list_routes() if r.api == API).default_per_minute is None
    assert world.app.identity.get_client(world.revoked).enabled is True

    shown = (facts.model_dump_json() + "".join(r.outcome.evidence for r in results.values())
             + plan.model_dump_json() + applied.model_dump_json() + undone.model_dump_json() + "\n".join(logs))
    assert CANARY not in shown and world.keys[world.expired][1] not in shown


def test_a_remediation_failing_half_way_is_rolled_back_on_the_real_gateway(world: Lab,
                                                                          keycloak: KeycloakFake) -> None:  # noqa: F811
    plan = world.remediator.plan(world.name, list(PROFILE.rules), world.facts())
    keycloak.fail(503, path=r"/clients/[^/]+$", method="PUT", times=5)  # Keycloak errs on the last step
    outcome = world.remediator.apply(plan, None, lambda _: None)
    assert not outcome.ok and outcome.rolled_back and outcome.error is not None
    assert world.verdicts() == dict.fromkeys(RULE_IDS, Verdict.FAIL)  # everything as it was before
    assert world.statuses() == (200, 200, 200)
    assert next(r for r in world.app.gateway.list_routes() if r.api == API).default_per_minute is None
    assert CANARY not in outcome.model_dump_json()
