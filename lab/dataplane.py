"""The lab's data plane: the forwarding that the switch simulators only describe in their config.

fake-switches stores a switch's configuration but forwards no packet, so a quality test against it
alone would prove nothing. This module stands in for the wire: a *core* namespace routes between one
namespace per agency segment and a *data-center* namespace holding every application address of the
network inventory (with a listener on each TCP service). The segment's gateway address and ACL are
taken from what the gateway switch really holds (`toolkit.network.ios_config` parses its running
config), applied as nftables rules on the core: a missing SVI or ACL on the switch shows up as a failed
quality test, exactly as it would on site.

Everything lives in namespaces named after the lab (``spbe-<lab>-dp*``); the root namespace gets no
address, route or rule, and veths are created directly inside their namespaces.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from lab import netns
from lab.procs import keep, pythonpath
from toolkit.errors import ConfigurationError, UnavailableError
from toolkit.network.inventory import NetworkInventory
from toolkit.network.plan import AclEntry, NetworkChange
from toolkit.network.quality import ProbeResult, ProbeTarget, probe_address
from toolkit.settings import QualityThresholds

# Transit between the core and the data-center namespace; never leaves the lab's namespaces.
TRANSIT = ipaddress.IPv4Network("10.255.255.0/30")


class SegmentSpec(BaseModel):
    """One segment as the data plane needs it: the gateway's address and the inbound ACL."""

    model_config = ConfigDict(frozen=True)
    vlan_id: int
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    acl: tuple[AclEntry, ...] = ()


def _run(argv: Sequence[str], *, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False, timeout=60)
    if check and proc.returncode != 0:
        raise UnavailableError(f"lab data plane: {' '.join(argv[:6])} failed: {proc.stderr.strip()[:300]}")
    return proc


class LabDataPlane:
    """Owns the data-plane namespaces of one lab; every method is idempotent."""

    def __init__(self, lab_dir: Path, lab_name: str, octet: int, python: str | None = None) -> None:
        self.dir = Path(lab_dir) / lab_name / "dataplane"
        self.lab_name = lab_name
        self.octet = octet
        self.core = f"spbe-{lab_name}-dpcore"
        self.dc = f"spbe-{lab_name}-dpdc"
        self.python = python or sys.executable

    def segment_netns(self, vlan_id: int) -> str:
        return f"spbe-{self.lab_name}-seg{vlan_id}"

    def _veth(self, tag: str) -> str:
        return f"dp{self.octet}{tag}"[:15]

    # ------------------------------------------------------------------ data center

    def ensure_up(self, inventory: NetworkInventory) -> None:
        """Core and data-center namespaces with every inventory app address and TCP service."""
        if netns.netns_exists(self.core) and netns.netns_exists(self.dc) and netns.pids(self.dc):
            return
        self.down()
        self.dir.mkdir(parents=True, exist_ok=True)
        for name in (self.core, self.dc):
            _run(["ip", "netns", "add", name])
            _run(["ip", "-n", name, "link", "set", "lo", "up"])
        core_if, dc_if = self._veth("dc"), self._veth("dcp")
        _run(["ip", "link", "add", core_if, "netns", self.core, "type", "veth", "peer", "name", dc_if,
              "netns", self.dc])
        core_ip, dc_ip = list(TRANSIT.hosts())
        _run(["ip", "-n", self.core, "addr", "add", f"{core_ip}/{TRANSIT.prefixlen}", "dev", core_if])
        _run(["ip", "-n", self.dc, "addr", "add", f"{dc_ip}/{TRANSIT.prefixlen}", "dev", dc_if])
        _run(["ip", "-n", self.core, "link", "set", core_if, "up"])
        _run(["ip", "-n", self.dc, "link", "set", dc_if, "up"])
        _run(["ip", "-n", self.dc, "route", "add", "default", "via", str(core_ip)])
        _run(["ip", "netns", "exec", self.core, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        endpoints: list[str] = []
        for app in inventory.apps:
            for network in app.addresses:
                address = probe_address(network)
                _run(["ip", "-n", self.dc, "addr", "add", f"{address}/32", "dev", "lo"], check=False)
                _run(["ip", "-n", self.core, "route", "replace", str(network), "via", str(dc_ip)])
                endpoints += [f"{address}:{s.port}" for s in app.services if s.protocol == "tcp" and s.port]
        ready = self.dir / "dc.ready"
        ready.unlink(missing_ok=True)
        log = (self.dir / "dc.log").open("ab")
        keep(subprocess.Popen(  # noqa: S603 - argv list of validated addresses, no shell
            ["ip", "netns", "exec", self.dc, self.python, "-m", "lab.dc_services", f"--ready={ready}",
             *sorted(set(endpoints))],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "PYTHONPATH": pythonpath()},
        ))
        log.close()
        deadline = time.monotonic() + 15
        while not ready.exists():
            if time.monotonic() > deadline:
                raise UnavailableError(f"lab data-center services did not start; see {self.dir / 'dc.log'}")
            time.sleep(0.05)
        self._apply_rules({})

    # ------------------------------------------------------------------ segments

    def _segments(self) -> dict[int, SegmentSpec]:
        path = self.dir / "segments.json"
        if not path.exists():
            return {}
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {int(k): SegmentSpec.model_validate(v) for k, v in raw.items()}

    def _save(self, segments: dict[int, SegmentSpec]) -> None:
        path = self.dir / "segments.json"
        path.write_text(json.dumps({k: v.model_dump(mode="json") for k, v in segments.items()}), encoding="utf-8")

    def attach(self, spec: SegmentSpec) -> str:
        """(Re)build the segment's namespace and its ACL on the core; returns the segment netns name."""
        self.detach(spec.vlan_id)
        name = self.segment_netns(spec.vlan_id)
        core_if, seg_if = self._veth(f"s{spec.vlan_id}"), self._veth(f"s{spec.vlan_id}p")
        host = next(a for a in spec.subnet.hosts() if a != spec.gateway)
        _run(["ip", "netns", "add", name])
        _run(["ip", "-n", name, "link", "set", "lo", "up"])
        _run(["ip", "link", "add", core_if, "netns", self.core, "type", "veth", "peer", "name", seg_if, "netns", name])
        _run(["ip", "-n", self.core, "addr", "add", f"{spec.gateway}/{spec.subnet.prefixlen}", "dev", core_if])
        _run(["ip", "-n", name, "addr", "add", f"{host}/{spec.subnet.prefixlen}", "dev", seg_if])
        _run(["ip", "-n", self.core, "link", "set", core_if, "up"])
        _run(["ip", "-n", name, "link", "set", seg_if, "up"])
        _run(["ip", "-n", name, "route", "add", "default", "via", str(spec.gateway)])
        segments = self._segments()
        segments[spec.vlan_id] = spec
        self._apply_rules(segments)
        self._save(segments)
        return name

    def detach(self, vlan_id: int) -> None:
        name = self.segment_netns(vlan_id)
        if netns.netns_exists(name):
            netns.kill_all(name)
            _run(["ip", "netns", "del", name], check=False)
        segments = self._segments()
        if segments.pop(vlan_id, None) is not None:
            self._apply_rules(segments)
            self._save(segments)

    def _apply_rules(self, segments: dict[int, SegmentSpec]) -> None:
        """The core's forward chain: per segment, its ACL then drop (like ``ip access-group NAME in``)."""
        lines = ["table inet spbe_lab", "delete table inet spbe_lab", "table inet spbe_lab {",
                 "  chain forward {", "    type filter hook forward priority 0; policy accept;",
                 "    ct state established,related accept"]
        for vlan_id in sorted(segments):
            lines.append(f'    iifname "{self._veth(f"s{vlan_id}")}" jump seg{vlan_id}')
        lines.append("  }")
        for vlan_id, spec in sorted(segments.items()):
            lines.append(f"  chain seg{vlan_id} {{")
            for entry in spec.acl:
                match = f"ip saddr {spec.subnet} ip daddr {entry.destination}"
                if entry.protocol == "icmp":
                    lines.append(f"    {match} ip protocol icmp accept")
                elif entry.protocol in ("tcp", "udp"):
                    port = f" {entry.protocol} dport {entry.port}" if entry.port else f" ip protocol {entry.protocol}"
                    lines.append(f"    {match}{port} accept")
                else:
                    lines.append(f"    {match} accept")
            lines += ["    drop", "  }"]
        lines.append("}")
        _run(["ip", "netns", "exec", self.core, "nft", "-f", "-"], stdin="\n".join(lines) + "\n")

    # ------------------------------------------------------------------ probing

    def probe(self, vlan_id: int, targets: Sequence[ProbeTarget], thresholds: QualityThresholds) -> list[ProbeResult]:
        """Run the probes from inside the segment's namespace (``python -m toolkit.network.probe``)."""
        name = self.segment_netns(vlan_id)
        if not netns.netns_exists(name):
            raise ConfigurationError(f"segment VLAN {vlan_id} is not attached to the lab data plane")
        from toolkit.network.probe import RESULTS, ProbeRequest

        request = ProbeRequest(targets=tuple(targets), thresholds=thresholds).model_dump_json()
        proc = _run(["ip", "netns", "exec", name, self.python, "-m", "toolkit.network.probe"], stdin=request)
        return RESULTS.validate_json(proc.stdout)

    def down(self) -> None:
        for vlan_id in list(self._segments()):
            self.detach(vlan_id)
        for name in (self.core, self.dc):
            if netns.netns_exists(name):
                netns.kill_all(name)
                _run(["ip", "netns", "del", name], check=False)
        (self.dir / "segments.json").unlink(missing_ok=True)


def spec_from_change(change: NetworkChange) -> SegmentSpec:
    return SegmentSpec(vlan_id=change.vlan_id, subnet=change.subnet, gateway=change.gateway, acl=change.acl)


def _ace_address(words: list[str]) -> tuple[ipaddress.IPv4Network, list[str]]:
    """Consume an IOS address spec (``any`` | ``host A`` | ``A W``) from the front of ``words``."""
    if words[0] == "any":
        return ipaddress.IPv4Network("0.0.0.0/0"), words[1:]
    if words[0] == "host":
        return ipaddress.IPv4Network(f"{words[1]}/32"), words[2:]
    return ipaddress.IPv4Network(f"{words[0]}/{words[1]}"), words[2:]  # "A W": ipaddress takes a hostmask


def acl_entries_from_device(entries: Sequence[str]) -> tuple[AclEntry, ...]:
    """Normalized IOS ACEs (`toolkit.network.ios.normalize_ace`) back into permit entries.

    Only ``permit`` lines become entries: the data plane drops whatever is not permitted, as the
    trailing ``deny ip any any`` (and IOS's implicit deny) does on the switch.
    """
    out: list[AclEntry] = []
    for text in entries:
        words = text.split()
        if len(words) < 4 or words[0] != "permit" or words[1] not in ("tcp", "udp", "icmp", "ip"):
            continue
        protocol = words[1]
        _, rest = _ace_address(words[2:])
        destination, rest = _ace_address(rest)
        port = int(rest[1]) if len(rest) >= 2 and rest[0] == "eq" and rest[1].isdigit() else None
        if protocol == "ip":
            continue  # our templates never permit all of IP; a device that does is not modelled here
        out.append(AclEntry.model_validate({"app": "device", "destination": destination, "protocol": protocol,
                                            "port": port}))
    return tuple(out)


def spec_from_running_config(text: str, vlan_id: int) -> SegmentSpec | None:
    """What the gateway switch really holds for the VLAN: SVI address and inbound ACL, or None without SVI."""
    from toolkit.network.ios import access_list_from_section, interface_config, parse_running_config

    config = parse_running_config(text)
    section = config.get(f"interface Vlan{vlan_id}")
    if section is None:
        return None
    svi = interface_config(section)
    if svi.ip_address is None or svi.shutdown:
        return None
    address, mask = svi.ip_address.split()
    interface = ipaddress.IPv4Interface(f"{address}/{mask}")
    acl: tuple[AclEntry, ...] = ()
    if svi.access_group_in:
        acl_section = next((s for s in config.sections if s.header.startswith("ip access-list ")
                            and s.header.split()[-1] == svi.access_group_in), None)
        if acl_section is not None:
            acl = acl_entries_from_device(access_list_from_section(acl_section).entries)
    return SegmentSpec(vlan_id=vlan_id, subnet=interface.network, gateway=interface.ip, acl=acl)
