"""server-dasar's facts read from real lab hosts: a host key that does not match, TLS and backup facts.

The misconfigure -> find -> plan -> apply -> pass -> undo cycle and the rollback of a remediation failing part
way run through the Audit TI ticket in test_audit_ti_server_lab.py (one cycle each, on the same lab).

The hosts are reached as an admin account with sudo, as a hardened server is: PermitRootLogin no refuses
root, and the test shows that too.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from lab.models import LabState
from toolkit.compliance.facts import ServerFacts
from toolkit.compliance.gather_server import ServerGatherer
from toolkit.compliance.gathering import GatherFailure
from toolkit.compliance.loader import load_profiles
from toolkit.compliance.models import ServerProfile, evaluate
from toolkit.compliance.outcome import Verdict
from toolkit.settings import Settings

from .serverlab import APP, RESTIC, host_of, sh

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
