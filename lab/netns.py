"""Network namespaces and veth pairs: one isolated "machine" per lab host.

Everything here is named from the lab name and host index, so a fresh process can find and remove what
an earlier, crashed process created. Only addresses inside 10.213.0.0/16 are ever configured, and only on
interfaces this module created.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass

from lab.models import SUBNET_PREFIX
from toolkit.errors import ConfigurationError, UnavailableError


@dataclass(frozen=True)
class NetnsPlan:
    """Names and addresses of one host's namespace, computed before anything is created."""

    netns: str
    veth_root: str
    veth_peer: str
    root_address: str
    host_address: str
    prefixlen: int = 30


def plan(lab: str, host: str, index: int, subnet_octet: int) -> NetnsPlan:
    """Host ``index`` of a lab gets the ``index``-th /30 of 10.213.<octet>.0/24 (.1 root side, .2 host).

    Interface names must fit IFNAMSIZ (15 chars), hence the short ``spbe-<octet>-<index>`` form.
    """
    if not 0 <= index < 64:
        raise ConfigurationError("a lab holds at most 64 hosts", index=index)
    base = ipaddress.IPv4Address(f"{SUBNET_PREFIX}.{subnet_octet}.0") + 4 * index
    return NetnsPlan(
        netns=f"spbe-{lab}-{host}",
        veth_root=f"spbe-{subnet_octet}-{index}",
        veth_peer=f"spbe-{subnet_octet}-{index}p",
        root_address=str(base + 1),
        host_address=str(base + 2),
    )


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = ["ip", "-n", netns, *args] if netns else ["ip", *args]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise UnavailableError(f"{' '.join(argv)} failed: {proc.stderr.strip()}", argv=argv)
    return proc


def netns_exists(name: str) -> bool:
    return os.path.exists(f"/run/netns/{name}")


def link_exists(name: str) -> bool:
    return _ip("link", "show", "dev", name, check=False).returncode == 0


def addresses_in_use(octet: int) -> list[str]:
    """Interfaces in the root namespace already holding an address of 10.213.<octet>.0/24.

    A hit means another lab (or something else entirely) owns that subnet; routing two /30s of the same
    range through different veths would make one of them unreachable, so the caller refuses.
    """
    net = ipaddress.IPv4Network(f"{SUBNET_PREFIX}.{octet}.0/24")
    proc = _ip("-j", "addr", "show", check=False)
    owners: list[str] = []
    for link in json.loads(proc.stdout or "[]"):
        for info in link.get("addr_info", []):
            if info.get("family") == "inet" and ipaddress.IPv4Address(info["local"]) in net:
                owners.append(str(link.get("ifname")))
    return owners


def foreign_owners(octet: int, lab: str) -> list[str]:
    """`addresses_in_use`, less the interfaces whose veth peer lives in one of ``lab``'s own namespaces
    (``spbe-<lab>-*``: what a crashed run of the same lab left, which its own clean-up removes).

    Asked *before* a lab clears its remnants: two names can hash to one /24, and clearing by derived
    interface names (``spbe-<octet>-<index>``) would otherwise delete the other lab's links."""
    listed = json.loads(_ip("-j", "netns", "list", check=False).stdout or "[]")
    names = {entry["id"]: entry["name"] for entry in listed if "id" in entry}
    net = ipaddress.IPv4Network(f"{SUBNET_PREFIX}.{octet}.0/24")
    owners: list[str] = []
    for link in json.loads(_ip("-j", "addr", "show", check=False).stdout or "[]"):
        if not any(i.get("family") == "inet" and ipaddress.IPv4Address(i["local"]) in net
                   for i in link.get("addr_info", [])):
            continue
        peer = names.get(link.get("link_netnsid"))
        if peer is None or not peer.startswith(f"spbe-{lab}-"):
            owners.append(f"{link.get('ifname')} ({peer or 'no lab namespace'})")
    return owners


def create(p: NetnsPlan) -> None:
    """Create the namespace, the veth pair and the addresses; loopback up on the inside."""
    _ip("netns", "add", p.netns)
    _ip("link", "add", p.veth_root, "type", "veth", "peer", "name", p.veth_peer)
    _ip("link", "set", p.veth_peer, "netns", p.netns)
    _ip("link", "set", p.veth_peer, "name", "eth0", netns=p.netns)
    _ip("addr", "add", f"{p.root_address}/{p.prefixlen}", "dev", p.veth_root)
    _ip("addr", "add", f"{p.host_address}/{p.prefixlen}", "dev", "eth0", netns=p.netns)
    _ip("link", "set", p.veth_root, "up")
    _ip("link", "set", "lo", "up", netns=p.netns)
    _ip("link", "set", "eth0", "up", netns=p.netns)
    # Deliberately no default route: the host can talk to the control node's side of the /30 and nothing
    # else, even if the root namespace forwards packets.


def pids(netns: str) -> list[int]:
    if not netns_exists(netns):
        return []
    proc = _ip("netns", "pids", netns, check=False)
    return [int(tok) for tok in proc.stdout.split() if tok.isdigit()]


def kill_all(netns: str, timeout_s: float = 10.0) -> None:
    """SIGKILL every process in the namespace and wait until none is left.

    Killing the pid-namespace init takes its whole namespace with it; the loop catches anything that
    entered the netns another way (``ip netns exec`` by a test, say).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        left = pids(netns)
        if not left:
            return
        if time.monotonic() > deadline:
            raise UnavailableError(f"processes survive in netns {netns}: {left}", netns=netns, pids=left)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def destroy(p: NetnsPlan) -> None:
    """Remove everything ``create`` made; idempotent and safe on a half-created namespace."""
    kill_all(p.netns)
    if link_exists(p.veth_root):
        _ip("link", "del", p.veth_root, check=False)
    if netns_exists(p.netns):
        _ip("netns", "del", p.netns)
