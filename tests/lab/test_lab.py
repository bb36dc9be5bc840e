"""The lab itself: isolated hosts that look like small Debian servers, and a clean teardown."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from lab import netns, sshd
from lab.cli import lab_group
from lab.manager import LabManager
from lab.models import LabState, subnet_index
from tests.support.cli import Spbe
from toolkit.errors import ConfigurationError

pytestmark = pytest.mark.lab


def _ssh(state: LabState, *remote: str) -> subprocess.CompletedProcess[str]:
    host = state.hosts[0]
    argv = [
        "ssh", "-i", str(host.private_key), "-p", str(host.port),
        "-o", f"UserKnownHostsFile={state.known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", f"{host.user}@{host.address}", "--", *remote,
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def test_host_answers_ssh_with_the_recorded_host_key(lab: LabState) -> None:
    result = _ssh(lab, "cat", "/etc/debian_version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("12.")


def test_wrong_known_host_key_is_refused(lab: LabState, tmp_path: Path) -> None:
    bad = tmp_path / "known_hosts"
    other = sshd.generate_key(tmp_path / "other", "other")
    key_type, key = Path(f"{other}.pub").read_text(encoding="utf-8").split()[:2]
    bad.write_text(f"{lab.hosts[0].address} {key_type} {key}\n", encoding="utf-8")
    result = _ssh(lab.model_copy(update={"known_hosts": bad}), "true")
    assert result.returncode != 0
    assert "HOST IDENTIFICATION HAS CHANGED" in result.stderr or "verification failed" in result.stderr


def test_host_has_its_own_namespaces_and_init(lab: LabState) -> None:
    host = lab.hosts[0]
    assert sshd.host_exec(host.init_pid, ["cat", "/proc/1/comm"]).stdout.strip() == "init"
    # UTS namespace: the target has its own name; this machine's name is never the lab host's.
    assert sshd.host_exec(host.init_pid, ["hostname"]).stdout.strip() != socket.gethostname()
    devices = sshd.host_exec(host.init_pid, ["ls", "/dev"]).stdout.split()
    assert "null" in devices and "vda" not in devices and "sda" not in devices
    routes = sshd.host_exec(host.init_pid, ["ip", "-4", "route"]).stdout
    assert "default" not in routes  # the target can reach its /30 and nothing else


def test_writes_stay_in_the_hosts_copy(lab: LabState) -> None:
    host = lab.hosts[0]
    assert sshd.host_exec(host.init_pid, ["touch", "/etc/spbe-lab-written"]).returncode == 0
    assert not (lab.base_rootfs / "etc/spbe-lab-written").exists()


def test_inventory_has_the_two_groups(lab: LabState) -> None:
    inventory = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))["all"]["children"]
    host = lab.hosts[0]
    pool = inventory["pusat_data_pool"]["hosts"][host.name]
    assert pool["ansible_host"] == host.address and pool["ansible_user"] == "root"
    assert "StrictHostKeyChecking=yes" in pool["ansible_ssh_common_args"]
    assert inventory["monitoring"]["hosts"]["monitor"]["ansible_connection"] == "local"
    assert inventory["monitoring"]["vars"]["spbe_prometheus_file_sd_dir"] == str(lab.file_sd_dir)
    assert (host.private_key.stat().st_mode & 0o777) == 0o600


def test_prometheus_is_ready_on_loopback(lab: LabState) -> None:
    assert lab.prometheus_url is not None and lab.prometheus_url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{lab.prometheus_url}/-/ready", timeout=5) as resp:  # noqa: S310
        assert resp.status == 200


def test_second_lab_runs_alongside_and_goes_down_cleanly(lab: LabState, tmp_path: Path) -> None:
    assert subnet_index("test2") != subnet_index(lab.name)
    manager = LabManager(tmp_path, "test2", with_prometheus=False)
    state = manager.up()
    try:
        assert state.subnet != lab.subnet
        assert _ssh(state, "true").returncode == 0
        assert _ssh(lab, "true").returncode == 0
    finally:
        manager.down()
    host = state.hosts[0]
    assert not netns.netns_exists(host.netns)
    assert not netns.link_exists(host.veth_root)
    assert not (tmp_path / "test2").exists()
    manager.down()  # idempotent
    assert manager.status() is None


def test_cli_up_status_down(tmp_path: Path) -> None:
    runner = Spbe(command=lab_group, catch_exceptions=True)
    at = ["--lab-dir", str(tmp_path)]
    result = runner(*at, "status", "--name", "clitest", "--json")
    assert result.exit_code == 0 and result.output.strip() == "null"
    try:
        result = runner(*at, "up", "--name", "clitest", "--json")
        assert result.exit_code == 0, result.output
        state = json.loads(result.output)
        assert state["hosts"][0]["netns"] == "spbe-clitest-pd-app-01"
        result = runner(*at, "status", "--name", "clitest")
        assert result.exit_code == 0 and "pd-app-01" in result.output
    finally:
        result = runner(*at, "down", "--name", "clitest")
    assert result.exit_code == 0
    assert not netns.netns_exists("spbe-clitest-pd-app-01")


def test_down_cleans_a_half_up_lab_without_state(tmp_path: Path) -> None:
    """A crash between `ip netns add` and writing lab.json must not leave anything behind."""
    manager = LabManager(tmp_path, "halfup", with_prometheus=False)
    plan = netns.plan("halfup", "pd-app-01", 0, subnet_index("halfup"))
    netns.create(plan)
    (tmp_path / "halfup" / "hosts").mkdir(parents=True)
    assert manager.status() is None
    manager.down()
    assert not netns.netns_exists(plan.netns)
    assert not netns.link_exists(plan.veth_root)
    assert not (tmp_path / "halfup").exists()


def test_a_name_sharing_another_labs_subnet_is_refused_before_anything_is_removed(tmp_path: Path) -> None:
    """Two lab names can hash to one /24. The second lab's ``up`` must refuse without clearing anything:
    its clean-up removes interfaces by their derived names, which are the first lab's."""
    first = "coll-a"
    second = next(f"coll-b{n}" for n in range(10_000) if subnet_index(f"coll-b{n}") == subnet_index(first))
    owner = LabManager(tmp_path / "one", first, switches=0, vpn=False, with_gateway=False, with_prometheus=False)
    state = owner.up()
    try:
        intruder = LabManager(tmp_path / "two", second, switches=0, vpn=False, with_gateway=False,
                              with_prometheus=False)
        with pytest.raises(ConfigurationError, match="another lab name collides"):
            intruder.up()
        host = state.hosts[0]
        assert netns.link_exists(host.veth_root), "the first lab's link is untouched"
        with socket.create_connection((host.address, 22), timeout=10) as conn:
            assert conn.recv(8).startswith(b"SSH-"), "and its host still answers"
    finally:
        owner.down()
