"""Who may open a session now: never two sessions to one device, at most N to one site's devices.

One `SessionGate` per process (`GATE`): every `DeviceSession` passes it before it connects and leaves it
when it closes, whoever opened it (a fan-out, the compliance gatherer, a remediation, a quality probe).
A device is known by its address (host, port), so two inventories naming it differently still share
its slot. A site's cap is the one the session was given (``SessionLimits``, per inventory and site).
A wait longer than the limit's ``wait_timeout_s`` fails that device only (`DeviceTimeoutError`).

Also counts what it let through (`GateStats`), so a test can see the limits held without a clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from toolkit.network.errors import DeviceError, DeviceTimeoutError


@dataclass
class GateStats:
    """Sessions open right now and the most ever open at once, per device address and per site."""

    open_devices: dict[tuple[str, int], int] = field(default_factory=dict)
    open_sites: dict[str, int] = field(default_factory=dict)
    max_devices: dict[tuple[str, int], int] = field(default_factory=dict)
    max_sites: dict[str, int] = field(default_factory=dict)


class SessionGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: dict[tuple[str, int], threading.Lock] = {}
        self._owners: dict[tuple[str, int], int] = {}
        self._sites: dict[str, threading.Condition] = {}
        self.stats = GateStats()

    @contextmanager
    def hold(self, name: str, address: tuple[str, int], site: str | None, site_cap: int,
             timeout: float) -> Iterator[None]:  # fmt: skip
        """Block until ``address`` is free and ``site`` has fewer than ``site_cap`` sessions; hold both."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._owners.get(address) == threading.get_ident():
                # The same thread would wait for itself: a caller bug, reported instead of hanging.
                raise DeviceError(name, "a second session to this device from the same task")
            device_lock = self._devices.setdefault(address, threading.Lock())
            site_cond = self._sites.setdefault(site, threading.Condition(self._lock)) if site else None
        if not device_lock.acquire(timeout=timeout):
            raise DeviceTimeoutError(name, f"another session to {address[0]}:{address[1]} did not end within "
                                           f"{timeout:g} s")  # fmt: skip
        try:
            with self._lock:
                while site_cond is not None and site and self.stats.open_sites.get(site, 0) >= site_cap:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise DeviceTimeoutError(name, f"no free session slot at site {site!r} (at most "
                                                       f"{site_cap} at once) within {timeout:g} s")  # fmt: skip
                    site_cond.wait(remaining)
                self._opened(address, site)  # in the same critical section as the check: the cap holds
        except BaseException:
            device_lock.release()
            raise
        try:
            yield
        finally:
            self._closed(address, site, site_cond)
            device_lock.release()

    def _opened(self, address: tuple[str, int], site: str | None) -> None:
        """Count one more open session (the caller holds ``_lock``)."""
        stats = self.stats
        self._owners[address] = threading.get_ident()
        stats.open_devices[address] = stats.open_devices.get(address, 0) + 1
        stats.max_devices[address] = max(stats.max_devices.get(address, 0), stats.open_devices[address])
        if site:
            stats.open_sites[site] = stats.open_sites.get(site, 0) + 1
            stats.max_sites[site] = max(stats.max_sites.get(site, 0), stats.open_sites[site])

    def _closed(self, address: tuple[str, int], site: str | None, site_cond: threading.Condition | None) -> None:
        with self._lock:
            self._owners.pop(address, None)
            self.stats.open_devices[address] -= 1
            if site:
                self.stats.open_sites[site] -= 1
            if site_cond is not None:
                site_cond.notify_all()


GATE = SessionGate()
