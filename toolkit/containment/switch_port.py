"""Quarantine a switch access port (move it to the quarantine VLAN, or shut it) and undo it.

Through the network layer's `DeviceSession` (netmiko, typed errors, masked output): the port's config is
read first and kept as the before-state (mode, access VLAN, shutdown), the change is pushed as plain
config lines built here from validated values, and read back to verify. Release pushes the before-state
back and verifies it the same way. Uplinks (the device's ``trunk_ports`` in the network inventory, or any
port in trunk mode) are refused: quarantining one would cut a whole site off, not one machine.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from toolkit.errors import ActionFailedError, ConfigurationError, InvalidInputError, NotFoundError
from toolkit.network import RefResolver, ResolvedDevice, load_inventory
from toolkit.network.session import DeviceSession
from toolkit.settings import Settings

QUARANTINE_VLAN_NAME = "SPBE-QUARANTINE"


class PortState(BaseModel):
    """What quarantine changes on a port, as read from the device."""

    model_config = ConfigDict(frozen=True)
    mode: str | None
    access_vlan: int | None
    shutdown: bool


def resolve_device(settings: Settings, device: str) -> tuple[ResolvedDevice, tuple[str, ...]]:
    """The device from the network inventory with its references resolved, and its trunk ports."""
    path = settings.containment.network_inventory or settings.network.inventory_file()
    inventory = load_inventory(path)
    found = next((d for d in inventory.devices() if d.name == device), None)
    if found is None:
        raise NotFoundError(f"device {device!r} is not in the network inventory {path.name}", device=device)
    return RefResolver().device(found), found.trunk_ports


def _state(session: DeviceSession, interface: str) -> PortState:
    config = session.interface(interface)
    if config is None:
        raise NotFoundError(f"{session.name} has no interface {interface}", device=session.name, interface=interface)
    return PortState(mode=config.mode, access_vlan=config.access_vlan, shutdown=config.shutdown)


def quarantine_lines(interface: str, mode: str, vlan: int) -> list[str]:
    if mode == "shutdown":
        return [f"interface {interface}", "shutdown"]
    return [f"vlan {vlan}", f"name {QUARANTINE_VLAN_NAME}", "exit",
            f"interface {interface}", "switchport mode access", f"switchport access vlan {vlan}"]


def restore_lines(interface: str, before: PortState) -> list[str]:
    lines = [f"interface {interface}"]
    lines.append(f"switchport mode {before.mode}" if before.mode else "no switchport mode")
    lines.append(f"switchport access vlan {before.access_vlan}" if before.access_vlan else "no switchport access vlan")
    lines.append("shutdown" if before.shutdown else "no shutdown")
    return lines


def precheck(settings: Settings, device: str, interface: str) -> ResolvedDevice:
    """Refusals that need no connection: a device not in the inventory, an uplink named there."""
    resolved, trunks = resolve_device(settings, device)
    if interface in trunks:
        raise InvalidInputError(f"{interface} is an uplink (trunk) of {device}: quarantine access ports only",
                                errors=[("interface", "trunk port")])
    return resolved


def quarantine(settings: Settings, device: str, interface: str, mode: str, vlan: int) -> tuple[PortState, PortState]:
    """Returns (before, after). Idempotent: a port already in quarantine is left as it is."""
    resolved = precheck(settings, device, interface)
    with DeviceSession(resolved) as session:
        before = _state(session, interface)
        if before.mode == "trunk":
            raise InvalidInputError(f"{interface} on {device} is in trunk mode: quarantine access ports only",
                                    errors=[("interface", "trunk port")])
        wanted = (PortState(mode=before.mode, access_vlan=before.access_vlan, shutdown=True) if mode == "shutdown"
                  else PortState(mode="access", access_vlan=vlan, shutdown=before.shutdown))
        if before != wanted:
            session.send_config(quarantine_lines(interface, mode, vlan))
        after = _state(session, interface)
    if after != wanted:
        raise ActionFailedError(f"{device} {interface}: quarantine not in effect after the push ({after})",
                                device=device, interface=interface)
    return before, after


def release(settings: Settings, device: str, interface: str, before: PortState) -> PortState:
    """Put the recorded state back and verify it."""
    resolved, _ = resolve_device(settings, device)
    with DeviceSession(resolved) as session:
        if _state(session, interface) != before:
            session.send_config(restore_lines(interface, before))
        after = _state(session, interface)
    if after != before:
        raise ActionFailedError(f"{device} {interface}: restored state {after} differs from the recorded {before}",
                                device=device, interface=interface)
    return after


def check_mode(mode: str) -> str:
    if mode not in ("vlan", "shutdown"):
        raise ConfigurationError(f"quarantine mode must be 'vlan' or 'shutdown', not {mode!r}")
    return mode
