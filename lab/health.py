"""Is a recorded lab still there? Each part ``lab.json`` names, checked against what really runs.

A lab outlives the process that started it, and nothing of it outlives a reboot: namespaces live in
/run (a tmpfs), its processes and their mounts are gone, and ``lab.json`` then points at dead pids (which
the kernel may have handed to someone else: a pid counts as the lab's only while its command line still
names the lab's folder). ``spbe lab status`` uses this to tell a running lab from a stale one, and
``down`` to say what it found gone before cleaning up.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from lab import incident as incident_mod
from lab import netns
from lab import vpn as vpn_mod
from lab.models import LabState
from lab.procs import is_our_process
from lab.switches import SERVER_MODULE


class Part(BaseModel):
    """One recorded process or namespace of a lab and whether it is still there."""

    model_config = ConfigDict(frozen=True)
    what: str  # e.g. "host pd-app-01 (pid 4711)", "network namespace spbe-demo-pd-app-01"
    alive: bool

    def gone(self) -> str:
        return f"{self.what} was gone"


def _pid(what: str, pid: int | None, *needles: str) -> list[Part]:
    if pid is None:
        return []
    return [Part(what=f"{what} (pid {pid})", alive=is_our_process(pid, *needles))]


def _netns(name: str) -> Part:
    return Part(what=f"network namespace {name}", alive=netns.netns_exists(name))


def parts(state: LabState, folder: Path) -> list[Part]:
    """Every process and namespace ``state`` records, each checked now; ``folder`` is the lab's own dir."""
    found: list[Part] = []
    for host in (*state.hosts, *vpn_mod.gateways(state), *incident_mod.hosts(state)):
        found += _pid(f"host {host.name}", host.init_pid, "lab.sshd", str(host.host_dir))
        found.append(_netns(host.netns))
    if state.vpn is not None:
        found += [_netns(state.vpn.site_client_netns), _netns(state.vpn.dc_server_netns)]
    if state.incident is not None:
        found += [_netns(name) for name in (state.incident.segment_netns, state.incident.csirt_netns,
                                            state.incident.attacker_netns)]  # fmt: skip
    found += _pid("prometheus", state.prometheus_pid, "prometheus", str(folder))
    found += _pid("switch server", state.switch_pid, SERVER_MODULE, str(folder))
    if state.gateway is not None:
        found += _pid("express-gateway", state.gateway.eg_pid, str(folder / "gateway" / "server.js"))
        found += _pid("API backend", state.gateway.backend_pid, "lab.gateway_backend", str(folder))
    return found


def stale(found: list[Part]) -> list[str]:
    """What is recorded but gone, as sentences for the user."""
    return [p.gone() for p in found if not p.alive]


def nothing_runs(found: list[Part]) -> bool:
    """True after a reboot (or when everything was killed): no recorded part is there any more."""
    return not any(p.alive for p in found)
