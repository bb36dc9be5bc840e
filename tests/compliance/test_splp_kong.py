"""The ``splp`` profile end to end on the Kong FAKE (Kong cannot run here; the fake follows Kong's Admin API,
tests/integrations/gateway/fakes/kong_fake.py) and the Keycloak FAKE, with the embedded ticket store and
register: gather, evaluate, plan, apply, re-check, undo, and a remediation Kong cannot do rolled back.

A canary key planted on the orphan consumer (Kong lets an admin choose a key) must appear nowhere: not in
the facts, the evidence, the plan or the logs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.integrations.gateway.conftest import (  # noqa: F401 - provider_backend is a fixture
    API,
    KONG_TOKEN,
    Harness,
    make_harness,
    provider_backend,
)
from tests.splp.helpers import LETTER, fields
from tests.support.keycloak_fake.fixtures import idp_settings, keycloak  # noqa: F401 - fixtures
from tests.support.keycloak_fake.server import KeycloakFake
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.clock import SystemClock
from toolkit.commands import desk
from toolkit.compliance.facts import GatewayFacts
from toolkit.compliance.gather_gateway import GatewayGatherer
from toolkit.compliance.gathering import GatherFailure
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import GatewayProfile, RuleResult, evaluate
from toolkit.compliance.outcome import Verdict
from toolkit.compliance.remediate_gateway import GatewayRemediator
from toolkit.errors import NotFoundError
from toolkit.ports.identity_provider import ConsumerClientSpec
from toolkit.ports.state_records import IssuedCredential
from toolkit.settings import Settings

PROFILE = load_profiles()["splp"]
assert isinstance(PROFILE, GatewayProfile)
CANARY = "CANARY-splp-orphan-key-4b7d90e2a1"  # noqa: S105


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class World:
    """One Kong fake, Keycloak fake and state directory holding the four situations the profile looks for."""

    def __init__(self, app: App, kong: Harness) -> None:
        self.app, self.kong = app, kong
        gw = kong.gateway
        self.route = gw.ensure_route(API)
        self.ticketed, self.expired, self.orphan, self.revoked = (
            _name("simpus"), _name("lama"), _name("yatim"), _name("dicabut"))
        desk.open_ticket(app, "splp", as_lab("andi"), "Akses API kependudukan", fields(self.ticketed), [LETTER])
        for consumer in (self.ticketed, self.expired, self.orphan):
            gw.ensure_consumer(consumer)
            gw.restrict_to_api(consumer, API)
        gw.set_rate_limit(self.ticketed, API, 5)
        self.ticketed_key = gw.issue_key_credential(self.ticketed)
        self.expired_key = gw.issue_key_credential(self.expired)
        assert kong.fake is not None
        planted = requests.post(f"{kong.fake.url}/consumers/{self.orphan}/key-auth", json={"key": CANARY},
                                headers={"Kong-Admin-Token": KONG_TOKEN}, timeout=5)
        assert planted.status_code == 201
        now = datetime.now(UTC)
        issued = app.state.issued
        issued.record(self._row("T-LAMA", self.expired, self.expired_key.key_id, now - timedelta(days=400),
                                now - timedelta(days=35)))
        app.identity.ensure_consumer_client(ConsumerClientSpec(client_id=self.revoked, name="Dicabut",
                                                               api_role=API, ticket_id="T-CABUT"))
        issued.record(self._row("T-CABUT", self.revoked, "KunciDicabut01", now - timedelta(days=10),
                                now + timedelta(days=300), oauth2_client=self.revoked))
        issued.end("T-CABUT", "revoked", actor="csirt", reason="kunci bocor", at=now)
        self.gatherer = GatewayGatherer(name="kong", gateway=gw, tickets=app.tickets, issued=issued, services=("splp",),
                                        clock=SystemClock(), identity=app.identity)
        self.remediator = GatewayRemediator(name="kong", gateway=gw, identity=app.identity)

    def _row(self, ticket: str, consumer: str, key_id: str, issued_at: datetime, expires_at: datetime,
             oauth2_client: str | None = None) -> IssuedCredential:
        return IssuedCredential(ticket_id=ticket, api=API, consumer=consumer, consumer_id=f"id-{consumer}",
                                gateway="kong", kind="key-auth", key_id=key_id, masked="****abcd", per_minute=5,
                                endpoint=self.route.url, applicant="andi", oauth2_client=oauth2_client,
                                issued_at=issued_at, expires_at=expires_at)

    def facts(self) -> GatewayFacts:
        found = self.gatherer.gather(["kong"])["kong"]
        assert isinstance(found, GatewayFacts), found
        return found

    def results(self) -> dict[str, RuleResult]:
        return {r.rule_id: r for r in evaluate(PROFILE, self.facts())}

    def orphan_status(self) -> int:
        return requests.get(self.route.url + "/data", headers={"apikey": CANARY}, timeout=5).status_code


@pytest.fixture
def world(idp_settings: Settings, tmp_path: Path, provider_backend: str) -> Iterator[World]:  # noqa: F811
    (tmp_path / "kong").mkdir()
    kong = make_harness("kong", tmp_path / "kong", provider_backend, None)
    yield World(App(idp_settings), kong)
    assert kong.fake is not None
    kong.fake.stop()


def test_every_rule_finds_its_offender_and_nothing_else(world: World) -> None:
    results = world.results()
    assert {rid: r.outcome.verdict for rid, r in results.items()} == {
        "SPLP-KONSUMEN-01": Verdict.FAIL, "SPLP-KREDENSIAL-01": Verdict.FAIL, "SPLP-RUTE-01": Verdict.FAIL,
        "SPLP-OAUTH2-01": Verdict.FAIL}
    orphan = results["SPLP-KONSUMEN-01"].outcome.evidence
    assert world.orphan in orphan and world.ticketed not in orphan and world.expired not in orphan
    assert f"{world.expired}/{world.expired_key.key_id} (berakhir" in results["SPLP-KREDENSIAL-01"].outcome.evidence
    assert world.ticketed_key.key_id not in results["SPLP-KREDENSIAL-01"].outcome.evidence
    assert f"{API} (kebijakan: acl, key-auth; batas per konsumen: 1)" in results["SPLP-RUTE-01"].outcome.evidence
    assert f"{world.revoked}/{world.revoked} (masih aktif)" in results["SPLP-OAUTH2-01"].outcome.evidence


def test_the_canary_key_is_nowhere_in_facts_evidence_plan_or_logs(world: World) -> None:
    assert world.orphan_status() == 200  # the planted key works: it is a real secret
    facts = world.facts()
    shown = facts.model_dump_json() + repr(facts)
    results = evaluate(PROFILE, facts)
    shown += "".join(r.outcome.evidence for r in results)
    failing = [rule for rule, result in zip(PROFILE.rules, results, strict=True)
               if result.outcome.verdict == Verdict.FAIL and rule.id != "SPLP-KREDENSIAL-01"]
    plan = world.remediator.plan("kong", failing, facts)
    logs: list[str] = []
    applied = world.remediator.apply(plan, None, logs.append)
    undone = world.remediator.undo(plan, None, logs.append)
    shown += plan.model_dump_json() + applied.model_dump_json() + undone.model_dump_json() + "".join(logs)
    assert applied.ok and undone.ok
    assert CANARY not in shown and KONG_TOKEN not in shown


def test_plan_apply_recheck_and_undo_puts_everything_back(world: World) -> None:
    facts = world.facts()
    rules = [r for r in PROFILE.rules if r.id != "SPLP-KREDENSIAL-01"]  # Kong keys have no status (next test)
    plan = world.remediator.plan("kong", rules, facts)
    assert f"nonaktifkan konsumen {world.orphan}" in plan.preview
    assert f"pasang batas laju 600/menit untuk semua konsumen rute {API}" in plan.preview
    outcome = world.remediator.apply(plan, None, lambda _: None)
    assert outcome.ok, outcome.error
    after = world.results()
    assert {rid: r.outcome.verdict for rid, r in after.items() if rid != "SPLP-KREDENSIAL-01"} == {
        "SPLP-KONSUMEN-01": Verdict.PASS, "SPLP-RUTE-01": Verdict.PASS, "SPLP-OAUTH2-01": Verdict.PASS}
    assert world.orphan_status() == 403  # request-termination on the orphan
    assert world.kong.call(world.route.url, world.ticketed_key) == 200  # the ticketed consumer is untouched
    assert world.app.identity.get_client(world.revoked).enabled is False

    undone = world.remediator.undo(plan, None, lambda _: None)
    assert undone.ok, undone.error
    back = world.results()
    assert all(back[r.id].outcome.verdict == Verdict.FAIL for r in rules)
    assert world.orphan_status() == 200 and world.app.identity.get_client(world.revoked).enabled is True
    route = next(r for r in world.kong.gateway.list_routes() if r.api == API)
    assert route.default_per_minute is None and route.consumer_limits == 1


def test_a_remediation_kong_cannot_do_is_rolled_back_and_reported(world: World) -> None:
    facts = world.facts()
    plan = world.remediator.plan("kong", list(PROFILE.rules), facts)
    logs: list[str] = []
    outcome = world.remediator.apply(plan, None, logs.append)
    assert not outcome.ok and outcome.rolled_back
    assert outcome.error is not None and "no status" in outcome.error
    assert any(line.startswith("undone enable-consumer") for line in logs)
    assert world.orphan_status() == 200  # the consumer disabled before the failure is enabled again
    assert world.app.identity.get_client(world.revoked).enabled is True  # after the failure: never run
    assert {rid: r.outcome.verdict for rid, r in world.results().items()} == {
        "SPLP-KONSUMEN-01": Verdict.FAIL, "SPLP-KREDENSIAL-01": Verdict.FAIL, "SPLP-RUTE-01": Verdict.FAIL,
        "SPLP-OAUTH2-01": Verdict.FAIL}


def test_targets_resolve_to_the_configured_gateway_only(world: World) -> None:
    assert world.gatherer.resolve(["*"]) == ["kong"] and world.gatherer.resolve(["kong"]) == ["kong"]
    with pytest.raises(NotFoundError, match="no gateway 'wso2'"):
        world.gatherer.resolve(["wso2"])
    seen: list[str] = []
    found = world.gatherer.gather(["kong", "wso2"], progress=seen.append)
    assert seen == ["kong", "wso2"] and isinstance(found["wso2"], GatherFailure)


def test_an_unreachable_gateway_is_a_gather_failure_and_every_rule_errors(world: World) -> None:
    assert world.kong.fake is not None
    world.kong.fake.down()
    found = world.gatherer.gather(["kong"])["kong"]
    assert isinstance(found, GatherFailure) and "gateway tidak dapat dibaca" in found.reason
    assert "unreachable" in found.reason and KONG_TOKEN not in found.reason
    world.kong.fake.up()


def test_keycloak_away_leaves_only_the_oauth2_rule_in_error(world: World, keycloak: KeycloakFake) -> None:  # noqa: F811
    keycloak.fail(500, path=r"/clients$", method="GET", times=10)
    facts = world.facts()
    assert facts.idp_clients is None
    verdicts = {r.rule_id: r.outcome.verdict for r in evaluate(PROFILE, facts)}
    assert verdicts["SPLP-OAUTH2-01"] == Verdict.ERROR
    assert {v for rid, v in verdicts.items() if rid != "SPLP-OAUTH2-01"} == {Verdict.FAIL}


def test_without_keycloak_configured_the_oauth2_rule_errors_never_passes(world: World) -> None:
    gatherer = GatewayGatherer(name="kong", gateway=world.kong.gateway, tickets=world.app.tickets, services=("splp",),
                               issued=world.app.state.issued, clock=SystemClock(), identity=None)
    found = gatherer.gather(["kong"])["kong"]
    assert isinstance(found, GatewayFacts)
    oauth2 = next(r for r in evaluate(PROFILE, found) if r.rule_id == "SPLP-OAUTH2-01")
    assert oauth2.outcome.verdict == Verdict.ERROR and "idp_clients" in oauth2.outcome.evidence
