"""The three Pusat Data playbooks, run for real against the lab host, and checked from outside."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lab import sshd
from lab.models import LabState
from toolkit.actions.ansible.pusat_data_vars import BackupVars, MonitoringVars, ProvisionVars
from toolkit.actions.ansible.runner import PlaybookRun, PlaybookSummary, run_playbook

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
VENV_BIN = Path(sys.executable).parent
PASSWORD = "lab-backup-password-7c1e"  # noqa: S105 - a throw-away lab secret
APP = "sipd-test"


def _vars(host: str) -> dict[str, ProvisionVars | MonitoringVars | BackupVars]:
    return {
        "provision_server.yml": ProvisionVars(ticket="PD-TEST-1", hostname=host, app_name=APP),
        "install_monitoring.yml": MonitoringVars(ticket="PD-TEST-1", hostname=host, opd="diskominfo"),
        "configure_backup.yml": BackupVars(ticket="PD-TEST-1", app_name=APP, backup_password=PASSWORD),
    }


def _run_all(lab: LabState, runs_dir: Path) -> dict[str, PlaybookSummary]:
    host = lab.hosts[0].name
    out = {}
    for playbook, model in _vars(host).items():
        summary = run_playbook(
            PlaybookRun(
                playbook=PLAYBOOKS / playbook,
                inventory=lab.inventory,
                limit=f"{host},monitor",
                extra_vars=model.to_extra_vars(),
                private_data_dir=runs_dir,
                timeout_s=600,
            ),
            mask=lambda s: s.replace(PASSWORD, "********"),
        )
        assert summary.status == "successful", (playbook, summary.failed_tasks)
        out[playbook] = summary
    return out


@pytest.fixture(scope="module")
def first_runs(lab: LabState, tmp_path_factory: pytest.TempPathFactory) -> dict[str, PlaybookSummary]:
    return _run_all(lab, tmp_path_factory.mktemp("runs"))


def _in_host(lab: LabState, *argv: str) -> str:
    result = sshd.host_exec(lab.hosts[0].init_pid, list(argv))
    assert result.returncode == 0, (argv, result.stderr)
    return result.stdout


@pytest.mark.slow  # several processes or a whole-tree scan: the full suite runs it, the fast tier does not
def test_ansible_lint_passes_with_the_production_profile() -> None:
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(
        [str(VENV_BIN / "ansible-lint"), "--profile", "production", "--nocolor", "playbooks/"],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "playbook", ["provision_server.yml", "install_monitoring.yml", "configure_backup.yml"]
)
def test_syntax_check(playbook: str) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(PLAYBOOKS / playbook)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.lab
def test_provision_effects(lab: LabState, first_runs: dict[str, PlaybookSummary]) -> None:
    host = lab.hosts[0]
    assert first_runs["provision_server.yml"].changed > 0
    assert "spbe-app:" in _in_host(lab, "getent", "passwd", "spbe-app")
    dropin = _in_host(lab, "cat", "/etc/ssh/sshd_config.d/50-spbe-hardening.conf")
    assert "PasswordAuthentication no" in dropin
    effective = _in_host(lab, "sshd", "-T")
    assert "passwordauthentication no" in effective
    assert "maxauthtries 3" in effective
    assert "x11forwarding no" in effective
    ruleset = subprocess.run(
        ["ip", "netns", "exec", host.netns, "nft", "list", "ruleset"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "policy drop" in ruleset
    assert f"ip saddr {host.root_address} tcp dport 22 accept" in ruleset
    with urllib.request.urlopen(f"http://{host.address}/", timeout=5) as resp:  # noqa: S310 - lab address
        assert resp.status == 200
        assert APP in resp.read().decode()
    assert _in_host(lab, "hostname").strip() == host.name
    assert _in_host(lab, "stat", "-c", "%U", f"/srv/apps/{APP}").strip() == "spbe-app"
    published = first_runs["provision_server.yml"].stats["spbe"]["provision"][host.name]
    assert published["hostname"] == host.name and published["address"] == host.address
    assert published["web_stack"] == "nginx" and published["web_stack_version"]
    assert published["os_release"].startswith("Debian 12")


def _wait_listening(netns: str, port: int, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """Until a TCP socket listens on ``port`` in ``netns`` (``ss`` in the namespace): no fixed sleep."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen = subprocess.run(["ip", "netns", "exec", netns, "ss", "-Hltn", f"sport = :{port}"],
                              capture_output=True, text=True, check=True).stdout
        if seen.strip():
            return
        assert process.poll() is None, f"the listener on port {port} exited with {process.returncode}"
        time.sleep(0.05)
    raise AssertionError(f"nothing listened on port {port} in {netns} after {timeout_s} s")


@pytest.mark.lab
def test_firewall_drops_what_is_not_allowed(lab: LabState, first_runs: dict[str, PlaybookSummary]) -> None:
    host = lab.hosts[0]
    # A listener on a port the baseline does not open, reachable from inside the host only.
    ruleset = subprocess.run(
        ["ip", "netns", "exec", host.netns, "nft", "list", "chain", "inet", "spbe_filter", "input"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "tcp dport 8080" not in ruleset
    listener = subprocess.Popen(
        ["ip", "netns", "exec", host.netns, sys.executable, "-m", "http.server",
         "--bind", host.address, "8080"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_listening(host.netns, 8080, listener)  # refused because of the firewall, not a listener not up yet
        with pytest.raises(OSError):  # noqa: PT011 - refused or timed out: either proves the port is closed
            urllib.request.urlopen(f"http://{host.address}:8080/", timeout=2)  # noqa: S310
    finally:
        listener.kill()
        listener.wait()


@pytest.mark.lab
def test_monitoring_effects(lab: LabState, first_runs: dict[str, PlaybookSummary]) -> None:
    host = lab.hosts[0]
    with urllib.request.urlopen(f"http://{host.address}:9100/metrics", timeout=5) as resp:  # noqa: S310
        assert "node_uname_info" in resp.read().decode()
    targets = json.loads((lab.file_sd_dir / f"{host.name}.json").read_text(encoding="utf-8"))
    assert targets == [
        {
            "targets": [f"{host.address}:9100"],
            "labels": {
                "instance_name": host.name,
                "opd": "diskominfo",
                "ticket": "PD-TEST-1",
                "service": "pusat-data",
            },
        }
    ]
    rules = (lab.rules_dir / "spbe-pusat-data.yml").read_text(encoding="utf-8")
    for alert in ("InstanceDown", "DiskAlmostFull", "HighLoad", "MemoryLow"):
        assert f"alert: {alert}" in rules
    published = first_runs["install_monitoring.yml"].stats["spbe"]["monitoring"][host.name]
    assert published["target"] == f"{host.address}:9100" and published["exporter_answered"] is True
    assert published["exporter_version"]
    if lab.prometheus_url:  # the lab's real Prometheus scrapes the new target
        deadline = time.monotonic() + 30
        query = f"{lab.prometheus_url}/api/v1/query?query=up%7Binstance_name%3D%22{host.name}%22%7D"
        value = None
        while time.monotonic() < deadline and value != "1":
            with urllib.request.urlopen(query, timeout=5) as resp:  # noqa: S310 - loopback
                result = json.loads(resp.read())["data"]["result"]
            value = result[0]["value"][1] if result else None
            time.sleep(1)
        assert value == "1"


@pytest.mark.lab
def test_backup_effects_and_no_secret_left(
    lab: LabState, first_runs: dict[str, PlaybookSummary], tmp_path: Path
) -> None:
    host = lab.hosts[0]
    published = first_runs["configure_backup.yml"].stats["spbe"]["backup"][host.name]
    assert PASSWORD not in json.dumps(first_runs["configure_backup.yml"].stats)
    assert published["retention"] == {"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 6}
    password_file = published["password_file"]
    assert _in_host(lab, "stat", "-c", "%a %U", password_file).strip() == "600 root"
    snapshots = json.loads(
        _in_host(
            lab,
            "restic",
            "--repo",
            published["repository"],
            "--password-file",
            password_file,
            "snapshots",
            "--json",
        )  # fmt: skip
    )
    assert published["first_snapshot_id"] in [s["short_id"] for s in snapshots]
    assert "spbe-backup" in _in_host(lab, "cat", f"/etc/cron.d/spbe-backup-{APP}")
    # The run's private data dir keeps artifacts but not the extra vars, and nowhere the password.
    run_dir = first_runs["configure_backup.yml"].artifact_dir.parents[1]
    assert not (run_dir / "env" / "extravars").exists()
    leaked = [p for p in run_dir.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert leaked == []


@pytest.mark.lab
def test_second_run_changes_nothing(
    lab: LabState, first_runs: dict[str, PlaybookSummary], tmp_path: Path
) -> None:
    again = _run_all(lab, tmp_path)
    for playbook, summary in again.items():
        assert summary.changed == 0, (playbook, {h: s.changed for h, s in summary.hosts.items()})
    assert (
        again["configure_backup.yml"].stats["spbe"]["backup"][lab.hosts[0].name]["first_snapshot_id"]
        == first_runs["configure_backup.yml"].stats["spbe"]["backup"][lab.hosts[0].name]["first_snapshot_id"]
    )
