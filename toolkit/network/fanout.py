"""Network operations over many devices: the API the ticket actions and ``spbe network`` call.

`NetworkRunner` takes an inventory, a reference resolver and `FanoutOptions` and answers with a
`FanoutReport` (one `DeviceResult` per device, as data) for: ``facts`` (analysis: VLANs and port
assignments of a site's devices), ``backup``, ``diff``, ``push`` (with dry run and canary),
``verify`` and ``rollback``. Concurrency is bounded (``max_workers`` threads; sessions per site and one per
device by `toolkit.network.gate`, with devices taken one site after another); a change may touch at most
``max_devices`` devices, refused before anything is contacted; with ``canary`` the first device is
pushed alone and the rest are skipped if it fails. When any device fails during a push, every device
already changed is restored from its pre-change backup, so a change lands everywhere or nowhere.
A progress callback hears of each device as it finishes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError
from toolkit.network.device_ops import DeviceOps, DeviceResult, ErrorInfo, Operation, SessionFactory, skipped
from toolkit.network.errors import ChangeTooLargeError
from toolkit.network.inventory import Device, NetworkInventory
from toolkit.network.plan import NetworkChange
from toolkit.network.refs import RefResolver
from toolkit.network.render import TEMPLATES_DIR
from toolkit.network.session import DeviceSession, SessionOptions
from toolkit.private_files import private_dir, write_private

ProgressCallback = Callable[[DeviceResult, int, int], None]  # (result, finished so far, total)


class FanoutOptions(BaseModel):
    model_config = ConfigDict(frozen=True)
    max_workers: int = Field(default=8, ge=1, le=1024)
    max_devices: int = Field(default=20, ge=1, le=10000, description="cap on devices one change may touch")
    canary: bool = False


class FanoutReport(BaseModel):
    """Results of one operation over several devices, in the order the devices were given."""

    model_config = ConfigDict(frozen=True)
    operation: Operation
    results: tuple[DeviceResult, ...]
    duration_s: float = 0.0
    canary: str | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def names(self, *outcomes: str) -> list[str]:
        return [r.device for r in self.results if r.outcome in outcomes]

    @property
    def failed(self) -> list[str]:
        return [r.device for r in self.results if not r.ok]

    def result(self, device: str) -> DeviceResult:
        return next(r for r in self.results if r.device == device)


def run_parallel(names: Sequence[str], work: Callable[[str], DeviceResult], *, max_workers: int,
                 progress: ProgressCallback | None = None, stop: threading.Event | None = None,
                 operation: Operation = "push") -> list[DeviceResult]:  # fmt: skip
    """``work`` for each name with at most ``max_workers`` at once; once ``stop`` is set, names not yet
    started are reported ``skipped`` instead. Results come back in the order of ``names``."""
    total = len(names)
    done = 0
    lock = threading.Lock()

    def one(name: str) -> DeviceResult:
        nonlocal done
        if stop is not None and stop.is_set():
            result = skipped(name, operation, "not started: another device of this change failed")
        else:
            result = work(name)
            if stop is not None and not result.ok:
                stop.set()
        with lock:
            done += 1
            if progress is not None:
                progress(result, done, total)
        return result

    if not names:
        return []
    with ThreadPoolExecutor(max_workers=min(max_workers, total), thread_name_prefix="spbe-net") as pool:
        return list(pool.map(one, names))


class NetworkRunner:
    """Runs network operations for devices of one inventory (see the module docstring)."""

    def __init__(self, inventory: NetworkInventory, resolver: RefResolver, *, state_dir: Path,
                 options: FanoutOptions | None = None, session_options: SessionOptions | None = None,
                 connect: SessionFactory = DeviceSession, templates_dir: Path = TEMPLATES_DIR) -> None:  # fmt: skip
        self.inventory = inventory
        self.templates_dir = templates_dir
        self.resolver = resolver
        self.options = options or FanoutOptions()
        self.session_options = with_inventory(session_options or SessionOptions(), inventory)
        self.backup_dir = state_dir / "network" / "backups"
        self.changes_dir = state_dir / "network" / "changes"
        self._connect = connect

    # ------------------------------------------------------------------ selection

    def select(self, site: str | None = None, devices: Sequence[str] = ()) -> list[Device]:
        """Devices of ``site`` (all sites when None), narrowed to ``devices`` when given; unknown names fail."""
        pool = self.inventory.devices()
        if site is not None:
            try:
                pool = self.inventory.site(site).devices
            except KeyError:
                raise NotFoundError(f"unknown site {site!r}", site=site) from None
        known = {d.name for d in pool}
        unknown = [name for name in devices if name not in known]
        if unknown:
            where = f"site {site!r}" if site else "the inventory"
            raise NotFoundError(f"not in {where}: {unknown}", devices=unknown)
        return [d for d in pool if not devices or d.name in devices]

    def _ops(self, devices: Sequence[Device]) -> dict[str, DeviceOps]:
        """Resolve every device first, so a bad reference stops the run before any device is contacted."""
        return {d.name: DeviceOps(self.resolver.device(d), self.session_options, self.backup_dir, self._connect,
                                  self.templates_dir) for d in devices}  # fmt: skip

    def _plan_devices(self, plan: NetworkChange) -> list[Device]:
        check_plan(self.inventory, plan)
        if len(plan.devices) > self.options.max_devices:
            raise ChangeTooLargeError(
                f"the change touches {len(plan.devices)} devices; one approval may touch at most "
                f"{self.options.max_devices} (network.max_devices_per_change)",
                errors=[("devices", f"{len(plan.devices)} > {self.options.max_devices}")])  # fmt: skip
        site = self.inventory.site(plan.site)
        return [site.device(d.device) for d in plan.devices]

    def _each(self, operation: Operation, devices: Sequence[Device], work: Callable[[DeviceOps], DeviceResult],
              progress: ProgressCallback | None) -> FanoutReport:  # fmt: skip
        started = time.monotonic()
        ops = self._ops(devices)
        turns = [d.name for d in by_site_turns(devices)]
        done = {r.device: r for r in run_parallel(turns, lambda name: work(ops[name]), operation=operation,
                                                  max_workers=self.options.max_workers, progress=progress)}  # fmt: skip
        elapsed = round(time.monotonic() - started, 3)
        return FanoutReport(operation=operation, results=tuple(done[d.name] for d in devices), duration_s=elapsed)

    # ------------------------------------------------------------------ read-only operations

    def facts(self, devices: Sequence[Device], progress: ProgressCallback | None = None) -> FanoutReport:
        """VLANs, used VLAN IDs and access-port assignments per device (for the analysis step)."""
        return self._each("facts", devices, DeviceOps.facts, progress)

    def backup(self, devices: Sequence[Device], progress: ProgressCallback | None = None) -> FanoutReport:
        return self._each("backup", devices, DeviceOps.backup, progress)

    def diff(self, plan: NetworkChange, progress: ProgressCallback | None = None) -> FanoutReport:
        return self._each("diff", self._plan_devices(plan), lambda ops: ops.diff(plan), progress)

    def verify(self, plan: NetworkChange, progress: ProgressCallback | None = None) -> FanoutReport:
        return self._each("verify", self._plan_devices(plan), lambda ops: ops.verify(plan), progress)

    # ------------------------------------------------------------------ changes

    def push(self, plan: NetworkChange, *, dry_run: bool = False, canary: bool | None = None,
             progress: ProgressCallback | None = None) -> FanoutReport:  # fmt: skip
        """Push ``plan`` to its devices; all-or-nothing across devices (see the module docstring)."""
        started = time.monotonic()
        devices = self._plan_devices(plan)
        ops = self._ops(devices)
        names = [d.name for d in devices]
        use_canary = (self.options.canary if canary is None else canary) and len(names) > 1 and not dry_run
        results: dict[str, DeviceResult] = {}
        stop = threading.Event()
        rest = names
        if use_canary:
            first = ops[names[0]].push(plan)
            results[first.device] = first
            if progress is not None:
                progress(first, 1, len(names))
            rest = names[1:]
            if not first.ok:
                stop.set()
        offset = len(results)

        def report(result: DeviceResult, done: int, total: int) -> None:
            if progress is not None:
                progress(result, done + offset, total + offset)

        by_name = {d.name: d for d in devices}
        rest = [d.name for d in by_site_turns([by_name[name] for name in rest])]
        for result in run_parallel(rest, lambda name: ops[name].push(plan, dry_run=dry_run),
                                   max_workers=self.options.max_workers, progress=report,
                                   stop=None if dry_run else stop):  # fmt: skip
            results[result.device] = result
        if not dry_run and any(not r.ok for r in results.values()):
            failed = [r.device for r in results.values() if not r.ok and r.outcome != "skipped"]
            for name, result in list(results.items()):
                if result.outcome == "changed" and result.backup is not None:
                    undone = ops[name].restore(plan, result.backup)
                    cause = ErrorInfo(kind="RolledBack", exit_code=0,
                                      message=f"{name}: rolled back because {', '.join(failed)} failed")  # fmt: skip
                    results[name] = result.model_copy(update={
                        "outcome": "rolled_back" if undone.ok else "rollback_failed", "ok": False,
                        "changed": not undone.ok, "error": cause if undone.ok else undone.error,
                        "problems": undone.problems})  # fmt: skip
        report_ = FanoutReport(operation="push", results=tuple(results[n] for n in names),
                               duration_s=round(time.monotonic() - started, 3),
                               canary=names[0] if use_canary else None)  # fmt: skip
        if not dry_run:
            self._record(plan, report_)
        return report_

    def rollback(self, plan: NetworkChange, progress: ProgressCallback | None = None) -> FanoutReport:
        """Undo ``plan``: restore each device's pre-push backup when one was recorded, else the rollback template."""
        record = self._load_record(plan)
        devices = self._plan_devices(plan)

        def work(ops: DeviceOps) -> DeviceResult:
            backup = record.get(ops.name)
            return ops.restore(plan, backup) if backup is not None and backup.is_file() else ops.rollback_template(plan)

        return self._each("rollback", devices, work, progress)

    def _record_path(self, plan: NetworkChange) -> Path:
        return self._record_file(plan.site, plan.vlan_id)

    def _record_file(self, site: str, vlan_id: int) -> Path:
        return self.changes_dir / f"{site}-vlan{vlan_id}.json"

    def recorded_change(self, site: str, vlan_id: int) -> NetworkChange | None:
        """The plan last pushed (and left changed) for ``site``'s VLAN ``vlan_id``, from its change record;
        None when no push changed a device. The compliance gathering renders the intended config from it."""
        path = self._record_file(site, vlan_id)
        if not path.is_file():
            return None
        try:
            return NetworkChange.model_validate(json.loads(path.read_text(encoding="utf-8"))["plan"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"change record {path} is unreadable: {exc}", file=str(path)) from None

    def _record(self, plan: NetworkChange, report: FanoutReport) -> None:
        """Remember the pre-change backup of every device left changed, for a later ``rollback``."""
        backups = {r.device: str(r.backup) for r in report.results if r.changed and r.backup is not None}
        if not backups:
            return
        merged = {**{k: str(v) for k, v in self._load_record(plan).items()}, **backups}
        private_dir(self.changes_dir)
        path = self._record_path(plan)
        tmp = path.with_suffix(".tmp")
        write_private(tmp, json.dumps({"plan": plan.model_dump(mode="json"), "backups": merged}, indent=2))
        tmp.replace(path)

    def _load_record(self, plan: NetworkChange) -> dict[str, Path]:
        path = self._record_path(plan)
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return {str(k): Path(v) for k, v in data["backups"].items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"change record {path} is unreadable: {exc}", file=str(path)) from None


def with_inventory(options: SessionOptions, inventory: NetworkInventory) -> SessionOptions:
    """The inventory's per-platform timing and session caps on top of ``options`` (whose own timing wins)."""
    return options.model_copy(update={"timing": {**inventory.timing, **options.timing},
                                      "limits": inventory.sessions if "limits" not in options.model_fields_set
                                      else options.limits,
                                      "site_caps": {**inventory.site_caps(), **options.site_caps}})  # fmt: skip


def by_site_turns(devices: Sequence[Device]) -> list[Device]:
    """One device of each site in turn, so workers held at a full site's cap do not starve the other sites."""
    queues: dict[str, list[Device]] = {}
    for device in devices:
        queues.setdefault(device.site, []).append(device)
    order: list[Device] = []
    while any(queues.values()):
        for queue in queues.values():
            if queue:
                order.append(queue.pop(0))
    return order


def check_plan(inventory: NetworkInventory, plan: NetworkChange) -> None:
    """A plan read from a file is checked again against the inventory: its site, devices, platforms and ports."""
    try:
        site = inventory.site(plan.site)
    except KeyError:
        raise InvalidInputError(f"unknown site {plan.site!r}", errors=[("site", "not in the inventory")]) from None
    errors: list[tuple[str, str]] = []
    for ports in plan.devices:
        try:
            device = site.device(ports.device)
        except KeyError:
            errors.append((f"devices.{ports.device}", f"not a device of site {plan.site!r}"))
            continue
        if device.platform != ports.platform:
            errors.append((f"devices.{ports.device}.platform", f"the inventory says {device.platform}"))
        pool = site.pool(device.name)
        errors += [(f"devices.{device.name}.access_ports", f"{p!r} is not in the site's access-port pool")
                   for p in ports.access_ports if p not in pool]  # fmt: skip
        errors += [(f"devices.{device.name}.trunk_ports", f"{p!r} is not a trunk port of the device")
                   for p in ports.trunk_ports if p not in device.trunk_ports]  # fmt: skip
    if errors:
        raise InvalidInputError("plan does not match the inventory: " + "; ".join(f"{k}: {m}" for k, m in errors),
                                errors=errors)  # fmt: skip
