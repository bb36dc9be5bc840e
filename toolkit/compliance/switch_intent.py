"""What a switch should read, as far as spbe owns it: the intended sections and the free access ports.

Pure functions over the parsed running config, the inventory and the installed plans, so the gathering
stays a thin reader and this is tested without a device. Ownership, section by section:

* an installed segment plan (a ticket's allocation whose plan was pushed: `NetworkRunner.recorded_change`)
  owns its VLAN and its ACL entirely (an extra ACE or a renamed VLAN is drift), and on its SVI, access
  ports and trunks the lines the Jaringan Intra templates set (``render_change``), merged the way IOS
  merges them (`toolkit.network.candidate.candidate`), so a line nobody templated is not called drift;
* an access-pool port no allocation holds is kept as the ``undo`` half of ``access_ports.j2`` leaves it
  (no VLAN, no description, shut): a free port put into a VLAN by hand is drift.

An allocation whose plan was not pushed yet (analysed, not approved) owns its ports (they are not free)
but no section: the device is not expected to have it, and remediation must never push an unapproved plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from toolkit.network.candidate import affected_headers, candidate
from toolkit.network.inventory import Device, NetworkInventory
from toolkit.network.ios import RunningConfig, Section
from toolkit.network.plan import NetworkChange
from toolkit.network.render import TEMPLATES_DIR, render_change, render_free_ports
from toolkit.ports.state_records import SegmentAllocation


def held_ports(allocations: Sequence[SegmentAllocation], device: Device) -> set[str]:
    """Access ports of ``device`` some segment allocation holds (installed or not)."""
    return {port for a in allocations if a.site == device.site for port in a.ports.get(device.name, ())}


def unused_ports(inventory: NetworkInventory, allocations: Sequence[SegmentAllocation],
                 device: Device) -> tuple[str, ...]:
    """The device's access-pool members no allocation holds, in pool order."""
    held = held_ports(allocations, device)
    return tuple(p for p in inventory.site(device.site).pool(device.name) if p not in held)


def matches(change: NetworkChange, allocation: SegmentAllocation) -> bool:
    """The recorded plan is this allocation's: same ticket (the VLAN name), VLAN, subnet and ports."""
    ports = {d.device: tuple(d.access_ports) for d in change.devices if d.access_ports}
    return (change.vlan_name == allocation.ticket_id and change.vlan_id == allocation.vlan_id
            and change.subnet == allocation.subnet and change.site == allocation.site
            and ports == {k: tuple(v) for k, v in allocation.ports.items()})


def intended_config(running: RunningConfig, device: Device, changes: Sequence[NetworkChange],
                    free_ports: Sequence[str], templates_dir: Path = TEMPLATES_DIR) -> str:
    """The owned sections as they should read on ``device`` (running-config text, sections only)."""
    changes = [c for c in changes if any(d.device == device.name for d in c.devices)]
    whole = {h for c in changes for h in (f"vlan {c.vlan_id}", f"ip access-list extended {c.acl_name}")}
    base = RunningConfig(sections=tuple(s for s in running.sections if s.header not in whole))
    lines: list[str] = []
    headers: list[str] = []
    for change in changes:
        lines += render_change(change, device.platform, device.name, templates_dir=templates_dir)
        headers += affected_headers(change, device.name)
    if free_ports:
        lines += render_free_ports(device.platform, list(free_ports), templates_dir=templates_dir)
        headers += [f"interface {p}" for p in free_ports]
    after = candidate(base, lines)
    sections = [s for h in dict.fromkeys(headers) if (s := after.get(h)) is not None]
    return "".join(line + "\n" for s in sections for line in Section.lines(s))
