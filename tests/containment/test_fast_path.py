"""The SSH fast path (``containment.apply = "ssh"``) against the incident lab's real sshd and nftables: it leaves
exactly what the playbook leaves, either path releases what the other contained, a re-run keeps the first
before-state, release restores the toolkit's record (not the host's copy) and checks it, open attacker
sessions are cut, a wrong or unknown host key is refused, and the pool's warm connections behave."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lab import probe
from lab.models import LabIncident
from tests.containment.conftest import AFFECTED, host_run, open_incident, ruleset
from toolkit.bootstrap import App
from toolkit.containment import host, host_ssh
from toolkit.containment.host import InventoryHost
from toolkit.containment.models import IsolateHostRequest, ReleaseRequest
from toolkit.containment.service import ContainmentService
from toolkit.domain.principal import AuthMethod
from toolkit.errors import ActionFailedError, InvalidInputError, UnavailableError
from toolkit.settings import Settings
from toolkit.ssh import remote
from toolkit.ssh.pool import SshPool, alive

pytestmark = pytest.mark.lab
STATE = "/var/lib/spbe/containment"
DROPIN = "/etc/nftables.d/spbe-isolation.nft"
CONF = "/etc/nftables.conf"


def _with(settings: Settings, apply: str) -> Settings:
    return settings.model_copy(update={"containment": settings.containment.model_copy(update={"apply": apply})})


def _target(settings: Settings) -> tuple[InventoryHost, tuple[str, ...]]:
    target = host.inventory_host(settings.effective_inventory(), AFFECTED)
    return target, target.csirt_cidrs()


def _released(incident: LabIncident) -> dict[str, str]:
    return {"ruleset": ruleset(incident), "conf": host_run(incident, "cat", CONF),
            "conf_mode": host_run(incident, "stat", "-c", "%a %U:%G", CONF),
            "leftovers": host_run(incident, "sh", "-c", f"ls -A {STATE} 2>/dev/null; ls {DROPIN} 2>/dev/null; true")}


def _isolated(incident: LabIncident) -> dict[str, str]:
    return {"ruleset": ruleset(incident), "dropin": host_run(incident, "cat", DROPIN),
            "conf": host_run(incident, "cat", CONF),
            "before": host_run(incident, "sh", "-c", f"cat {STATE}/before.nft {STATE}/before-stateless.nft "
                                                     f"{STATE}/before-nftables.conf"),
            "modes": host_run(incident, "stat", "-c", "%n %a %U:%G", DROPIN, CONF, "/etc/nftables.d", STATE)}


def attacker_reaches_web(incident: LabIncident) -> bool:
    return probe.http_get(incident.attacker_netns, incident.affected_address, incident.web_port, 0.5).ok


def test_both_paths_leave_identical_rulesets_files_and_before_state(settings: Settings, app: App,
                                                                    incident: LabIncident) -> None:
    released = _released(incident)
    assert "table inet app_fw" in released["ruleset"] and "spbe_isolation" not in released["ruleset"]
    target, mgmt = _target(settings)
    playbook = _with(settings, "playbook")
    work = settings.state_dir / "containment" / "runs"

    pb_before, pb_applied = host.isolate(playbook, target, "C900", mgmt, work)
    by_playbook = _isolated(incident)
    assert "table inet spbe_isolation" in by_playbook["ruleset"] and not attacker_reaches_web(incident)
    pb_release = host.release(playbook, target, "C900", pb_before, work)
    assert _released(incident) == released

    ssh_before, ssh_applied = host_ssh.isolate(app.ssh, settings, target, "C900", mgmt)
    assert _isolated(incident) == by_playbook  # ruleset, drop-in bytes, nftables.conf, before files, modes
    assert not attacker_reaches_web(incident)
    assert ssh_before == pb_before and ssh_before.ruleset_stateless == released["ruleset"]
    assert ssh_applied["table_sha256"] == pb_applied["table_sha256"]
    assert (ssh_applied["apply"], pb_applied["apply"]) == ("ssh", "playbook")
    ssh_release = host_ssh.release(app.ssh, settings, target, ssh_before)
    assert _released(incident) == released
    assert ssh_release["ruleset_stateless_sha256"] == pb_release["ruleset_stateless_sha256"]
    assert attacker_reaches_web(incident)


def test_either_path_releases_what_the_other_contained(settings: Settings, app: App, incident: LabIncident) -> None:
    released = _released(incident)
    playbook_app = App(_with(settings, "playbook"))
    try:
        for contain, release, how in ((app, playbook_app, "ssh"), (playbook_app, app, "playbook")):
            ticket = open_incident(contain)
            record = ContainmentService(contain).isolate_host(IsolateHostRequest(
                ticket_id=ticket, actor="rina", auth=AuthMethod.LAB_AS, host=AFFECTED))
            assert record.applied["apply"] == how and not attacker_reaches_web(incident)
            done = ContainmentService(release).release(ReleaseRequest(
                ticket_id=ticket, actor="rina", auth=AuthMethod.LAB_AS, record_id=record.id))
            assert done.release["apply"] != how
            assert _released(incident) == released and attacker_reaches_web(incident)
    finally:
        playbook_app.close()


def _attacker_session(incident: LabIncident) -> socket.socket:
    """A TCP connection to the host's sshd opened from the attacker's namespace (its banner read)."""
    made: list[socket.socket] = []

    def run() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        fd = os.open(f"/run/netns/{incident.attacker_netns}", os.O_RDONLY)
        try:
            assert libc.setns(fd, 0x40000000) == 0
        finally:
            os.close(fd)
        made.append(socket.create_connection((incident.affected_address, 22), timeout=2))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    conn = made[0]
    assert conn.recv(64).startswith(b"SSH-2.0")
    return conn


def test_fast_path_cuts_open_sessions_keeps_the_first_before_state_and_restores_the_record(
        settings: Settings, app: App, incident: LabIncident) -> None:
    released = _released(incident)
    ticket = open_incident(app)
    control = _attacker_session(incident)  # an open session answers while the host is not isolated
    control.sendall(b"SSH-2.0-attacker\r\n")
    assert control.recv(64)
    control.close()
    session = _attacker_session(incident)
    service = ContainmentService(app)
    request = IsolateHostRequest(ticket_id=ticket, actor="rina", auth=AuthMethod.LAB_AS, host=AFFECTED)
    record = service.isolate_host(request)
    assert record.applied["apply"] == "ssh" and record.before["ruleset_stateless"] == released["ruleset"]
    # The attacker's already-open session is cut: what it sends gets no answer.
    session.settimeout(1.0)
    session.sendall(b"SSH-2.0-attacker\r\n")
    with pytest.raises(TimeoutError):
        session.recv(64)
    session.close()

    # The attacker changes the firewall while isolated; a re-run keeps the first before-state.
    host_run(incident, "nft", "add", "table", "inet", "attacker_was_here")
    again = service.isolate_host(request)
    assert again.id == record.id and again.applied["changed"] == 0
    assert again.before == record.before
    assert host_run(incident, "cat", f"{STATE}/before-stateless.nft") == released["ruleset"]
    # The host's own copy is tampered with: the release restores the toolkit's record all the same.
    host_run(incident, "sh", "-c", f"echo 'table inet tampered {{ }}' > {STATE}/before.nft; "
                                   f"cp {STATE}/before.nft {STATE}/before-stateless.nft")
    done = service.release(ReleaseRequest(ticket_id=ticket, actor="rina", auth=AuthMethod.LAB_AS,
                                          record_id=record.id))
    assert done.release["apply"] == "ssh"
    assert _released(incident) == released and attacker_reaches_web(incident)


def test_release_fails_unless_the_ruleset_is_the_recorded_one(settings: Settings, app: App,
                                                              incident: LabIncident) -> None:
    released = _released(incident)
    target, mgmt = _target(settings)
    before, _ = host_ssh.isolate(app.ssh, settings, target, "C901", mgmt)
    wrong = before.model_copy(update={"ruleset_stateless": before.ruleset_stateless + "table inet never {\n}\n"})
    with pytest.raises(ActionFailedError, match="differs from the recorded one"):
        host_ssh.release(app.ssh, settings, target, wrong)
    host_ssh.release(app.ssh, settings, target, before)
    assert _released(incident) == released


@pytest.mark.parametrize(("record_id", "mgmt"), [
    ("C1;reboot", None), ("C1\nflush ruleset", None), ("$(reboot)", None),
    ("C1", ("10.0.0.1/32;reboot",)), ("C1", ("$(id)",)), ("C1", ("0.0.0.0/0",)), ("C1", ()),
    ("C1", ("10.0.0.1/32\nflush ruleset",)), ("C1", ("10.0.0.1/32 } ; flush ruleset ; {",)),
])
def test_injection_is_refused_before_the_host_is_touched(settings: Settings, incident: LabIncident,
                                                         record_id: str, mgmt: tuple[str, ...] | None) -> None:
    target, good = _target(settings)
    before = ruleset(incident)
    pool = SshPool()
    with pytest.raises(InvalidInputError):
        host_ssh.isolate(pool, settings, target, record_id, good if mgmt is None else mgmt)
    bad_host = target.model_copy(update={"name": "ir-web-01\nflush ruleset"})
    with pytest.raises(InvalidInputError):
        host_ssh.isolate(pool, settings, bad_host, "C1", good)
    assert pool.connects == 0 and ruleset(incident) == before


def _known_hosts_with(target: InventoryHost, key_line: str, path: Path) -> InventoryHost:
    name = target.address if target.port == 22 else f"[{target.address}]:{target.port}"
    path.write_text(f"{name} {key_line}\n" if key_line else "")
    args = f"-o UserKnownHostsFile={path} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
    return target.model_copy(update={"vars": {**target.vars, "ansible_ssh_common_args": args}})


def test_a_wrong_or_unknown_host_key_is_refused(settings: Settings, incident: LabIncident, tmp_path: Path) -> None:
    target, mgmt = _target(settings)
    before = ruleset(incident)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = " ".join((tmp_path / "other.pub").read_text().split()[:2])
    pool = SshPool()
    wrong = _known_hosts_with(target, other, tmp_path / "known_wrong")
    with pytest.raises(UnavailableError, match="host key does not match"):
        host_ssh.isolate(pool, settings, wrong, "C902", mgmt)
    unknown = _known_hosts_with(target, "", tmp_path / "known_empty")
    with pytest.raises(UnavailableError, match="SSH failed"):
        host_ssh.isolate(pool, settings, unknown, "C902", mgmt)
    assert pool.size() == 0 and ruleset(incident) == before and attacker_reaches_web(incident)


def test_pool_reuses_replaces_dead_and_expires_idle_connections(settings: Settings, incident: LabIncident) -> None:
    target = host_ssh.ssh_target(_target(settings)[0])
    now = [0.0]
    pool = SshPool(idle_s=60, clock=lambda: now[0])

    def echo(client: object) -> bytes:
        return remote.run(client, "echo ok", b"", 10, 100).stdout  # type: ignore[arg-type]

    with pool.session(target) as (first, reused):
        assert not reused and echo(first) == b"ok\n"
    with pool.session(target) as (second, reused):
        assert reused and second is first and echo(second) == b"ok\n"
    transport = first.get_transport()
    assert transport is not None
    transport.close()  # the connection died while idle
    with pool.session(target) as (third, reused):
        assert not reused and third is not first and echo(third) == b"ok\n"
    now[0] += 61  # idle longer than idle_s
    with pool.session(target) as (fourth, reused):
        assert not reused and fourth is not third
    used: list[object] = []

    def fail_in_use() -> None:
        with pool.session(target) as (fifth, _):
            used.append(fifth)
            raise OSError("broken pipe")  # a failure in use: never handed out again

    with pytest.raises(OSError, match="broken pipe"):
        fail_in_use()
    assert used == [fourth]
    assert pool.size() == 0 and pool.connects == 3
    with pool.session(target) as (sixth, reused):
        assert not reused and echo(sixth) == b"ok\n"
    pool.close()
    assert pool.size() == 0 and pool.connects == 4


def test_pool_closes_idle_connections_by_itself(settings: Settings, incident: LabIncident) -> None:
    target = host_ssh.ssh_target(_target(settings)[0])
    pool = SshPool(idle_s=0.2)
    with pool.session(target) as (client, _):
        assert remote.run(client, "true", b"", 10, 10).rc == 0
    assert pool.size() == 1
    deadline = time.monotonic() + 5
    while pool.size() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pool.size() == 0 and not alive(client)  # the reaper closed it, nobody used the pool meanwhile
    never_kept = SshPool(idle_s=0)
    with never_kept.session(target) as (client, _):
        assert remote.run(client, "true", b"", 10, 10).rc == 0
    assert never_kept.size() == 0 and not alive(client)


def _account(incident: LabIncident, user: str, public_key: str, sudo: bool) -> None:
    """A local admin account on the host that logs in with ``public_key`` (and may sudo to root, or not)."""
    host_run(incident, "sh", "-c", 'id "$1" > /dev/null 2>&1 || useradd -m -s /bin/sh "$1"; '
             'mkdir -p "/home/$1/.ssh" && printf "%s\\n" "$2" > "/home/$1/.ssh/authorized_keys" && '
             'chown -R "$1:" "/home/$1/.ssh" && chmod 700 "/home/$1/.ssh" && '
             'chmod 600 "/home/$1/.ssh/authorized_keys"', "sh", user, public_key)
    if sudo:
        host_run(incident, "sh", "-c", 'printf "%s ALL=(root) NOPASSWD: ALL\\n" "$1" > "/etc/sudoers.d/$1" && '
                 'chmod 0440 "/etc/sudoers.d/$1"', "sh", user)


def test_an_admin_account_works_through_sudo_and_one_without_sudo_is_refused(
        settings: Settings, incident: LabIncident, tmp_path: Path) -> None:
    target, mgmt = _target(settings)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "ops")], check=True)
    public_key = (tmp_path / "ops.pub").read_text().strip()
    _account(incident, "spbeops", public_key, sudo=True)
    _account(incident, "nosudo", public_key, sudo=False)
    released = _released(incident)

    def as_user(user: str) -> InventoryHost:
        return target.model_copy(update={"vars": {**target.vars, "ansible_user": user,
                                                  "ansible_ssh_private_key_file": str(tmp_path / "ops")}})

    pool = SshPool()
    try:
        before, _ = host_ssh.isolate(pool, settings, as_user("spbeops"), "C903", mgmt)
        assert before.ruleset_stateless == released["ruleset"] and "spbe_isolation" in ruleset(incident)
        assert not attacker_reaches_web(incident)
        host_ssh.release(pool, settings, as_user("spbeops"), before)
        assert _released(incident) == released
        with pytest.raises(ActionFailedError, match="sudo"):
            host_ssh.isolate(pool, settings, as_user("nosudo"), "C904", mgmt)
        assert _released(incident) == released and attacker_reaches_web(incident)
    finally:
        pool.close()


def test_a_warm_connection_that_died_does_not_fail_the_containment(settings: Settings, incident: LabIncident) -> None:
    """The host end of a pooled connection goes away (the transport may or may not have noticed yet):
    the next containment still runs, on a new connection."""
    released = _released(incident)
    target, mgmt = _target(settings)
    pool = SshPool()
    try:
        before, _ = host_ssh.isolate(pool, settings, target, "C905", mgmt)
        with pool.session(host_ssh.ssh_target(target)) as (client, reused):
            assert reused
        transport = client.get_transport()
        assert transport is not None
        transport.sock.shutdown(socket.SHUT_RDWR)  # the flow is gone; paramiko's thread learns it when it reads
        result = host_ssh.release(pool, settings, target, before)
        assert pool.connects == 2 and result["timings"]["connection_reused"] is False
        assert _released(incident) == released and attacker_reaches_web(incident)
    finally:
        pool.close()
