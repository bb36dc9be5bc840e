"""Profile files refused at load, each naming the file and the YAML key path, and a site's own directory."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
import yaml

from toolkit.compliance.loader import load_profiles, load_sources, parse_profile
from toolkit.compliance.models import REMEDIATION_KINDS, Remediation, Severity
from toolkit.compliance.server_checks import CHECK_TYPES, ServerCheck
from toolkit.compliance.switch_checks import SWITCH_CHECK_TYPES, SwitchCheck
from toolkit.errors import ConfigurationError
from toolkit.settings import Settings

RULE = {
    "id": "SITE-SSH-01", "title": "SSH: port bukan 22", "rationale": "Mengurangi pemindaian otomatis.",
    "severity": "rendah", "references": [{"source": "Kebijakan Diskominfo", "item": "SSH-1"}],
    "check": {"type": "sshd-option", "option": "port", "allowed": ["2222"]},
    "remediation": {"kind": "playbook", "playbook": "site/ssh_port.yml", "undo_playbook": "site/ssh_port_undo.yml"},
}


def _profile(*rules: dict[str, object], pid: str = "situs") -> str:
    return yaml.safe_dump({"id": pid, "title": "Profil situs", "description": "Aturan tambahan situs.",
                           "target": "server", "rules": list(rules) or [RULE]})


def _refused(text: str, name: str = "situs.yaml") -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse_profile(name, text)
    return str(caught.value)


def test_the_packaged_profiles_load() -> None:
    profiles = load_profiles()
    assert "server-dasar" in profiles
    assert {r.severity for r in profiles["server-dasar"].rules} <= set(Severity)
    assert profiles["server-dasar"].target == "server"


def test_an_unknown_check_type_is_refused_naming_file_and_key() -> None:
    message = _refused(_profile(RULE, RULE | {"id": "SITE-X-01", "check": {"type": "selinux-enforcing"}}))
    assert "situs.yaml: rules[1].check:" in message and "selinux-enforcing" in message
    assert "sshd-option" in message  # the known types are listed


def test_a_rule_without_a_remediation_is_refused() -> None:
    rule = {k: v for k, v in RULE.items() if k != "remediation"}
    message = _refused(_profile(rule))
    assert "situs.yaml: rules[0].remediation: Field required" in message and "reversible" in message


@pytest.mark.parametrize(("remediation", "where"), [
    ({"kind": "playbook", "playbook": "site/ssh_port.yml"}, "rules[0].remediation.undo_playbook: Field required"),
    ({"kind": "playbook", "playbook": "site/ssh_port.yml", "undo_playbook": "site/ssh_port.yml"},
     "rules[0].remediation: Value error, undo_playbook must be another playbook"),
    ({"kind": "manual", "note": "perbaiki sendiri"}, "rules[0].remediation: Input tag 'manual'"),
    ({"kind": "network-plan"}, "rules[0].remediation.kind: network-plan does not fit a server profile"),
])
def test_a_remediation_that_cannot_be_undone_is_refused(remediation: dict[str, str], where: str) -> None:
    message = _refused(_profile(RULE | {"remediation": remediation}))
    assert "situs.yaml: " in message and where in message, message


def test_a_bad_severity_is_refused() -> None:
    message = _refused(_profile(RULE | {"severity": "darurat"}))
    assert "situs.yaml: rules[0].severity:" in message and "'rendah'" in message


def test_a_bad_check_parameter_names_its_key_without_the_union_tag() -> None:
    message = _refused(_profile(RULE | {"check": {"type": "tls-expiry", "min_days": 0}}))
    assert "situs.yaml: rules[0].check.min_days:" in message


def test_a_duplicate_rule_id_in_one_file_is_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_sources([("situs.yaml", _profile(RULE, RULE))])
    assert "situs.yaml: rules[1].id: duplicate rule id 'SITE-SSH-01' (first at situs.yaml rules[0].id)" \
        in str(caught.value)


def test_a_site_rule_repeating_a_packaged_rule_id_is_refused(tmp_path: Path) -> None:
    (tmp_path / "situs.yaml").write_text(_profile(RULE | {"id": "SD-SSH-01"}), encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_profiles(tmp_path)
    message = str(caught.value)
    assert f"{tmp_path / 'situs.yaml'}: rules[0].id: duplicate rule id 'SD-SSH-01'" in message
    assert "toolkit/compliance/profiles/server-dasar.yaml rules[0].id" in message


def test_a_site_profile_repeating_a_packaged_profile_id_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(_profile(pid="server-dasar"), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"a\.yaml: id: duplicate profile id 'server-dasar'"):
        load_profiles(tmp_path)


def test_invalid_yaml_and_a_non_mapping_are_refused() -> None:
    assert "situs.yaml: not valid YAML" in _refused("rules: [unclosed")
    assert "situs.yaml: (top level): a mapping is expected" in _refused("- a\n- b\n")


def test_a_site_directory_adds_its_profiles_from_the_setting(tmp_path: Path) -> None:
    (tmp_path / "situs.yaml").write_text(_profile(), encoding="utf-8")
    (tmp_path / "catatan.txt").write_text("not a profile", encoding="utf-8")
    settings = Settings(compliance={"profiles_dir": tmp_path})  # type: ignore[arg-type]
    profiles = load_profiles(settings.compliance.profiles_dir)
    assert set(profiles) == {"server-dasar", "jaringan-intra", "splp", "situs"}
    assert profiles["situs"].rules[0].id == "SITE-SSH-01"


def test_a_missing_site_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is not a directory"):
        load_profiles(tmp_path / "tidak-ada")


def test_the_listed_tags_are_the_unions_own() -> None:
    """The loader's hints and key paths use CHECK_TYPES and REMEDIATION_KINDS: they must not drift."""

    def tags(union: object, key: str) -> set[str]:
        return {get_args(member.model_fields[key].annotation)[0] for member in get_args(get_args(union)[0])}

    assert tags(ServerCheck, "type") == set(CHECK_TYPES) and len(CHECK_TYPES) == len(set(CHECK_TYPES))
    assert tags(SwitchCheck, "type") == set(SWITCH_CHECK_TYPES)
    assert tags(Remediation, "kind") == set(REMEDIATION_KINDS)


SWITCH_RULE = {
    "id": "SITE-SW-01", "title": "Tanpa server HTTPS", "rationale": "Antarmuka web tidak dipakai.",
    "severity": "sedang", "references": [{"source": "Kebijakan Diskominfo", "item": "SW-1"}],
    "check": {"type": "forbidden-config", "line": "^ip http secure-server$"}, "remediation": {"kind": "network-plan"},
}


def _switch_profile(*rules: dict[str, object]) -> str:
    return yaml.safe_dump({"id": "switch-situs", "title": "Switch situs", "description": "Aturan switch situs.",
                           "target": "switch", "rules": list(rules)})


def test_a_site_switch_profile_loads_and_its_refusals_name_the_key() -> None:
    assert parse_profile("sw.yaml", _switch_profile(SWITCH_RULE)).target == "switch"
    bad_regex = _refused(_switch_profile(SWITCH_RULE | {"check": {"type": "forbidden-config", "line": "(telnet"}}),
                         "sw.yaml")
    assert "sw.yaml: rules[0].check.line: Value error, not a valid regular expression" in bad_regex
    server_check = _refused(_switch_profile(SWITCH_RULE | {"check": {"type": "time-sync"}}), "sw.yaml")
    assert "sw.yaml: rules[0].check: Input tag 'time-sync'" in server_check  # a server check on a switch
    playbook = _refused(_switch_profile(SWITCH_RULE | {"remediation": RULE["remediation"]}), "sw.yaml")
    assert "rules[0].remediation.kind: playbook does not fit a switch profile" in playbook


def test_an_unknown_target_is_refused() -> None:
    message = _refused(yaml.safe_dump({"id": "x", "title": "x", "description": "x", "target": "printer",
                                       "rules": [RULE]}))
    assert "situs.yaml: (top level):" in message and "'printer'" in message
