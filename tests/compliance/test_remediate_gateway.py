"""The gateway remediation as data: one call per offender with its inverse, a preview in Bahasa Indonesia,
apply that undoes what it did when a call fails, undo newest first, and plans that do not fit refused.

An in-memory switchboard stands in for the gateway here (it satisfies `GatewayControls`, and records the
order of calls); the same plans run against the Kong fake and the real Express Gateway in
test_splp_kong.py and test_splp_lab.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.compliance.gateway_samples import consumer, cred, gateway_facts, route
from toolkit.compliance.facts import IdpClientFact
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import GatewayProfile, GatewayRule
from toolkit.compliance.remediate_gateway import GatewayCall, GatewayRemediator, plan_steps
from toolkit.errors import ConfigurationError, InvalidInputError
from toolkit.ports.gateway import GatewayControls, GatewayUnavailableError
from toolkit.ports.identity_provider import ClientContainment

PROFILE = load_profiles()["splp"]
assert isinstance(PROFILE, GatewayProfile)
RULES: list[GatewayRule] = list(PROFILE.rules)
CANARY = "CANARY-splp-key-7f3a9c1e"  # noqa: S105 - must appear nowhere a plan or log shows


class Switchboard:
    """Records calls; the calls numbered in ``fail_on`` (1-based) raise as an unreachable gateway would."""

    name = "express_gateway"

    def __init__(self, *fail_on: int) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.fail_on = set(fail_on)

    def _record(self, *call: str) -> None:
        self.calls.append(call)
        if len(self.calls) in self.fail_on:
            raise GatewayUnavailableError(f"express-gateway timed out (key {CANARY})")

    def set_consumer_active(self, consumer: str, active: bool) -> bool:
        self._record("consumer", consumer, str(active))
        return not active

    def set_credential_active(self, consumer: str, key_id: str, active: bool) -> bool:
        self._record("credential", consumer, key_id, str(active))
        return not active

    def set_default_rate_limit(self, api: str, per_minute: int | None) -> int | None:
        self._record("rate", api, str(per_minute))
        return None


class Keycloakish:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def disable_client(self, client_id: str) -> ClientContainment:
        self.calls.append(("disable", client_id))
        return ClientContainment(client_id=client_id, was_enabled=True)

    def enable_client(self, client_id: str) -> Any:
        self.calls.append(("enable", client_id))


def _failing_facts() -> Any:
    return gateway_facts(
        consumers=(consumer("simpus", cred("KeySimpus01"), cred("KeyLama02", days_left=-1)),
                   consumer("yatim", cred("KeyYatim01"))),
        routes=(route("kependudukan"), route("perizinan", default=None)),
        idp_clients=(IdpClientFact(client_id="dicabut", enabled=True),))


def _remediator(board: Switchboard | None = None, idp: Keycloakish | None = None) -> GatewayRemediator:
    return GatewayRemediator(name="express_gateway", gateway=board or Switchboard(),  # type: ignore[arg-type]
                             identity=idp)  # type: ignore[arg-type]


def test_the_switchboard_is_a_gateway_with_controls() -> None:
    assert isinstance(Switchboard(), GatewayControls)


def test_one_step_per_offender_each_with_its_inverse() -> None:
    steps = plan_steps(RULES, _failing_facts())
    assert [(s.rule_id, s.call.op, s.call.subject, s.undo.op) for s in steps] == [
        ("SPLP-KONSUMEN-01", "disable-consumer", "yatim", "enable-consumer"),
        ("SPLP-KREDENSIAL-01", "disable-credential", "KeyLama02", "enable-credential"),
        ("SPLP-RUTE-01", "add-rate-limit", "perizinan", "remove-rate-limit"),
        ("SPLP-OAUTH2-01", "disable-oauth2-client", "dicabut", "enable-oauth2-client"),
    ]
    assert steps[1].call.consumer == "simpus" and steps[2].call.per_minute == 600
    assert plan_steps(RULES, gateway_facts()) == ()


def test_the_plan_previews_every_call_beside_its_undo() -> None:
    plan = _remediator(idp=Keycloakish()).plan("express_gateway", RULES, _failing_facts())
    assert plan.kind == "gateway" and plan.rule_ids == tuple(r.id for r in RULES)
    lines = plan.preview.splitlines()
    assert lines[0] == "Perubahan pada gateway express_gateway (4 langkah, masing-masing dapat dibatalkan):"
    assert lines[1] == ("1. [SPLP-KONSUMEN-01] nonaktifkan konsumen yatim "
                        "(pembatalan: aktifkan kembali konsumen yatim)")
    assert "nonaktifkan kredensial KeyLama02 milik simpus" in lines[2]
    assert "pasang batas laju 600/menit untuk semua konsumen rute perizinan" in lines[3]
    assert "(pembatalan: aktifkan kembali klien OAuth2 dicabut di Keycloak)" in lines[4]
    assert plan.digest() == _remediator(idp=Keycloakish()).plan("express_gateway", RULES, _failing_facts()).digest()


def test_apply_runs_in_order_and_undo_runs_the_inverses_newest_first() -> None:
    board, idp = Switchboard(), Keycloakish()
    remediator = _remediator(board, idp)
    plan = remediator.plan("express_gateway", RULES, _failing_facts())
    seen: list[str] = []
    outcome = remediator.apply(plan, None, seen.append)
    assert outcome.ok and not outcome.rolled_back and outcome.error is None
    assert board.calls == [("consumer", "yatim", "False"), ("credential", "simpus", "KeyLama02", "False"),
                           ("rate", "perizinan", "600")]
    assert idp.calls == [("disable", "dicabut")] and len(seen) == 4
    board.calls.clear()
    undone = remediator.undo(plan, None, seen.append)
    assert undone.ok and undone.rolled_back
    assert board.calls == [("rate", "perizinan", "None"), ("credential", "simpus", "KeyLama02", "True"),
                           ("consumer", "yatim", "True")]
    assert idp.calls[-1] == ("enable", "dicabut")


def test_a_failing_call_undoes_the_ones_before_it_and_reports_masked() -> None:
    board = Switchboard(3)
    remediator = GatewayRemediator(name="express_gateway", gateway=board,  # type: ignore[arg-type]
                                   identity=Keycloakish())  # type: ignore[arg-type]
    remediator.masker.add(CANARY)
    plan = remediator.plan("express_gateway", RULES, _failing_facts())
    seen: list[str] = []
    outcome = remediator.apply(plan, None, seen.append)
    assert not outcome.ok and outcome.rolled_back
    assert outcome.error is not None and "GatewayUnavailableError" in outcome.error
    assert board.calls == [("consumer", "yatim", "False"), ("credential", "simpus", "KeyLama02", "False"),
                           ("rate", "perizinan", "600"),  # this one failed
                           ("credential", "simpus", "KeyLama02", "True"), ("consumer", "yatim", "True")]
    assert CANARY not in outcome.log + outcome.error + "".join(seen)


def test_a_rollback_that_fails_too_says_so_and_undo_runs_every_inverse() -> None:
    plan = _remediator(idp=Keycloakish()).plan("express_gateway", RULES, _failing_facts())
    board = Switchboard(2, 3)  # the credential call fails, then so does re-enabling the consumer
    outcome = _remediator(board, Keycloakish()).apply(plan, None, lambda _: None)
    assert not outcome.ok and not outcome.rolled_back
    assert outcome.error is not None and "rollback incomplete: enable-consumer yatim" in outcome.error
    board = Switchboard(2)  # the 2nd inverse fails; the others still run
    undone = _remediator(board, Keycloakish()).undo(plan, None, lambda _: None)
    assert not undone.ok and undone.error is not None and "enable-credential KeyLama02" in undone.error
    assert [c[0] for c in board.calls] == ["rate", "credential", "consumer"]


def test_a_plan_needing_switches_or_keycloak_the_deployment_lacks_is_refused_before_approval() -> None:
    class ReadOnly:
        name = "wso2"

    with pytest.raises(ConfigurationError, match="no reversible switches"):
        GatewayRemediator(name="wso2", gateway=ReadOnly()).plan(  # type: ignore[arg-type]
            "wso2", RULES, _failing_facts().model_copy(update={"gateway": "wso2"}))
    with pytest.raises(ConfigurationError, match="no identity provider"):
        _remediator(idp=None).plan("express_gateway", RULES, _failing_facts())
    only_routes = [r for r in RULES if r.id == "SPLP-RUTE-01"]
    assert _remediator(idp=None).plan("express_gateway", only_routes, _failing_facts()).rule_ids == ("SPLP-RUTE-01",)


def test_a_plan_for_another_target_or_from_other_facts_is_refused() -> None:
    remediator = _remediator(idp=Keycloakish())
    with pytest.raises(InvalidInputError):
        remediator.plan("kong", RULES, _failing_facts())
    with pytest.raises(InvalidInputError):
        remediator.plan("express_gateway", RULES, object())
    with pytest.raises(InvalidInputError):
        remediator.plan("express_gateway", [], _failing_facts())


@pytest.mark.parametrize("tamper", [
    {"op": "delete-consumer", "subject": "yatim"},
    {"op": "disable-consumer", "subject": "../users"},
    {"op": "disable-credential", "subject": "KeyLama02"},  # no consumer
    {"op": "disable-credential", "subject": "key/../x", "consumer": "simpus"},
    {"op": "add-rate-limit", "subject": "perizinan"},  # no number
    {"op": "disable-oauth2-client", "subject": "X; drop"},
])
def test_a_tampered_plan_is_refused_before_any_call(tamper: dict[str, str]) -> None:
    board = Switchboard()
    remediator = _remediator(board, Keycloakish())
    plan = remediator.plan("express_gateway", RULES, _failing_facts())
    detail = dict(plan.detail)
    detail["steps"] = [{**detail["steps"][0], "call": tamper}]
    with pytest.raises(InvalidInputError):
        remediator.apply(plan.model_copy(update={"detail": detail}), None, lambda _: None)
    assert board.calls == []


def test_an_inverse_is_the_inverse_of_its_call() -> None:
    call = GatewayCall(op="disable-credential", subject="KeyLama02", consumer="simpus")
    assert call.inverse().inverse() == call
    assert GatewayCall(op="add-rate-limit", subject="perizinan", per_minute=10).inverse().op == "remove-rate-limit"


def test_a_call_that_changed_nothing_is_not_rolled_back() -> None:
    class AlreadyOff(Switchboard):
        def set_consumer_active(self, consumer: str, active: bool) -> bool:
            self._record("consumer", consumer, str(active))
            return active  # someone disabled it between the plan and the apply

    board = AlreadyOff(3)
    remediator = _remediator(board, Keycloakish())
    plan = remediator.plan("express_gateway", RULES, _failing_facts())
    logs: list[str] = []
    outcome = remediator.apply(plan, None, logs.append)
    assert not outcome.ok and outcome.rolled_back
    assert "ok disable-consumer yatim (unchanged)" in logs
    assert board.calls[3:] == [("credential", "simpus", "KeyLama02", "True")]  # the consumer stays disabled
