"""A `NetworkRunner` from settings: the one place that decides how devices are reached.

Shared by the ticket actions and ``spbe network`` so both resolve ``lab:`` references, trust the same
host keys and apply the same fan-out limits and timeouts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab.models import LabState
from toolkit.network.fanout import FanoutOptions, NetworkRunner
from toolkit.network.inventory import Device, NetworkInventory
from toolkit.network.refs import RefResolver
from toolkit.network.session import SessionOptions


def uses_lab(devices: Sequence[Device]) -> bool:
    return any(
        d.host.startswith("lab:") or isinstance(d.port, str)
        or any(r.startswith("lab:") for r in (d.credentials.password_ref, d.credentials.secret_ref or ""))
        for d in devices
    )


def build_runner(settings: Any, inventory: NetworkInventory, devices: Sequence[Device] | None = None,
                 lab: str | None = None) -> NetworkRunner:
    """``devices`` narrows the lab check to the devices about to be used (all of the inventory when None)."""
    net = settings.network
    resolver = RefResolver(None)
    known_hosts: Path | None = None
    if uses_lab(inventory.devices() if devices is None else devices):
        resolver = RefResolver.from_lab_dir(settings.lab_dir, lab or net.lab_name or settings.lab_name)
        state = resolver.lab
        known_hosts = state.switch_known_hosts if isinstance(state, LabState) else getattr(state, "known_hosts", None)
    return NetworkRunner(
        inventory, resolver, state_dir=settings.state_dir,
        options=FanoutOptions(max_workers=net.max_workers, max_devices=net.max_devices_per_change, canary=net.canary),
        session_options=SessionOptions(conn_timeout=net.conn_timeout_s, auth_timeout=net.auth_timeout_s,
                                       banner_timeout=net.conn_timeout_s, read_timeout=net.read_timeout_s,
                                       known_hosts=known_hosts),
    )  # fmt: skip
