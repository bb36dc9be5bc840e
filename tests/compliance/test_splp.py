"""The ``splp`` profile's rules on gateway facts: pass on a compliant gateway, fail naming the offenders,
error when a fact was not gathered, and garbled facts refused before they reach a rule."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from tests.compliance.gateway_samples import AT, consumer, cred, gateway_facts, route
from toolkit.compliance.facts import GatewayCredentialFact, GatewayFacts, IdpClientFact, RevokedConsumerFact
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import GatewayProfile, GatewayRule, evaluate
from toolkit.compliance.outcome import Verdict

PROFILE = load_profiles()["splp"]
assert isinstance(PROFILE, GatewayProfile)
RULES = {r.id: r for r in PROFILE.rules}


def _rule(rule_id: str) -> GatewayRule:
    return RULES[rule_id]


def test_the_profile_is_the_gateway_target_with_reversible_gateway_changes() -> None:
    assert PROFILE.target == "gateway"
    assert set(RULES) == {"SPLP-KONSUMEN-01", "SPLP-KREDENSIAL-01", "SPLP-RUTE-01", "SPLP-OAUTH2-01"}
    assert {r.remediation.kind for r in PROFILE.rules} == {"gateway-change"}
    items = {ref.item for r in PROFILE.rules for ref in r.references}
    assert {i.split(":")[0] for i in items if i.startswith("API")} == {"API2", "API4", "API9"}
    assert all(any("BSSN Nomor 4 Tahun 2021" in ref.source for ref in r.references) for r in PROFILE.rules)


def test_a_compliant_gateway_passes_every_rule() -> None:
    results = evaluate(PROFILE, gateway_facts())
    assert [(r.rule_id, r.outcome.verdict) for r in results] == [(rid, Verdict.PASS) for rid in RULES]


def test_an_orphan_consumer_fails_and_a_disabled_or_ignored_one_does_not() -> None:
    facts = gateway_facts(consumers=(consumer("simpus", cred("KeySimpus01")), consumer("yatim", cred("KeyYatim01")),
                                     consumer("mati", active=False)))
    outcome = _rule("SPLP-KONSUMEN-01").evaluate(facts)
    assert outcome.verdict == Verdict.FAIL
    assert "1 konsumen aktif tanpa tiket SPLP" in outcome.evidence and "yatim" in outcome.evidence
    assert "mati" not in outcome.evidence and "simpus" not in outcome.evidence
    ignoring = _rule("SPLP-KONSUMEN-01").check.model_copy(update={"ignore": ("yatim",)})
    assert ignoring.evaluate(facts).verdict == Verdict.PASS


def test_an_expired_active_credential_fails_with_its_date() -> None:
    facts = gateway_facts(consumers=(
        consumer("simpus", cred("KeySimpus01"), cred("KeyLamaSekali", days_left=-3)),
        consumer("sipd", cred("KeyMati", days_left=-30, active=False)),  # disabled: cannot be used
        consumer("nonaktif", cred("KeyNonaktif", days_left=-30), active=False)))  # consumer disabled
    outcome = _rule("SPLP-KREDENSIAL-01").evaluate(facts)
    assert outcome.verdict == Verdict.FAIL
    assert "simpus/KeyLamaSekali (berakhir 2026-12-03T12:00:00+00:00)" in outcome.evidence
    assert "KeyMati" not in outcome.evidence and "KeyNonaktif" not in outcome.evidence


def test_expiry_is_measured_from_when_the_facts_were_gathered() -> None:
    exact = gateway_facts(consumers=(consumer("simpus", cred("KeyTepat", days_left=0)),))
    assert _rule("SPLP-KREDENSIAL-01").evaluate(exact).verdict == Verdict.FAIL  # expires_at == gathered_at
    later = exact.model_copy(update={"gathered_at": AT - timedelta(seconds=1)})
    assert _rule("SPLP-KREDENSIAL-01").evaluate(later).verdict == Verdict.PASS


def test_a_credential_without_expiry_passes_unless_expiry_is_required() -> None:
    facts = gateway_facts(consumers=(consumer("simpus", cred("KeyAbadi", days_left=None)),))
    check = _rule("SPLP-KREDENSIAL-01").check
    assert check.evaluate(facts).verdict == Verdict.PASS
    strict = check.model_copy(update={"require_expiry": True}).evaluate(facts)
    assert strict.verdict == Verdict.FAIL and "KeyAbadi (tanpa tanggal kedaluwarsa)" in strict.evidence


def test_a_route_without_a_rate_limit_for_every_consumer_fails() -> None:
    facts = gateway_facts(routes=(route("kependudukan"), route("perizinan", default=None, consumer_limits=2),
                                  route("cuaca", default=None, consumer_limits=0)))
    outcome = _rule("SPLP-RUTE-01").evaluate(facts)
    assert outcome.verdict == Verdict.FAIL and outcome.evidence.startswith("2 rute tanpa batas laju")
    assert "perizinan (kebijakan: key-auth, rate-limit, proxy; batas per konsumen: 2)" in outcome.evidence
    assert "cuaca (kebijakan: key-auth, proxy; batas per konsumen: 0)" in outcome.evidence
    lenient = _rule("SPLP-RUTE-01").check.model_copy(update={"consumer_limits_suffice": True})
    assert [o.name for o in lenient.offenders(facts)] == ["cuaca"]


def test_no_routes_is_a_pass_not_an_error() -> None:
    assert _rule("SPLP-RUTE-01").evaluate(gateway_facts(routes=())).verdict == Verdict.PASS


def test_an_enabled_client_of_a_revoked_consumer_fails() -> None:
    facts = gateway_facts(idp_clients=(IdpClientFact(client_id="simpus", enabled=True),
                                       IdpClientFact(client_id="dicabut", enabled=True)))
    outcome = _rule("SPLP-OAUTH2-01").evaluate(facts)
    assert outcome.verdict == Verdict.FAIL
    assert "dicabut/dicabut (masih aktif)" in outcome.evidence and "simpus" not in outcome.evidence


@pytest.mark.parametrize(("rule_id", "missing"), [
    ("SPLP-KONSUMEN-01", "consumers"), ("SPLP-KONSUMEN-01", "ticketed_consumers"),
    ("SPLP-KREDENSIAL-01", "consumers"), ("SPLP-RUTE-01", "routes"),
    ("SPLP-OAUTH2-01", "idp_clients"), ("SPLP-OAUTH2-01", "revoked_consumers"),
])
def test_a_fact_not_gathered_is_an_error_never_a_pass(rule_id: str, missing: str) -> None:
    outcome = _rule(rule_id).evaluate(gateway_facts(**{missing: None}))
    assert outcome.verdict == Verdict.ERROR and missing in outcome.evidence


@pytest.mark.parametrize("garbled", [
    {"consumers": ({"name": "x", "id": "1", "active": True, "credentials": [{"key_id": "k", "active": True,
                                                                            "secret": "CANARY"}]},)},
    {"consumers": ({"name": "x", "id": "1", "active": "sometimes"},)},
    {"gathered_at": datetime(2026, 12, 6, 12, 0)},  # noqa: DTZ001 - naive on purpose: refused
    {"routes": ({"api": "", "route_id": "r"},)},
    {"idp_clients": ({"client_id": "c"},)},
    {"revoked_consumers": ({"client_id": "c"},)},
])
def test_garbled_facts_are_refused_before_any_rule_sees_them(garbled: dict[str, object]) -> None:
    base = gateway_facts().model_dump()
    with pytest.raises(ValidationError):
        GatewayFacts.model_validate(base | garbled)


def test_a_credential_fact_has_no_place_for_a_secret() -> None:
    assert not {"secret", "key", "key_secret", "masked"} & set(GatewayCredentialFact.model_fields)


def test_many_offenders_are_listed_up_to_a_limit() -> None:
    many = tuple(consumer(f"yatim-{n:02d}") for n in range(25))
    outcome = _rule("SPLP-KONSUMEN-01").evaluate(gateway_facts(consumers=many))
    assert outcome.verdict == Verdict.FAIL and "25 konsumen" in outcome.evidence
    assert "yatim-19" in outcome.evidence and "yatim-20" not in outcome.evidence
    assert "... dan 5 lainnya" in outcome.evidence


def test_evidence_quotes_names_verbatim_for_the_renderer_to_escape() -> None:
    facts = gateway_facts(revoked_consumers=(RevokedConsumerFact(consumer="x\n# {{ 7*7 }}", client_id="dicabut"),),
                          idp_clients=(IdpClientFact(client_id="dicabut", enabled=True),))
    assert "x\n# {{ 7*7 }}" in _rule("SPLP-OAUTH2-01").evaluate(facts).evidence
