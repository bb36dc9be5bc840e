"""The lab's CSIRT incident part: an affected host, an attacker and a CSIRT management host on one segment.

Topology (the lab's own 10.213.<octet>.0/24; hosts 0..42 keep the addresses below)::

    control node ──/30 (.172)── ir-web-01 (lab host: sshd, web server, nftables)
                                   │ eth1 .177
    ir-seg netns:  br0 ────────────┼──────────────┐
                                   │              │
                       ir-csirt .178          ir-attacker .186      (segment 10.213.<octet>.176/28)

The affected host is an ordinary lab host (Debian overlay copy, sshd, the management /30 ansible uses), so
containment playbooks run on it as on a real server. Its second interface ``eth1`` sits on a bridge that
lives in a namespace of its own (never the root namespace's forwarding) together with the attacker and the
CSIRT management namespaces. A web server (``python3 -m http.server`` from the host's own Debian, started
with ``start-stop-daemon``) listens on the host's segment address only, so "the attacker reaches the web
server" and "after isolation it cannot, while CSIRT still reaches SSH" are checked by real traffic.

Everything is named from the lab name and octet, so ``down`` works from names alone after a crash.
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
from collections.abc import Callable
from typing import Any

from lab import netns, probe, sshd
from lab.models import SUBNET_PREFIX, LabHost, LabIncident, LabState
from toolkit.errors import ConfigurationError, UnavailableError

AFFECTED_HOST = "ir-web-01"
AFFECTED_INDEX = 43  # management /30 10.213.<octet>.172/30
SEGMENT_OFFSET = 176  # 10.213.<octet>.176/28: the /30s of indices 44..47, never given to hosts
MAX_LAB_HOSTS = 43
CSIRT_GROUP = "csirt_targets"
WEB_PORT = 80
WEB_ROOT = "/var/www/html"
WEB_PIDFILE = "/run/spbe-ir-web.pid"

StartHost = Callable[[int, str], LabHost]


def segment(octet: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{SUBNET_PREFIX}.{octet}.{SEGMENT_OFFSET}/28")


def namespaces(lab: str) -> tuple[str, str, str]:
    """(segment, csirt, attacker) namespace names of a lab."""
    return f"spbe-{lab}-ir-seg", f"spbe-{lab}-ir-csirt", f"spbe-{lab}-ir-attacker"


def _ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise UnavailableError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}", argv=list(args))


def _new_netns(name: str) -> None:
    _ip("netns", "add", name)
    _ip("-n", name, "link", "set", "lo", "up")


def up(lab: str, octet: int, start_host: StartHost, host_count: int) -> LabIncident:
    """Start the affected host (through the lab's own host starter), wire the segment, start the web server."""
    if host_count > MAX_LAB_HOSTS:
        raise ConfigurationError(
            f"a lab with the incident part holds at most {MAX_LAB_HOSTS} hosts, not {host_count}", hosts=host_count)
    net = segment(octet)
    seg_ns, csirt_ns, attacker_ns = namespaces(lab)
    affected = start_host(AFFECTED_INDEX, AFFECTED_HOST)
    addresses = {"affected": str(net.network_address + 1), "csirt": str(net.network_address + 2),
                 "attacker": str(net.network_address + 10)}  # fmt: skip
    _new_netns(seg_ns)
    _ip("-n", seg_ns, "link", "add", "br0", "type", "bridge")
    _ip("-n", seg_ns, "link", "set", "br0", "up")
    for ns in (csirt_ns, attacker_ns):
        _new_netns(ns)
    members = ((affected.netns, "eth1", addresses["affected"], "v-affected"),
               (csirt_ns, "eth0", addresses["csirt"], "v-csirt"),
               (attacker_ns, "eth0", addresses["attacker"], "v-attacker"))  # fmt: skip
    for member_ns, inner, address, outer in members:
        # Created inside the segment namespace and moved straight into the member: nothing in the root one.
        _ip("-n", seg_ns, "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", member_ns)
        _ip("-n", seg_ns, "link", "set", outer, "master", "br0")
        _ip("-n", seg_ns, "link", "set", outer, "up")
        _ip("-n", member_ns, "addr", "add", f"{address}/{net.prefixlen}", "dev", inner)
        _ip("-n", member_ns, "link", "set", inner, "up")
    incident = LabIncident(
        affected=affected, segment_cidr=str(net), affected_address=addresses["affected"],
        csirt_address=addresses["csirt"], attacker_address=addresses["attacker"],
        segment_netns=seg_ns, csirt_netns=csirt_ns, attacker_netns=attacker_ns, web_port=WEB_PORT,
    )  # fmt: skip
    start_web_server(incident)
    return incident


def start_web_server(incident: LabIncident) -> None:
    """The affected host's web application, as a daemon of the host itself (it dies with the host)."""
    host = incident.affected
    if host.init_pid is None:
        raise ConfigurationError(f"lab host {host.name} has no recorded init pid")
    argv = ["start-stop-daemon", "--start", "--quiet", "--background", "--make-pidfile",
            "--pidfile", WEB_PIDFILE, "--exec", "/usr/bin/python3", "--",
            "-m", "http.server", "--bind", incident.affected_address, "--directory", WEB_ROOT,
            str(incident.web_port)]  # fmt: skip
    result = sshd.host_exec(host.init_pid, argv, timeout_s=20)
    if result.returncode not in (0, 1):  # 1: already running
        raise UnavailableError(f"web server on {host.name} did not start: {result.stderr.strip()}")
    deadline = time.monotonic() + 15
    while not probe.tcp(host.netns, incident.affected_address, incident.web_port, 0.5).ok:
        if time.monotonic() > deadline:
            raise UnavailableError(f"web server on {host.name} does not answer on {incident.affected_address}")
        time.sleep(0.05)


def down(lab: str, octet: int) -> None:
    """Remove the incident part by name; idempotent, safe on a half-built lab or one whose lab.json is gone."""
    for name in namespaces(lab):
        netns.kill_all(name)
        if netns.netns_exists(name):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    netns.destroy(netns.plan(lab, AFFECTED_HOST, AFFECTED_INDEX, octet))


def hosts(state: LabState) -> tuple[LabHost, ...]:
    return (state.incident.affected,) if state.incident else ()


def inventory_groups(state: LabState) -> dict[str, Any]:
    """The ``csirt_targets`` group: the affected host, with the CSIRT management addresses containment keeps
    open (the CSIRT host and the control node's side of the host's /30, from which ansible connects)."""
    incident = state.incident
    if incident is None:
        return {}
    host = incident.affected
    host_vars = host.ansible_vars(state.known_hosts) | {
        "spbe_mgmt_cidrs": [f"{host.root_address}/32"],
        "spbe_csirt_mgmt_cidrs": [f"{incident.csirt_address}/32", f"{host.root_address}/32"],
        "spbe_segment_address": incident.affected_address,
    }
    return {CSIRT_GROUP: {"hosts": {host.name: host_vars}}}
