"""Host isolation proven by traffic on the lab: the attacker loses the web server, the CSIRT keeps SSH,
ansible keeps working, the rules survive an nftables restart, and release gives back the exact ruleset."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lab import probe
from lab.models import LabIncident, LabState
from tests.containment.conftest import AFFECTED, host_run, open_incident, ruleset, spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.containment.models import ContainmentStatus
from toolkit.containment.service import ContainmentService
from toolkit.settings import Settings

pytestmark = pytest.mark.lab


def csirt_ssh(lab: LabState, incident: LabIncident, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """A real SSH login from the CSIRT management namespace to the affected host's segment address."""
    key_type, key = (incident.affected.host_dir / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"{incident.affected_address} {key_type} {key}\n")
    argv = ["ip", "netns", "exec", incident.csirt_netns, "ssh", "-i", str(incident.affected.private_key),
            "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=3", f"root@{incident.affected_address}", "hostname"]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)


def attacker_reaches_web(incident: LabIncident) -> bool:
    return probe.http_get(incident.attacker_netns, incident.affected_address, incident.web_port, 0.5).ok


def test_isolation_by_traffic_and_exact_release(ir_lab: LabState, incident: LabIncident, settings: Settings,
                                                app: App, tmp_path: Path) -> None:
    before_rules = ruleset(incident)
    before_conf = host_run(incident, "cat", "/etc/nftables.conf")
    assert "table inet app_fw" in before_rules
    assert attacker_reaches_web(incident)
    assert probe.tcp(incident.attacker_netns, incident.affected_address, 22, 0.5).ok
    assert csirt_ssh(ir_lab, incident, tmp_path).stdout.strip() == AFFECTED
    ticket = open_incident(app)

    result = spbe(settings, "contain", "host", AFFECTED, "--ticket", ticket, "--as", "rina", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "active"

    # The attacker is cut off (web and SSH), the CSIRT host still logs in, ansible still works.
    assert not attacker_reaches_web(incident)
    assert not probe.tcp(incident.attacker_netns, incident.affected_address, 22, 0.5).ok
    assert csirt_ssh(ir_lab, incident, tmp_path).stdout.strip() == AFFECTED
    state = ContainmentService(app).inspect_host(ticket, as_lab("rina"), AFFECTED)  # a playbook run over SSH
    assert state["isolated"].strip() == "ya"
    # Persistent: a restart of nftables (it loads /etc/nftables.conf) keeps the host isolated.
    host_run(incident, "nft", "-f", "/etc/nftables.conf")
    assert "table inet spbe_isolation" in ruleset(incident)
    assert not attacker_reaches_web(incident)
    # Idempotent: containing again changes nothing and keeps the first before-state.
    again = spbe(settings, "contain", "host", AFFECTED, "--ticket", ticket, "--as", "rina", "--json")
    assert again.exit_code == 0, again.output
    stored = ContainmentService(app).store.get(record["id"])
    assert stored.applied["changed"] == 0
    assert stored.before["ruleset_stateless"] == before_rules

    released = spbe(settings, "release", "host", AFFECTED, "--ticket", ticket, "--as", "rina", "--json")
    assert released.exit_code == 0, released.output
    assert json.loads(released.stdout)["status"] == "released"
    assert ruleset(incident) == before_rules
    assert host_run(incident, "cat", "/etc/nftables.conf") == before_conf
    assert attacker_reaches_web(incident)
    assert csirt_ssh(ir_lab, incident, tmp_path).stdout.strip() == AFFECTED

    texts = [e.text for e in app.tickets.timeline(ticket) if e.data.get("containment")]
    assert any("Penahanan: isolasi host" in t for t in texts)
    assert any("Pelepasan penahanan" in t and "dipulihkan persis" in t for t in texts)
    actions = [e.action for e in app.audit.entries(ticket)]
    assert actions.count("containment.isolate_host") == 2 and "containment.release" in actions
    listed = spbe(settings, "contain", "list", "--ticket", ticket, "--json")
    assert [r["status"] for r in json.loads(listed.stdout)] == [ContainmentStatus.RELEASED.value]
