"""Gateway profiles refused at load, naming the file and the key: a remediation that is not a reversible
gateway change, one that does not fit the rule's check, and the gateway check types on other targets."""

from __future__ import annotations

from typing import get_args

import pytest
import yaml

from toolkit.compliance.gateway_checks import GATEWAY_CHECK_TYPES, GatewayCheck
from toolkit.compliance.loader import parse_profile
from toolkit.errors import ConfigurationError

RULE = {
    "id": "SITE-GW-01", "title": "Konsumen bertiket", "rationale": "Konsumen tanpa tiket tidak disetujui.",
    "severity": "tinggi", "references": [{"source": "OWASP API Security Top 10 2023", "item": "API9:2023"}],
    "check": {"type": "consumer-has-ticket"}, "remediation": {"kind": "gateway-change", "action": "disable-consumer"},
}


def _profile(*rules: dict[str, object], target: str = "gateway") -> str:
    return yaml.safe_dump({"id": "gateway-situs", "title": "Gateway situs", "description": "Aturan gateway situs.",
                           "target": target, "rules": list(rules)})


def _refused(text: str, name: str = "gw.yaml") -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse_profile(name, text)
    return str(caught.value)


def test_a_site_gateway_profile_loads() -> None:
    profile = parse_profile("gw.yaml", _profile(RULE))
    assert profile.target == "gateway" and profile.rules[0].remediation.kind == "gateway-change"


@pytest.mark.parametrize(("remediation", "where"), [
    ({"kind": "playbook", "playbook": "site/x.yml", "undo_playbook": "site/x_undo.yml"},
     "rules[0].remediation.kind: playbook does not fit a gateway profile"),
    ({"kind": "network-plan"}, "rules[0].remediation.kind: network-plan does not fit a gateway profile"),
    ({"kind": "gateway-change", "action": "delete-consumer"}, "rules[0].remediation.action: Input should be"),
    ({"kind": "gateway-change", "action": "revoke-credential"}, "rules[0].remediation.action: Input should be"),
    ({"kind": "gateway-change"}, "rules[0].remediation.action: Field required"),
    ({"kind": "gateway-change", "action": "disable-credential"},
     "rules[0].remediation.action: disable-credential does not fit check consumer-has-ticket"),
    ({"kind": "gateway-change", "action": "add-rate-limit"}, "per_minute is required for add-rate-limit"),
    ({"kind": "gateway-change", "action": "disable-consumer", "per_minute": 10}, "only for it"),
])
def test_a_gateway_rule_without_a_fitting_reversible_remediation_is_refused(remediation: dict[str, object],
                                                                            where: str) -> None:
    message = _refused(_profile(RULE | {"remediation": remediation}))
    assert message.startswith("compliance profile refused:\ngw.yaml: ") and where in message


def test_a_rate_limit_rule_takes_add_rate_limit_with_its_number() -> None:
    rule = RULE | {"check": {"type": "route-rate-limit"},
                   "remediation": {"kind": "gateway-change", "action": "add-rate-limit", "per_minute": 0}}
    assert "rules[0].remediation.per_minute: Input should be greater than or equal to 1" in _refused(_profile(rule))
    rule["remediation"] = {"kind": "gateway-change", "action": "add-rate-limit", "per_minute": 120}
    assert parse_profile("gw.yaml", _profile(rule)).rules[0].remediation.per_minute == 120  # type: ignore[union-attr]


def test_a_server_or_switch_rule_with_a_gateway_change_is_refused() -> None:
    server = RULE | {"id": "SITE-SSH-09", "check": {"type": "time-sync"}}
    assert "rules[0].remediation.kind: gateway-change does not fit a server profile" in _refused(
        _profile(server, target="server"))
    switch = RULE | {"id": "SITE-SW-09", "check": {"type": "unused-ports-shut"}}
    assert "rules[0].remediation.kind: gateway-change does not fit a switch profile" in _refused(
        _profile(switch, target="switch"))


def test_check_types_of_another_target_are_refused_naming_the_key() -> None:
    message = _refused(_profile(RULE | {"check": {"type": "sshd-option", "option": "port", "allowed": ["22"]}}))
    assert "gw.yaml: rules[0].check: Input tag 'sshd-option'" in message and "consumer-has-ticket" in message
    on_server = _refused(_profile(RULE | {"id": "SITE-X-01", "remediation": {
        "kind": "playbook", "playbook": "a.yml", "undo_playbook": "b.yml"}}, target="server"))
    assert "rules[0].check: Input tag 'consumer-has-ticket'" in on_server


def test_a_bad_gateway_check_parameter_names_its_key() -> None:
    message = _refused(_profile(RULE | {"check": {"type": "consumer-has-ticket", "ignore": "semua"}}))
    assert "gw.yaml: rules[0].check.ignore:" in message
    message = _refused(_profile(RULE | {"check": {"type": "route-rate-limit", "window": 5}}))
    assert "gw.yaml: rules[0].check.window: Extra inputs are not permitted" in message


def test_the_gateway_check_tags_are_the_unions_own() -> None:
    tags = {get_args(m.model_fields["type"].annotation)[0] for m in get_args(get_args(GatewayCheck)[0])}
    assert tags == set(GATEWAY_CHECK_TYPES) and len(GATEWAY_CHECK_TYPES) == len(tags)
