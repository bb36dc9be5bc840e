"""A `NetworkRunner` from settings: the one place that decides how devices are reached.

Shared by the ticket actions and ``spbe network`` so both trust the same host keys
(``network.known_hosts``) and apply the same fan-out limits and timeouts.
"""

from __future__ import annotations

from typing import Any

from toolkit.network.fanout import FanoutOptions, NetworkRunner
from toolkit.network.inventory import NetworkInventory
from toolkit.network.refs import RefResolver
from toolkit.network.session import SessionOptions


def session_options(settings: Any) -> SessionOptions:
    """Timeouts and host keys of one device session, from ``settings.network``."""
    net = settings.network
    return SessionOptions(conn_timeout=net.conn_timeout_s, auth_timeout=net.auth_timeout_s,
                          banner_timeout=net.conn_timeout_s, read_timeout=net.read_timeout_s,
                          known_hosts=net.known_hosts)  # fmt: skip


def build_runner(settings: Any, inventory: NetworkInventory) -> NetworkRunner:
    net = settings.network
    return NetworkRunner(
        inventory, RefResolver(), state_dir=settings.state_dir,
        options=FanoutOptions(max_workers=net.max_workers, max_devices=net.max_devices_per_change, canary=net.canary),
        session_options=session_options(settings),
    )  # fmt: skip
