"""LabManager: bring a named lab of target hosts up from a clean copy, report it, tear it down.

Layout under ``<lab_dir>/<name>/``: ``lab.json`` (LabState), ``inventory.yml``, ``known_hosts``,
``id_ed25519`` (the control node's key), ``hosts/<host>/`` (host key, overlay upper/work/merged, init log)
``prometheus/`` (config, file_sd/, rules/, data/), ``switches/`` (the simulated Cisco switches, see
``lab.switches``), and for spbe ``spbe.toml`` and ``network.yml`` (see ``lab.config_file``). Nothing
outside that directory, the base-rootfs cache, the lab's network namespaces and veths, and loopback ports
(Prometheus, one per switch) is ever touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from lab import config_file, control_files, health, netns, prometheus, rootfs, sshd
from lab import incident as incident_mod
from lab import switches as switches_mod
from lab import vpn as vpn_mod
from lab.dataplane import LabDataPlane
from lab.gateway import GatewayLab
from lab.gateway import available as gateway_available
from lab.models import LAB_NAME_RE, SUBNET_PREFIX, LabHost, LabState, subnet_index
from lab.procs import keep, sweep
from lab.procs import terminate as _terminate
from toolkit.errors import ConfigurationError, UnavailableError

DEFAULT_HOSTS: tuple[str, ...] = ("pd-app-01",)
MAX_POOL_HOSTS = 8  # /30s 0..7 of the lab's /24; the incident and VPN hosts sit far above


def _overlay_works(scratch: Path, lower: Path) -> bool:
    """Probe overlayfs in a throw-away mount namespace; the mount vanishes with the probe process."""
    for sub in ("upper", "work", "merged"):
        (scratch / sub).mkdir(parents=True, exist_ok=True)
    opts = f"lowerdir={lower},upperdir={scratch / 'upper'},workdir={scratch / 'work'}"
    argv = ["unshare", "--mount", "--propagation", "private", "--",
            "mount", "-t", "overlay", "overlay", "-o", opts, str(scratch / "merged")]  # fmt: skip
    ok = subprocess.run(argv, capture_output=True, check=False).returncode == 0
    rootfs.remove_tree(scratch)
    return ok


class LabManager:
    """Owns one named lab. Two managers with different names can run side by side."""

    def __init__(
        self,
        lab_dir: Path,
        name: str = "demo",
        *,
        hosts: Sequence[str] = DEFAULT_HOSTS,
        cache_dir: Path = rootfs.DEFAULT_CACHE_DIR,
        with_prometheus: bool = True,
        ssh_timeout_s: float = 30.0,
        switches: int = 3,
        vpn: bool = True,
        incident: bool = False,
        with_gateway: bool = True,
    ) -> None:
        if not LAB_NAME_RE.fullmatch(name):
            raise ConfigurationError(f"invalid lab name {name!r}: lower-case, digits, '-', ≤ 16 chars")
        reserved = {incident_mod.AFFECTED_HOST, vpn_mod.SITE_GATEWAY, vpn_mod.DC_GATEWAY}
        bad = [h for h in hosts if not LAB_NAME_RE.fullmatch(h) or h in reserved]
        if bad or len(set(hosts)) != len(hosts) or len(hosts) > MAX_POOL_HOSTS:
            raise ConfigurationError(f"invalid pool hosts {list(hosts)!r}: at most {MAX_POOL_HOSTS} distinct names of "
                                     "lower-case letters, digits and '-' (<= 16 chars), none of the lab's own hosts",
                                     hosts=list(hosts))
        self.lab_dir = Path(lab_dir).resolve()
        self.name = name
        self.hosts = tuple(hosts)
        self.cache_dir = cache_dir
        self.with_prometheus = with_prometheus and shutil.which("prometheus") is not None
        self.ssh_timeout_s = ssh_timeout_s
        self.octet = subnet_index(name)
        if switches < 0:
            raise ConfigurationError(f"switches must be 0 or more, not {switches}", switches=switches)
        self.switches = switches
        self.vpn = vpn  # the two VPN gateways and their LANs (lab.vpn)
        self.incident = incident  # the affected host, attacker and CSIRT host (lab.incident)
        # Built even for switches=0, so down() also stops switches a previous `up` started.
        self.switch_lab = switches_mod.SwitchLab(self.lab_dir, name, count=max(switches, 1))
        self._children: list[subprocess.Popen[bytes]] = []
        self.with_gateway = with_gateway  # Express Gateway + provider backend for SPLP (lab.gateway)
        self.gateway_lab = GatewayLab(self.lab_dir, name, cache_dir)

    @property
    def dir(self) -> Path:
        return self.lab_dir / self.name

    @property
    def state_file(self) -> Path:
        return self.dir / "lab.json"

    # ------------------------------------------------------------------ public API

    def up(self) -> LabState:
        """Start the lab from a clean copy of the base (an existing lab of this name is removed first)."""
        foreign = netns.foreign_owners(self.octet, self.name)
        if foreign:  # checked before the clean-up below, which removes interfaces by their derived names
            raise ConfigurationError(
                f"{SUBNET_PREFIX}.{self.octet}.0/24 is already in use by {foreign}; another lab name collides",
                interfaces=foreign)
        self.down()
        self._check_collisions()
        base = rootfs.ensure_base(self.cache_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        use_overlay = _overlay_works(self.dir / ".overlay-probe", base)
        client_key = sshd.generate_key(self.dir / "id_ed25519", f"spbe-lab-{self.name}")
        prom_dir = self.dir / "prometheus"
        file_sd, rules = prom_dir / "file_sd", prom_dir / "rules"
        for path in (file_sd, rules):
            path.mkdir(parents=True, exist_ok=True)
        state = LabState(
            name=self.name,
            lab_dir=self.lab_dir,
            subnet=f"{SUBNET_PREFIX}.{self.octet}.0/24",
            base_rootfs=base,
            hosts=(),
            inventory=self.dir / "inventory.yml",
            known_hosts=self.dir / "known_hosts",
            file_sd_dir=file_sd,
            rules_dir=rules,
            created_at=datetime.now(UTC),
        )
        try:
            for index, host in enumerate(self.hosts):
                lab_host = self._start_host(index, host, base, client_key, use_overlay)
                # Written after every host so a crash mid-way leaves a state that down() can act on.
                state = state.model_copy(update={"hosts": (*state.hosts, lab_host)})
                self._write_state(state)
            if self.vpn:
                vpn = vpn_mod.up(self.name, self.octet, lambda index, host: self._start_host(
                    index, host, base, client_key, use_overlay), len(self.hosts))
                state = state.model_copy(update={"vpn": vpn})
                self._write_state(state)
            if self.incident:
                incident = incident_mod.up(self.name, self.octet, lambda index, host: self._start_host(
                    index, host, base, client_key, use_overlay), len(self.hosts))
                state = state.model_copy(update={"incident": incident})
                self._write_state(state)
            control_files.write_known_hosts(state)
            if self.with_prometheus:
                state = prometheus.start_prometheus(state, self._children)
                self._write_state(state)
            if self.switches:
                state = self._start_switches(state)
                self._write_state(state)
            if self.with_gateway:
                state = self._start_gateway(state)
                self._write_state(state)
            control_files.write_inventory(state)
            state = config_file.write(state)
            self._write_state(state)
        except BaseException:
            self.down()
            raise
        return state

    def status(self) -> LabState | None:
        """The recorded state, or None when this lab is not up or its state file cannot be read (a crash
        mid-write, an older version's file): ``down`` then still cleans up, by names."""
        try:
            return LabState.model_validate_json(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # a missing file, or one pydantic refuses (ValidationError is a ValueError)
            return None

    def has_remains(self) -> bool:
        """Is anything of this lab left without a readable state file (its folder, a namespace)?"""
        return self.dir.exists() or any(netns.netns_exists(n) for n in self._known_netns())

    def parts(self, state: LabState) -> list[health.Part]:
        """Each recorded process and namespace of ``state``, and whether it is still there (`lab.health`)."""
        return health.parts(state, self.dir)

    def running(self, state: LabState) -> dict[str, bool]:
        """Per host: is anything still alive in its namespace (False after a crash or reboot)."""
        return {h.name: bool(netns.pids(h.netns)) for h in state.hosts}

    def switches_running(self, state: LabState) -> bool:
        """Is the lab's switch server still alive (all switches live in that one process)."""
        switch_state = self.switch_lab.status()
        return bool(state.switches) and switch_state is not None and self.switch_lab.running(switch_state)

    def down(self) -> list[str]:
        """Kill everything in the lab's namespaces, delete netns and veths, remove the copies.

        Idempotent and works from names alone, so it also cleans a lab whose state file was lost. Returns
        what it found stale and cleaned up (recorded parts already gone after a reboot or a crash, processes
        left where the records no longer reach, mounts, a state file it could not read); empty when the lab
        was absent or fully up.
        """
        state = self.status()
        notes: list[str] = []
        if state is not None:
            notes += health.stale(self.parts(state))
        elif self.state_file.exists():
            notes.append(f"state file {self.state_file} could not be read")
        remains = [] if state else [n for n in self._known_netns() if netns.netns_exists(n)]
        if state is None and self.dir.exists():
            notes.append(f"{self.dir} was there without a usable state file")
        names = {h.name for h in state.hosts} if state else set()
        names.update(self.hosts)
        if state and state.prometheus_pid:
            _terminate(state.prometheus_pid, str(self.dir))
        self.switch_lab.down()
        # The quality test's data plane (created on demand, named after the lab) goes with the lab.
        LabDataPlane(self.lab_dir, self.name, self.octet).down()
        self.gateway_lab.down()
        vpn_mod.down(self.name, self.octet)
        incident_mod.down(self.name, self.octet)
        ordered = list(self.hosts) + sorted(names - set(self.hosts))
        for index, host in enumerate(ordered):
            recorded = next((h for h in state.hosts if h.name == host), None) if state else None
            plan = netns.plan(self.name, host, index, self.octet)
            if recorded is not None:  # trust what was created over what would be created now
                plan = netns.NetnsPlan(recorded.netns, recorded.veth_root, "", "", "")
            netns.destroy(plan)
        for child in self._children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self._children.clear()
        notes += sweep(f"{self.dir}/")  # e.g. a host whose namespace was deleted under it keeps running
        notes += [f"unmounted leftover {point}" for point in rootfs.remove_tree(self.dir)]
        if remains:
            notes.append(f"removed namespaces left without a state file: {', '.join(remains)}")
        return notes

    # ------------------------------------------------------------------ internals

    def _known_netns(self) -> list[str]:
        """Every namespace name this lab may have made, computed from its name (no state file needed)."""
        hosts = [netns.plan(self.name, host, index, self.octet).netns for index, host in enumerate(self.hosts)]
        layout = vpn_mod.layout(self.name, self.octet)
        plane = LabDataPlane(self.lab_dir, self.name, self.octet)
        return [*hosts, layout.site_netns, layout.dc_netns, layout.site_client_netns, layout.dc_server_netns,
                *incident_mod.namespaces(self.name), netns.plan(self.name, incident_mod.AFFECTED_HOST,
                                                                incident_mod.AFFECTED_INDEX, self.octet).netns,
                plane.core, plane.dc]

    def _check_collisions(self) -> None:
        """Refuse to start when another lab (or anything else) already uses this lab's /24."""
        for other in self.lab_dir.glob("*/lab.json"):
            if other.parent.name == self.name:
                continue
            try:
                subnet = json.loads(other.read_text(encoding="utf-8")).get("subnet")
            except (OSError, ValueError):
                continue
            if subnet == f"{SUBNET_PREFIX}.{self.octet}.0/24":
                raise ConfigurationError(
                    f"lab {self.name!r} and lab {other.parent.name!r} both map to {subnet}; rename one",
                    subnet=subnet,
                )
        owners = netns.addresses_in_use(self.octet)
        if owners:
            raise ConfigurationError(
                f"{SUBNET_PREFIX}.{self.octet}.0/24 is already in use by {owners}; another lab name collides",
                interfaces=owners,
            )

    def _start_host(self, index: int, host: str, base: Path, client_key: Path, overlay: bool) -> LabHost:
        plan = netns.plan(self.name, host, index, self.octet)
        host_dir = self.dir / "hosts" / host
        upper, work, merged = host_dir / "upper", host_dir / "work", host_dir / "merged"
        for path in (upper, work, merged):
            path.mkdir(parents=True, exist_ok=True)
        if not overlay:  # fallback: a full private copy (reflinked where the filesystem can)
            merged.rmdir()
            subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(merged)], check=True)
        host_key = sshd.generate_key(host_dir / "ssh_host_ed25519_key", f"{host}-hostkey")
        sshd.seed_rootfs(upper if overlay else merged, host, plan.host_address, host_key,
                         Path(f"{client_key}.pub"))  # fmt: skip
        netns.create(plan)
        proc = sshd.launch(plan.netns, merged, host, host_dir / "init.log",
                           (base, upper, work) if overlay else None)  # fmt: skip
        self._children.append(proc)
        keep(proc)  # the lab outlives this manager (`spbe lab up` returns); see procs.keep
        lab_host = LabHost(
            name=host,
            address=plan.host_address,
            root_address=plan.root_address,
            private_key=client_key,
            netns=plan.netns,
            veth_root=plan.veth_root,
            host_dir=host_dir,
            init_pid=proc.pid,
            overlay=overlay,
        )
        try:
            sshd.wait_for_ssh(plan.host_address, 22, self.ssh_timeout_s, proc)
        except TimeoutError as exc:
            log = (host_dir / "init.log").read_text(encoding="utf-8", errors="replace")[-2000:]
            raise UnavailableError(f"lab host {host} did not start: {exc}", log=log) from exc
        return lab_host

    def _start_switches(self, state: LabState) -> LabState:
        """The switch simulators are optional: without fake-switches the lab still comes up, with a warning."""
        if not switches_mod.available():
            warning = (
                f"switch simulators skipped: fake-switches is not installed for {sys.executable}"
                " (run scripts/switch_sim_packages.sh)"
            )
            return state.model_copy(update={"warnings": (*state.warnings, warning)})
        switch_state = self.switch_lab.up()
        return state.model_copy(
            update={
                "switches": switch_state.switches,
                "switch_pid": switch_state.pid,
                "switch_known_hosts": switch_state.known_hosts,
            }
        )

    def _start_gateway(self, state: LabState) -> LabState:
        """Express Gateway + the provider backend for SPLP; skipped with a warning without node/npm."""
        if not gateway_available():
            warning = "API gateway skipped: node and npm are not installed (run scripts/lab_packages.sh)"
            return state.model_copy(update={"warnings": (*state.warnings, warning)})
        return state.model_copy(update={"gateway": self.gateway_lab.up()})

    def _write_state(self, state: LabState) -> None:
        tmp = self.state_file.with_suffix(".json.tmp")
        tmp.write_text(state.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, self.state_file)
