"""Every rule of the packaged ``jaringan-intra`` profile on a compliant switch, a failing one, and on missing
or garbled ``show running-config`` output (``error``, never ``pass``)."""

from __future__ import annotations

from typing import Any

import pytest

from toolkit.compliance.facts import SwitchFacts
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import SwitchProfile, SwitchRule, evaluate
from toolkit.compliance.outcome import Verdict

from .samples import AT, facts

RUNNING = """Building configuration...

Current configuration : 1024 bytes
!
hostname sw-bkd-01
!
enable secret 5 $1$kRv0$RahasiaSekali
!
vlan 120
 name SEG-BKD-120
!
interface GigabitEthernet0/1
 description SEG simpeg
 switchport mode access
 switchport access vlan 120
!
interface GigabitEthernet0/2
 switchport mode access
 shutdown
!
interface Vlan120
 ip address 10.20.0.1 255.255.255.0
 ip access-group ACL-SEG-120 in
!
ip access-list extended ACL-SEG-120
 permit tcp 10.20.0.0 0.0.0.255 host 10.1.0.10 eq 443
 deny   ip any any
!
snmp-server community Rahasia-RO RO
!
line con 0
line vty 0 4
 login local
 transport input ssh
line vty 5 15
 login local
 transport input ssh
!
end
"""

INTENDED = """vlan 120
 name SEG-BKD-120
interface GigabitEthernet0/1
 switchport mode access
 switchport access vlan 120
 description SEG simpeg
interface Vlan120
 ip address 10.20.0.1 255.255.255.0
 ip access-group ACL-SEG-120 in
ip access-list extended ACL-SEG-120
 permit tcp 10.20.0.0 0.0.0.255 host 10.1.0.10 eq 443
 deny ip any any
"""

RULE_IDS = ("JI-DRIFT-01", "JI-MGMT-01", "JI-HTTP-01", "JI-SNMP-01", "JI-PORT-01")


def switch(**changes: Any) -> SwitchFacts:
    return SwitchFacts.model_validate({"device": "sw-bkd-01", "gathered_at": AT, "running_config": RUNNING,
                                       "intended_config": INTENDED, "unused_ports": ("Gi0/2",)} | changes)


@pytest.fixture(scope="module")
def profile() -> SwitchProfile:
    loaded = load_profiles()["jaringan-intra"]
    assert isinstance(loaded, SwitchProfile)
    return loaded


def _rule(profile: SwitchProfile, rule_id: str) -> SwitchRule:
    (rule,) = [r for r in profile.rules if r.id == rule_id]
    return rule


FAILING: list[tuple[str, dict[str, Any], str]] = [
    ("JI-DRIFT-01", {"running_config": RUNNING.replace("access vlan 120", "access vlan 1")},
     "1 bagian menyimpang: interface GigabitEthernet0/1"),
    ("JI-DRIFT-01", {"running_config": RUNNING.replace(" permit tcp 10.20.0.0 0.0.0.255 host 10.1.0.10 eq 443\n", "")},
     "ip access-list extended ACL-SEG-120"),
    ("JI-DRIFT-01", {"running_config": RUNNING.replace("vlan 120\n name SEG-BKD-120\n", "")}, "vlan 120"),
    ("JI-MGMT-01", {"running_config": RUNNING.replace("line vty 5 15\n login local\n transport input ssh",
                                                      "line vty 5 15\n login local\n transport input telnet ssh")},
     "line vty 5 15: login local; transport input telnet ssh"),
    ("JI-MGMT-01", {"running_config": RUNNING.replace("line vty 0 4\n login local\n transport input ssh\n",
                                                      "line vty 0 4\n login local\n")},
     "line vty 0 4: login local"),  # IOS's default transport then allows telnet
    ("JI-HTTP-01", {"running_config": RUNNING.replace("!\nline con 0", "ip http server\n!\nline con 0")},
     "ip http server"),
    ("JI-SNMP-01", {"running_config": RUNNING.replace("snmp-server community Rahasia-RO RO",
                                                      "snmp-server community public RO")},
     "snmp-server community public RO"),
    ("JI-PORT-01", {"running_config": RUNNING.replace(" switchport mode access\n shutdown\n",
                                                      " switchport mode access\n")}, "GigabitEthernet0/2"),
]

GARBLED: list[tuple[str, dict[str, Any]]] = [
    ("JI-DRIFT-01", {"running_config": "% Invalid input detected at '^' marker."}),
    ("JI-DRIFT-01", {"intended_config": ""}),
    ("JI-MGMT-01", {"running_config": ""}),
    ("JI-MGMT-01", {"running_config": RUNNING.split("line con 0")[0]}),  # cut before the vty lines
    ("JI-HTTP-01", {"running_config": "Connection closed by foreign host."}),
    ("JI-SNMP-01", {"running_config": "\n\n"}),
    ("JI-PORT-01", {"unused_ports": ("Gi0/48",)}),  # not on this switch: the inventory and device disagree
]


def test_a_compliant_switch_passes_every_rule(profile: SwitchProfile) -> None:
    assert tuple(r.id for r in profile.rules) == RULE_IDS
    assert all(r.remediation.kind == "network-plan" for r in profile.rules)
    results = evaluate(profile, switch())
    assert {r.rule_id: r.outcome.verdict for r in results} == dict.fromkeys(RULE_IDS, Verdict.PASS), results


@pytest.mark.parametrize(("rule_id", "change", "evidence"), FAILING)
def test_each_finding_fails_its_rule_with_evidence(profile: SwitchProfile, rule_id: str, change: dict[str, Any],
                                                   evidence: str) -> None:
    results = {r.rule_id: r.outcome for r in evaluate(profile, switch(**change))}
    assert results[rule_id].verdict is Verdict.FAIL, results[rule_id]
    assert evidence in results[rule_id].evidence
    assert all(o.verdict is Verdict.PASS for rid, o in results.items() if rid != rule_id), results


def test_drift_evidence_shows_only_the_drifted_sections(profile: SwitchProfile) -> None:
    """The running config holds secrets (enable secret, SNMP community): evidence never quotes them."""
    drifted = RUNNING.replace("access vlan 120", "access vlan 121")
    outcome = _rule(profile, "JI-DRIFT-01").evaluate(switch(running_config=drifted))
    assert outcome.verdict is Verdict.FAIL
    assert "- switchport access vlan 121" in outcome.evidence and "+ switchport access vlan 120" in outcome.evidence
    assert "RahasiaSekali" not in outcome.evidence and "Rahasia-RO" not in outcome.evidence


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_a_fact_not_gathered_is_an_error_never_a_pass(profile: SwitchProfile, rule_id: str) -> None:
    rule = _rule(profile, rule_id)
    for name in rule.check.facts:
        outcome = rule.evaluate(switch(**{name: None}))
        assert outcome.verdict is Verdict.ERROR and name in outcome.evidence


@pytest.mark.parametrize(("rule_id", "change"), GARBLED)
def test_garbled_facts_are_an_error_never_a_pass(profile: SwitchProfile, rule_id: str, change: dict[str, Any]) -> None:
    outcome = _rule(profile, rule_id).evaluate(switch(**change))
    assert outcome.verdict is Verdict.ERROR, outcome
    assert outcome.evidence.startswith("fakta tidak dapat dibaca")


def test_a_profile_and_facts_of_different_targets_are_refused(profile: SwitchProfile) -> None:
    with pytest.raises(TypeError, match="checks a switch"):
        evaluate(profile, facts())  # type: ignore[call-overload]
