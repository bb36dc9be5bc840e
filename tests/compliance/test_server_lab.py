"""server-dasar on real lab hosts: deliberately misconfigured (password login on, firewall flushed,
world-writable files in an app dir, a stale restic backup), read over SSH and judged; remediated by the
playbooks after a check-mode plan; undone to exactly the before-state; and a remediation that fails part way
(unattended-upgrades cannot be installed: the lab hosts have no mirror) rolled back.

The hosts are reached as an admin account with sudo, as a hardened server is: PermitRootLogin no refuses
root, and the test shows that too.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from lab.models import LabState
from lab.sshd import host_exec
from tests.fixtures import lab as lab_plugin
from toolkit.compliance.facts import ServerFacts
from toolkit.compliance.gather_server import ServerGatherer
from toolkit.compliance.gathering import GatherFailure
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import ServerProfile, ServerRule, evaluate
from toolkit.compliance.outcome import Verdict
from toolkit.compliance.remediate_server import ServerRemediator
from toolkit.settings import Settings

from .serverlab import APP, RESTIC, WRITABLE, before_state, host_of, misconfigure, sh

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(server_lab: LabState) -> LabState:
    return server_lab


@pytest.fixture(scope="module")
def settings(server_settings: Settings) -> Settings:
    return server_settings


@pytest.fixture(scope="module")
def profile() -> ServerProfile:
    loaded = load_profiles()["server-dasar"]
    assert isinstance(loaded, ServerProfile)
    return loaded


def verdicts(gatherer: ServerGatherer, profile: ServerProfile, name: str) -> dict[str, Verdict]:
    facts = gatherer.gather([name])[name]
    assert isinstance(facts, ServerFacts), facts
    return {r.rule_id: r.outcome.verdict for r in evaluate(profile, facts)}


def rules(profile: ServerProfile, *ids: str) -> list[ServerRule]:
    return [r for r in profile.rules if r.id in ids]


def test_misconfigured_host_is_found_remediated_and_undone(lab: LabState, settings: Settings,
                                                           profile: ServerProfile, tmp_path: Path) -> None:
    host = host_of(lab, "cs-a")
    misconfigure(host, stale_backup=True)
    gatherer, remediator = ServerGatherer(settings), ServerRemediator(settings)
    facts = gatherer.gather(["cs-a"])["cs-a"]
    assert isinstance(facts, ServerFacts)
    results = {r.rule_id: r.outcome for r in evaluate(profile, facts)}
    for rule_id in ("SD-SSH-01", "SD-SSH-02", "SD-FW-01", "SD-FS-01", "SD-BAK-01"):
        assert results[rule_id].verdict == Verdict.FAIL, (rule_id, results[rule_id])
    assert "passwordauthentication yes" in results["SD-SSH-02"].evidence
    assert all(path in results["SD-FS-01"].evidence for path in WRITABLE)
    assert "2020-01-01" in results["SD-BAK-01"].evidence
    assert results["SD-TIME-01"].verdict == Verdict.ERROR  # no timedatectl on the lab hosts: unread, never a pass
    before = before_state(host)
    first = verdicts(gatherer, profile, "cs-a")

    fixing = rules(profile, "SD-SSH-01", "SD-SSH-02", "SD-FW-01", "SD-FS-01")
    plan = remediator.plan("cs-a", fixing, facts, tmp_path)
    assert [s["playbook"] for s in plan.detail["steps"]] == [
        "compliance/sshd_hardening.yml", "compliance/nftables_default_deny.yml", "compliance/app_dir_permissions.yml"]
    assert [s["undo_playbook"] for s in plan.detail["steps"]] == [
        "compliance/sshd_hardening_undo.yml", "compliance/nftables_default_deny_undo.yml",
        "compliance/app_dir_permissions_undo.yml"]
    assert "+PermitRootLogin no" in plan.preview and "policy drop" in plan.preview and "+++ after" in plan.preview
    assert "check mode failed" not in plan.preview and plan.detail["check_failed"] == []
    assert before_state(host) == before, "planning changed the target"

    outcome = remediator.apply(plan, tmp_path, lambda _line: None)
    assert outcome.ok and not outcome.rolled_back, outcome.error
    after = verdicts(gatherer, profile, "cs-a")
    for rule_id in ("SD-SSH-01", "SD-SSH-02", "SD-SSH-03", "SD-FW-01", "SD-FS-01"):
        assert after[rule_id] == Verdict.PASS, rule_id
    assert after["SD-BAK-01"] == Verdict.FAIL  # not part of this plan
    assert sh(host, 'stat -c "%a" "$@"', *WRITABLE).split() == ["775", "664"]
    # the lab's own inventory logs in as root, which PermitRootLogin no now refuses
    as_root = ServerGatherer(lab_plugin.settings_for(lab)).gather(["cs-a"])["cs-a"]
    assert isinstance(as_root, GatherFailure) and "authentication" in as_root.reason

    again = remediator.plan("cs-a", fixing, None, tmp_path)  # idempotent: nothing left to change
    assert "changed=0" in again.preview and "changed=1" not in again.preview

    undone = remediator.undo(plan, tmp_path, lambda _line: None)
    assert undone.ok, undone.error
    assert before_state(host) == before
    assert verdicts(gatherer, profile, "cs-a") == first


def test_a_remediation_failing_part_way_is_rolled_back(lab: LabState, settings: Settings, profile: ServerProfile,
                                                       tmp_path: Path) -> None:
    host = host_of(lab, "cs-b")
    misconfigure(host, stale_backup=False)
    # The real failure: the lab hosts reach no Debian mirror, so the package cannot be installed.
    assert host.init_pid is not None
    assert host_exec(host.init_pid, ["dpkg-query", "-W", "unattended-upgrades"]).returncode != 0
    gatherer, remediator = ServerGatherer(settings), ServerRemediator(settings)
    before, first = before_state(host), verdicts(gatherer, profile, "cs-b")
    assert first["SD-UPD-01"] == Verdict.FAIL
    plan = remediator.plan("cs-b", rules(profile, "SD-SSH-02", "SD-FW-01", "SD-FS-01", "SD-UPD-01"), None, tmp_path)
    # Check mode cannot foresee this failure (apt only simulates the install): the rollback is what protects.
    assert plan.detail["check_failed"] == []
    lines: list[str] = []
    outcome = remediator.apply(plan, tmp_path, lines.append)
    assert not outcome.ok and outcome.rolled_back
    assert outcome.error is not None and outcome.error.startswith("compliance/unattended_upgrades.yml failed")
    ran = [line.split()[1] for line in lines if line.startswith("spbe: compliance/") and line.endswith(" on cs-b")]
    assert ran == ["compliance/sshd_hardening.yml", "compliance/nftables_default_deny.yml",
                   "compliance/app_dir_permissions.yml", "compliance/unattended_upgrades.yml",
                   "compliance/unattended_upgrades_undo.yml", "compliance/app_dir_permissions_undo.yml",
                   "compliance/nftables_default_deny_undo.yml", "compliance/sshd_hardening_undo.yml"]
    assert before_state(host) == before
    assert verdicts(gatherer, profile, "cs-b") == first
    assert sh(host, "ls /var/lib/spbe/compliance/ 2>/dev/null || true").split() == []


def test_a_host_key_that_does_not_match_is_a_gather_failure(lab: LabState, settings: Settings,
                                                            tmp_path: Path) -> None:
    a, b = host_of(lab, "cs-a"), host_of(lab, "cs-b")
    other_key = (b.host_dir / "ssh_host_ed25519_key.pub").read_text(encoding="utf-8").split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"{a.address} {' '.join(other_key)}\n", encoding="utf-8")
    data = yaml.safe_load(settings.effective_inventory().read_text(encoding="utf-8"))
    data["all"]["children"]["pusat_data_pool"]["hosts"]["cs-a"]["ansible_ssh_common_args"] = (
        f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = ServerGatherer(settings.model_copy(update={"inventory": inventory})).gather(["cs-a", "cs-b"])
    assert isinstance(result["cs-a"], GatherFailure) and "host key" in result["cs-a"].reason
    assert isinstance(result["cs-b"], ServerFacts)  # one bad target does not sink the sweep


def test_tls_and_backup_facts_are_read_from_the_host(lab: LabState, settings: Settings, profile: ServerProfile,
                                                     tmp_path: Path) -> None:
    """A served certificate ending in 10 days fails SD-TLS-01; a fresh snapshot passes SD-BAK-01; a site
    that does not answer leaves the TLS fact unread, so the rule ends error, never pass."""
    host = host_of(lab, "cs-b")
    sh(host, 'mkdir -p /srv/apps/portal && install -d -m 700 /etc/spbe/backup && printf "%s" "$1" > "$2" && '
             'chmod 600 "$2" && rm -rf /var/backups/spbe/portal', "fresh-backup-not-a-secret",
       f"/etc/spbe/backup/{APP}.restic-password")
    sh(host, 'r=$1; shift; "$@" init >/dev/null && "$@" backup "$r" >/dev/null', f"/srv/apps/{APP}", *RESTIC)
    sh(host, 'cd /root && openssl req -x509 -newkey rsa:2048 -nodes -keyout site.key -out site.crt -days 10 '
             '-subj "/CN=$1" 2>/dev/null && setsid openssl s_server -quiet -accept 8443 -cert site.crt '
             '-key site.key -www </dev/null >/dev/null 2>&1 &', "portal.lab.test")
    data = yaml.safe_load(settings.effective_inventory().read_text(encoding="utf-8"))
    host_vars = data["all"]["children"]["pusat_data_pool"]["hosts"]["cs-b"]
    host_vars["spbe_compliance_tls_sites"] = [{"name": "portal.lab.test", "port": 8443}]
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(data), encoding="utf-8")
    gatherer = ServerGatherer(settings.model_copy(update={"inventory": inventory}))
    results = {}
    for _ in range(50):  # s_server was started in the background: give it a moment to listen
        facts = gatherer.gather(["cs-b"])["cs-b"]
        assert isinstance(facts, ServerFacts)
        results = {r.rule_id: r.outcome for r in evaluate(profile, facts)}
        if results["SD-TLS-01"].verdict != Verdict.ERROR:
            break
        time.sleep(0.2)
    assert results["SD-TLS-01"].verdict == Verdict.FAIL and "portal.lab.test" in results["SD-TLS-01"].evidence
    assert results["SD-BAK-01"].verdict == Verdict.PASS, results["SD-BAK-01"]

    host_vars["spbe_compliance_tls_sites"].append({"name": "mati.lab.test", "port": 8444})  # nothing listens
    inventory.write_text(yaml.safe_dump(data), encoding="utf-8")
    facts = ServerGatherer(settings.model_copy(update={"inventory": inventory})).gather(["cs-b"])["cs-b"]
    assert isinstance(facts, ServerFacts) and facts.tls_not_after is None
    assert {r.rule_id: r.outcome.verdict for r in evaluate(profile, facts)}["SD-TLS-01"] == Verdict.ERROR
