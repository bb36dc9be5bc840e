"""Every rule of the packaged ``server-dasar`` profile on a hardened host, a failing one, and on facts that are
missing or garbled: those are ``error``, never ``pass``, so an unread host cannot look compliant."""

from __future__ import annotations

from typing import Any

import pytest

from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import ServerProfile, ServerRule, evaluate
from toolkit.compliance.outcome import Verdict

from .samples import APT, NFT, SSHD, facts, snapshots, targets


@pytest.fixture(scope="module")
def profile() -> ServerProfile:
    loaded = load_profiles()["server-dasar"]
    assert isinstance(loaded, ServerProfile)
    return loaded


def _rule(profile: ServerProfile, rule_id: str) -> ServerRule:
    (rule,) = [r for r in profile.rules if r.id == rule_id]
    return rule


RULE_IDS = ("SD-SSH-01", "SD-SSH-02", "SD-SSH-03", "SD-FW-01", "SD-FS-01", "SD-UPD-01", "SD-TIME-01", "SD-MON-01",
            "SD-BAK-01", "SD-TLS-01")

FAILING: list[tuple[str, dict[str, Any], str]] = [
    ("SD-SSH-01", {"sshd_effective": SSHD.replace("permitrootlogin no", "permitrootlogin yes")}, "permitrootlogin yes"),
    ("SD-SSH-01", {"sshd_effective": SSHD.replace("permitrootlogin no", "permitrootlogin prohibit-password")},
     "prohibit-password"),
    ("SD-SSH-02", {"sshd_effective": SSHD.replace("passwordauthentication no", "passwordauthentication yes")},
     "passwordauthentication yes"),
    ("SD-SSH-03", {"sshd_effective": SSHD.replace("aes128-ctr", "aes128-ctr,aes256-cbc,3des-cbc")},
     "aes256-cbc, 3des-cbc"),
    ("SD-FW-01", {"nft_ruleset": ""}, "tidak ada ruleset yang dimuat"),
    ("SD-FW-01", {"nft_ruleset": NFT.replace("policy drop", "policy accept")}, "policy: accept"),
    ("SD-FW-01", {"nft_persistent": "#!/usr/sbin/nft -f\nflush ruleset\n"}, "/etc/nftables.conf"),
    ("SD-FW-01", {"nftables_enabled": False}, "tidak aktif saat boot"),
    ("SD-FS-01", {"world_writable": ("/srv/apps/simpus/upload/shell.php",)}, "/srv/apps/simpus/upload/shell.php"),
    ("SD-UPD-01", {"apt_config": APT.replace('Unattended-Upgrade "1"', 'Unattended-Upgrade "0"')},
     'APT::Periodic::Unattended-Upgrade 0'),
    ("SD-UPD-01", {"apt_config": APT.replace("label=Debian-Security", "label=Debian")}, "origin keamanan"),
    ("SD-TIME-01", {"timedatectl": "NTP=yes\nNTPSynchronized=no\n"}, "NTPSynchronized=no"),
    ("SD-TIME-01", {"timedatectl": "NTP=no\nNTPSynchronized=no\n"}, "NTP=no"),
    ("SD-MON-01", {"prometheus_targets": targets(health="down", last_error="connection refused")},
     "down (connection refused)"),
    ("SD-MON-01", {"prometheus_targets": targets(instance="10.0.0.9:9100")}, "bukan target aktif"),
    ("SD-BAK-01", {"restic_snapshots": snapshots("2026-12-04T20:00:00.5+08:00")}, "lebih tua dari 26 jam"),
    ("SD-BAK-01", {"restic_snapshots": "[]"}, "tidak ada snapshot"),
    ("SD-TLS-01", {"tls_not_after": {"a.go.id": "notAfter=Mar  1 00:00:00 2027 GMT",
                                     "b.go.id": "notAfter=Jan  4 12:00:00 2027 GMT"}}, "30 hari: b.go.id"),
    ("SD-TLS-01", {"tls_not_after": {"lama.go.id": "notAfter=Nov 30 00:00:00 2026 GMT"}}, "lama.go.id"),
]

GARBLED: list[tuple[str, dict[str, Any]]] = [
    ("SD-SSH-01", {"sshd_effective": "sshd: no hostkeys available -- exiting."}),
    ("SD-SSH-01", {"sshd_effective": "port 22\n"}),  # the keyword is absent
    ("SD-SSH-02", {"sshd_effective": ""}),
    ("SD-SSH-03", {"sshd_effective": "port 22\npermitrootlogin no\n"}),
    ("SD-FW-01", {"nft_ruleset": "Error: Could not process rule: Operation not permitted"}),
    ("SD-FS-01", {"app_dirs": ()}),
    ("SD-FS-01", {"world_writable": ("find: '/srv/apps/x': Permission denied",)}),
    ("SD-UPD-01", {"apt_config": "E: Could not open lock file"}),
    ("SD-TIME-01", {"timedatectl": "Failed to connect to bus: No such file or directory"}),
    ("SD-TIME-01", {"timedatectl": "Timezone=UTC\n"}),
    ("SD-MON-01", {"prometheus_targets": "<html>502 Bad Gateway</html>"}),
    ("SD-MON-01", {"prometheus_targets": '{"status": "error"}'}),
    ("SD-BAK-01", {"restic_snapshots": "Fatal: unable to open config file"}),
    ("SD-BAK-01", {"restic_snapshots": '[{"time": "kemarin"}]'}),
    ("SD-BAK-01", {"restic_snapshots": '[{"time": "2026-12-06T02:00:00"}]'}),  # no time zone: age unknown
    ("SD-TLS-01", {"tls_not_after": {}}),
    ("SD-TLS-01", {"tls_not_after": {"a.go.id": "unable to load certificate"}}),
    ("SD-TLS-01", {"tls_not_after": {"a.go.id": "notAfter=Feb 30 00:00:00 2027 GMT"}}),
]


def test_the_profile_holds_the_rules_of_the_issue(profile: ServerProfile) -> None:
    assert tuple(r.id for r in profile.rules) == RULE_IDS
    assert all(r.remediation.kind == "playbook" for r in profile.rules)


def test_a_hardened_host_passes_every_rule(profile: ServerProfile) -> None:
    results = evaluate(profile, facts())
    assert {r.rule_id: r.outcome.verdict for r in results} == dict.fromkeys(RULE_IDS, Verdict.PASS)
    assert all(r.outcome.evidence for r in results)


@pytest.mark.parametrize(("rule_id", "change", "evidence"), FAILING)
def test_each_finding_fails_its_rule_with_evidence(profile: ServerProfile, rule_id: str, change: dict[str, Any],
                                                   evidence: str) -> None:
    results = {r.rule_id: r.outcome for r in evaluate(profile, facts(**change))}
    assert results[rule_id].verdict is Verdict.FAIL, results[rule_id]
    assert evidence in results[rule_id].evidence
    assert all(o.verdict is Verdict.PASS for rid, o in results.items() if rid != rule_id and not
               (rid.startswith("SD-SSH") and rule_id.startswith("SD-SSH")))


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_a_fact_not_gathered_is_an_error_never_a_pass(profile: ServerProfile, rule_id: str) -> None:
    rule = _rule(profile, rule_id)
    for name in rule.check.facts:
        outcome = rule.evaluate(facts(**{name: None}))
        assert outcome.verdict is Verdict.ERROR and name in outcome.evidence


@pytest.mark.parametrize(("rule_id", "change"), GARBLED)
def test_garbled_facts_are_an_error_never_a_pass(profile: ServerProfile, rule_id: str, change: dict[str, Any]) -> None:
    outcome = _rule(profile, rule_id).evaluate(facts(**change))
    assert outcome.verdict is Verdict.ERROR, outcome
    assert outcome.evidence.startswith("fakta tidak dapat dibaca")


def test_a_host_with_no_facts_at_all_errs_on_every_rule(profile: ServerProfile) -> None:
    bare = facts(**dict.fromkeys(("sshd_effective", "nft_ruleset", "nft_persistent", "nftables_enabled", "app_dirs",
                                  "world_writable", "apt_config", "timedatectl", "prometheus_targets",
                                  "restic_snapshots", "tls_not_after")))
    assert {r.outcome.verdict for r in evaluate(profile, bare)} == {Verdict.ERROR}


def test_ages_are_measured_from_when_the_facts_were_gathered(profile: ServerProfile) -> None:
    """restic's nanoseconds and time zones are read; the boundary is the schedule's 26 hours."""
    backup, tls = _rule(profile, "SD-BAK-01"), _rule(profile, "SD-TLS-01")
    # gathered 2026-12-06 12:00 UTC; 26 h before is 2026-12-05 10:00 UTC = 18:00 WITA
    assert backup.evaluate(facts(restic_snapshots=snapshots("2026-12-05T18:00:01.000000001+08:00"))).verdict \
        is Verdict.PASS
    assert backup.evaluate(facts(restic_snapshots=snapshots("2026-12-05T09:59:00Z"))).verdict is Verdict.FAIL
    assert tls.evaluate(facts(tls_not_after={"a": "notAfter=Jan  6 12:00:01 2027 GMT"})).verdict is Verdict.PASS
    assert tls.evaluate(facts(tls_not_after={"a": "notAfter=Jan  5 12:00:00 2027 GMT"})).verdict is Verdict.FAIL
