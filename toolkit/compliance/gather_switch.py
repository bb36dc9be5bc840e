"""`SwitchGatherer`: the facts of the ``jaringan-intra`` profile, one read-only netmiko session per switch.

It reuses the Jaringan Intra path's reach to devices (`toolkit.network.runner_factory.build_runner`: the
inventory, the credential references resolved at the last moment, the trusted host keys, timeouts and the
fan-out limit ``network.max_workers``) and its one session class (`toolkit.network.session.DeviceSession`),
which masks the device's secrets in everything it returns. The only command sent is
``show running-config``; the intended sections and the free access ports are computed from the
inventory, the segment allocations (the state store, handed in by the composition root) and the plans
recorded when they were pushed (`toolkit.compliance.switch_intent`).

Targets are named as the inventory names them: a device name, ``site:ID`` (a site's devices),
``group:ROLE`` (devices of a role: ``access``, ``distribution``, ``core``) or ``*``. The shape of each
selector is checked before any lookup, so ``a;b``, ``$(x)``, a newline or ``../x`` is refused as invalid
input, and a well-formed name the inventory lacks is `NotFoundError` naming it, before anything is read.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from typing import Any

from toolkit.clock import Clock, SystemClock
from toolkit.compliance.facts import SwitchFacts
from toolkit.compliance.gathering import Gatherer, GatherFailure, TargetKind
from toolkit.compliance.switch_intent import intended_config, matches, unused_ports
from toolkit.domain.catalog.formats import INVENTORY_ID
from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError, ToolkitError
from toolkit.masking import Masker
from toolkit.network.device_ops import SessionFactory
from toolkit.network.fanout import NetworkRunner
from toolkit.network.inventory import Device, load_inventory
from toolkit.network.ios import parse_running_config
from toolkit.network.plan import NetworkChange
from toolkit.network.runner_factory import build_runner
from toolkit.network.session import DeviceSession
from toolkit.ports.state import SegmentAllocations

SELECTOR = re.compile(rf"^(\*|((site|group):)?{INVENTORY_ID})$")
ROLES = ("access", "distribution", "core")
MAX_REASON = 300


def check_selectors(selectors: Sequence[str]) -> list[str]:
    """The selectors, each checked for shape; every malformed one is listed in one `InvalidInputError`."""
    if isinstance(selectors, str):
        selectors = [selectors]
    bad = [s for s in selectors if not isinstance(s, str) or not SELECTOR.fullmatch(s)]
    if bad or not selectors:
        shown = ", ".join(repr(str(s)[:40]) for s in bad) or "(none)"
        raise InvalidInputError(f"invalid switch target selector(s): {shown}; use a device name, site:ID, "
                                f"group:{'|'.join(ROLES)} or *",
                                errors=[("target", f"invalid selector {str(s)[:40]!r}") for s in bad]
                                or [("target", "at least one selector")])
    return list(selectors)


class SwitchGatherer:
    """Reads `SwitchFacts` of inventory switches (see the module docstring); never changes a device."""

    kind: TargetKind = "switch"

    def __init__(self, runner: NetworkRunner, segments: SegmentAllocations, *,
                 connect: SessionFactory = DeviceSession, clock: Clock | None = None) -> None:
        self.runner = runner
        self.inventory = runner.inventory
        self.segments = segments
        self._connect = connect
        self._clock = clock or SystemClock()

    @classmethod
    def from_settings(cls, settings: Any, segments: SegmentAllocations, *,
                      clock: Clock | None = None) -> SwitchGatherer:
        """The gatherer of ``settings.network``'s inventory, reaching devices as the network actions do."""
        inventory = load_inventory(settings.network.inventory_file())
        return cls(build_runner(settings, inventory), segments, clock=clock)

    # ------------------------------------------------------------------ selection

    def resolve(self, selectors: Sequence[str]) -> list[str]:
        """Device names for ``selectors``, in inventory order, each once."""
        wanted: set[str] = set()
        devices = self.inventory.devices()
        for selector in check_selectors(selectors):
            kind, _, name = selector.rpartition(":")
            if selector == "*":
                found = [d.name for d in devices]
            elif kind == "site":
                found = [d.name for d in devices if d.site == name]
                if not any(s.id == name for s in self.inventory.sites):
                    raise NotFoundError(f"site {name!r} is not in the network inventory", target=selector)
            elif kind == "group":
                if name not in ROLES:
                    raise NotFoundError(f"group {name!r} is not a device role of the network inventory "
                                        f"({', '.join(ROLES)})", target=selector)
                found = [d.name for d in devices if d.role == name]
            else:
                found = [d.name for d in devices if d.name == name]
                if not found:
                    raise NotFoundError(f"switch {name!r} is not in the network inventory", target=selector)
            wanted.update(found)
        return [d.name for d in devices if d.name in wanted]

    def _device(self, name: str) -> Device:
        for device in self.inventory.devices():
            if device.name == name:
                return device
        raise NotFoundError(f"switch {name!r} is not in the network inventory", target=name)

    # ------------------------------------------------------------------ reading

    def gather(self, targets: Sequence[str],
               progress: Callable[[str], None] | None = None) -> dict[str, SwitchFacts | GatherFailure]:
        """Facts of every target, read in parallel (at most ``network.max_workers`` sessions at once)."""
        devices = [self._device(name) for name in check_selectors(targets)]  # unknown: refused before any read
        allocations = self.segments.all()
        lock = threading.Lock()

        def one(device: Device) -> SwitchFacts | GatherFailure:
            result = self._gather_one(device, allocations)
            if progress is not None:
                with lock:
                    progress(device.name)
            return result

        if not devices:
            return {}
        workers = min(self.runner.options.max_workers, len(devices))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spbe-compliance") as pool:
            results = list(pool.map(one, devices))
        return {d.name: r for d, r in zip(devices, results, strict=True)}

    def _gather_one(self, device: Device, allocations: Sequence[Any]) -> SwitchFacts | GatherFailure:
        masker = Masker([])
        try:
            resolved = self.runner.resolver.device(device)
            masker = Masker([resolved.password] + ([resolved.secret] if resolved.secret else []))
            with self._connect(resolved, self.runner.session_options) as session:
                text = session.running_config()
            gathered_at = self._clock.now().astimezone(UTC)
        except ToolkitError as exc:  # unreachable, timeout, login/enable refused, bad credential reference
            return GatherFailure(target=device.name, reason=masker(exc.message)[:MAX_REASON])
        mine = [a for a in allocations if a.site == device.site and device.name in a.ports]
        free = unused_ports(self.inventory, allocations, device)
        try:
            changes = [self._installed(a) for a in mine]
            intended: str | None = intended_config(parse_running_config(text), device,
                                                   [c for c in changes if c is not None], free,
                                                   self.runner.templates_dir)
        except ToolkitError:
            intended = None  # the drift rule ends ``error`` ("fakta tidak tersedia"); the others still judge
        return SwitchFacts(device=device.name, gathered_at=gathered_at, running_config=text,
                           intended_config=intended, unused_ports=free)

    def _installed(self, allocation: Any) -> NetworkChange | None:
        """The pushed plan of ``allocation``, or None when it was not pushed; a record of another plan for
        the same VLAN is a `ConfigurationError` (the intended config is then unknown, not guessed)."""
        change = self.runner.recorded_change(allocation.site, allocation.vlan_id)
        if change is None:
            return None
        if not matches(change, allocation):
            raise ConfigurationError(f"the change record of {allocation.site} VLAN {allocation.vlan_id} is not "
                                     f"the plan of {allocation.ticket_id}")
        return change


def _is_a_gatherer(gatherer: SwitchGatherer) -> Gatherer:
    """mypy checks here that `SwitchGatherer` satisfies the `Gatherer` protocol the runner is typed against."""
    return gatherer
