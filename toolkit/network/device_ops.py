"""The network operations on ONE device, each returning a `DeviceResult` instead of raising.

backup, diff, push (backup -> diff -> conflict checks -> push -> verify -> restore on failure),
verify, rollback (restore the pre-change backup, or apply the rollback template when there is
none) and facts (VLANs and port assignments, for the analysis step). `toolkit.network.fanout` runs
these over many devices; a ticket action may call them directly for one device.

A failed device is always reported with what happened to it: ``failed`` (nothing was changed),
``rolled_back`` (something was pushed and the affected sections equal the backup again) or
``rollback_failed`` (it may be left changed: an operator must look).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.errors import ToolkitError
from toolkit.network import ios
from toolkit.network.candidate import affected_headers, candidate, differing, restore_lines, section_diff
from toolkit.network.errors import (
    DeviceConflictError,
    DeviceError,
    DeviceInputError,
    RollbackError,
    VerificationError,
)
from toolkit.network.plan import NetworkChange
from toolkit.network.refs import ResolvedDevice
from toolkit.network.render import TEMPLATES_DIR, render_change, render_rollback
from toolkit.network.session import Backup, DeviceSession, SessionOptions, write_backup

Operation = Literal["backup", "diff", "push", "verify", "rollback", "facts"]
Outcome = Literal["unchanged", "changed", "planned", "rolled_back", "rollback_failed", "failed", "skipped"]
SessionFactory = Callable[[ResolvedDevice, SessionOptions], DeviceSession]


class ErrorInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: str
    message: str
    exit_code: int

    @classmethod
    def of(cls, exc: ToolkitError) -> ErrorInfo:
        return cls(kind=type(exc).__name__, message=exc.message, exit_code=exc.exit_code)


class DeviceFacts(BaseModel):
    """What the analysis step needs from a device: its VLANs and which VLAN each access port is in."""

    model_config = ConfigDict(frozen=True)
    vlans: tuple[ios.VlanInfo, ...]
    used_vlan_ids: tuple[int, ...]
    port_vlans: dict[str, int] = Field(description="access port -> VLAN id, from show vlan brief")


class DeviceResult(BaseModel):
    """One device's answer to one operation; ``changed`` says whether the device differs afterwards."""

    model_config = ConfigDict(frozen=True)
    device: str
    operation: Operation
    outcome: Outcome
    ok: bool
    changed: bool = False
    pushed_lines: int = 0
    error: ErrorInfo | None = None
    backup: Path | None = None
    diff: str = ""
    problems: tuple[str, ...] = ()
    facts: DeviceFacts | None = None
    duration_s: float = 0.0


def _result(base: dict[str, Any], **fields: Any) -> DeviceResult:
    return DeviceResult.model_validate({**base, **fields})


def skipped(device: str, operation: Operation, reason: str) -> DeviceResult:
    return DeviceResult(device=device, operation=operation, outcome="skipped", ok=False,
                        error=ErrorInfo(kind="Skipped", message=f"{device}: {reason}", exit_code=0))  # fmt: skip


def expected_acl(plan: NetworkChange) -> tuple[str, ...]:
    """The plan's ACL as normalized IOS entries, in order, ending with the implicit-made-explicit deny."""

    def addr(network: ipaddress.IPv4Network) -> str:
        if network.prefixlen == 32:
            return f"host {network.network_address}"
        return f"{network.network_address} {network.hostmask}"

    entries = [f"permit {e.protocol} {addr(plan.subnet)} {addr(e.destination)}" + (f" eq {e.port}" if e.port else "")
               for e in plan.acl]  # fmt: skip
    return tuple(ios.normalize_ace(e) for e in [*entries, "deny ip any any"])


def verify_plan(session: DeviceSession, plan: NetworkChange, device: str) -> list[str]:
    """Read the device back and list every way it differs from the plan (empty: the change is there)."""
    ports = plan.device(device)
    problems: list[str] = []
    # One write for the three reads; the running config serves every interface instead of one
    # "show run interface" each.
    vlan_text, running_text, acl_text = session.show_many(["show vlan brief", "show running-config",
                                                           "show ip access-lists"])  # fmt: skip
    vlans = {v.id: v for v in ios.parse_vlan_brief(vlan_text)}
    vlan = vlans.get(plan.vlan_id)
    running = ios.parse_running_config(running_text)

    def interface(name: str) -> ios.InterfaceConfig | None:
        section = running.get(f"interface {name}")
        return ios.interface_config(section) if section is not None else None

    if vlan is None:
        problems.append(f"VLAN {plan.vlan_id} is missing")
    elif vlan.name != plan.vlan_name:
        problems.append(f"VLAN {plan.vlan_id} is named {vlan.name!r}, not {plan.vlan_name!r}")
    for name in ports.access_ports:
        config = interface(name)
        if vlan is not None and name not in vlan.ports:
            problems.append(f"{name} is not a member of VLAN {plan.vlan_id}")
        if config is None:
            problems.append(f"{name} does not exist")
            continue
        if config.mode != "access" or config.access_vlan != plan.vlan_id:
            problems.append(f"{name} is not an access port in VLAN {plan.vlan_id}")
        if config.shutdown:
            problems.append(f"{name} is shut down")
    for name in ports.trunk_ports:
        config = interface(name)
        if config is None or not config.carries(plan.vlan_id):
            problems.append(f"trunk {name} does not carry VLAN {plan.vlan_id}")
    if ports.gateway:
        svi = interface(f"Vlan{plan.vlan_id}")
        if svi is None:
            problems.append(f"SVI Vlan{plan.vlan_id} is missing")
        else:
            if svi.ip_address != f"{plan.gateway} {plan.subnet.netmask}":
                problems.append(f"SVI Vlan{plan.vlan_id} has address {svi.ip_address}, not {plan.gateway}")
            if svi.access_group_in != plan.acl_name:
                problems.append(f"SVI Vlan{plan.vlan_id} is not filtered by {plan.acl_name}")
            if svi.shutdown:
                problems.append(f"SVI Vlan{plan.vlan_id} is shut down")
    acl = ios.parse_access_lists(acl_text).get(plan.acl_name)
    if acl is None:
        problems.append(f"ACL {plan.acl_name} is missing")
    elif acl.entries != expected_acl(plan):
        problems.append(f"ACL {plan.acl_name} entries differ: {list(acl.entries)}")
    return problems


def check_device_state(vlans: list[ios.VlanInfo], plan: NetworkChange, device: str,
                       running: ios.RunningConfig) -> None:  # fmt: skip
    """Refuse what the plan model cannot know: a VLAN ID used for something else, a port the device lacks."""
    ports = plan.device(device)
    for vlan in vlans:
        if vlan.id == plan.vlan_id and vlan.name != plan.vlan_name:
            raise DeviceConflictError(device, f"VLAN {plan.vlan_id} is already used on the device (as "
                                              f"{vlan.name!r})", vlan_id=plan.vlan_id)  # fmt: skip
    missing = [p for p in (*ports.access_ports, *ports.trunk_ports) if running.get(f"interface {p}") is None]
    if missing:
        raise DeviceInputError(device, f"the device has no interface {missing}", errors=[("ports", str(missing))])


def restore(session: DeviceSession, backup_text: str, headers: list[str]) -> tuple[int, list[str]]:
    """Bring ``headers`` back to the backup; returns (lines sent, headers still differing afterwards)."""
    wanted = ios.parse_running_config(backup_text)
    lines = restore_lines(wanted, session.running(), headers)
    session.send_config(lines)
    return len(lines), differing(wanted, session.running(), headers)


class DeviceOps:
    """The operations for one device; ``connect`` is swappable so tests and benchmarks share the real path."""

    def __init__(self, device: ResolvedDevice, options: SessionOptions, backup_dir: Path,
                 connect: SessionFactory = DeviceSession, templates_dir: Path = TEMPLATES_DIR) -> None:  # fmt: skip
        self.device = device
        self.templates_dir = templates_dir
        self.options = options
        self.backup_dir = backup_dir
        self._connect = connect

    @property
    def name(self) -> str:
        return self.device.name

    def _run(self, operation: Operation, body: Callable[[DeviceSession], DeviceResult]) -> DeviceResult:
        started = time.monotonic()
        try:
            with self._connect(self.device, self.options) as session:
                result = body(session)
        except DeviceError as exc:
            result = DeviceResult(device=self.name, operation=operation, outcome="failed", ok=False,
                                  error=ErrorInfo.of(exc))  # fmt: skip
        except ToolkitError as exc:  # render/plan problems for this device
            result = DeviceResult(device=self.name, operation=operation, outcome="failed", ok=False,
                                  error=ErrorInfo.of(exc))  # fmt: skip
        return result.model_copy(update={"duration_s": round(time.monotonic() - started, 3)})

    def backup(self) -> DeviceResult:
        def body(session: DeviceSession) -> DeviceResult:
            backup = session.backup(self.backup_dir)
            return DeviceResult(device=self.name, operation="backup", outcome="unchanged", ok=True, backup=backup.path)

        return self._run("backup", body)

    def facts(self) -> DeviceResult:
        def body(session: DeviceSession) -> DeviceResult:
            vlans = tuple(session.vlans())
            port_vlans = {port: vlan.id for vlan in vlans for port in vlan.ports}
            facts = DeviceFacts(vlans=vlans, used_vlan_ids=tuple(sorted(v.id for v in vlans)), port_vlans=port_vlans)
            return DeviceResult(device=self.name, operation="facts", outcome="unchanged", ok=True, facts=facts)

        return self._run("facts", body)

    def diff(self, plan: NetworkChange) -> DeviceResult:
        def body(session: DeviceSession) -> DeviceResult:
            running = session.running()
            text, needed = self._diff(plan, running)
            return DeviceResult(device=self.name, operation="diff", outcome="planned" if needed else "unchanged",
                                ok=True, diff=text)  # fmt: skip

        return self._run("diff", body)

    def _lines(self, plan: NetworkChange) -> list[str]:
        return render_change(plan, self.device.platform, self.name, templates_dir=self.templates_dir)

    def _diff(self, plan: NetworkChange, running: ios.RunningConfig,
              lines: list[str] | None = None) -> tuple[str, bool]:  # fmt: skip
        headers = affected_headers(plan, self.name)
        after = candidate(running, self._lines(plan) if lines is None else lines)
        return section_diff(running, after, headers, self.name), bool(differing(running, after, headers))

    def verify(self, plan: NetworkChange) -> DeviceResult:
        def body(session: DeviceSession) -> DeviceResult:
            problems = tuple(verify_plan(session, plan, self.name))
            return DeviceResult(device=self.name, operation="verify", outcome="unchanged", ok=not problems,
                                problems=problems,
                                error=ErrorInfo.of(VerificationError(self.name, "; ".join(problems)))
                                if problems else None)  # fmt: skip

        return self._run("verify", body)

    def push(self, plan: NetworkChange, *, dry_run: bool = False) -> DeviceResult:
        """Backup, diff, check, push, verify; on any failure after the first line, restore the backup."""

        def body(session: DeviceSession) -> DeviceResult:
            # Backup and the conflict check's VLAN table in one write; all of the push in this one session.
            config, vlan_text = session.show_many(["show running-config", "show vlan brief"])
            backup = write_backup(self.backup_dir, self.name, config)
            running = ios.parse_running_config(config)
            lines = self._lines(plan)  # rendered once: the diff shows exactly what is pushed
            text, needed = self._diff(plan, running, lines)
            base = {"device": self.name, "operation": "push", "backup": backup.path, "diff": text}
            check_device_state(ios.parse_vlan_brief(vlan_text), plan, self.name, running)
            if not needed:
                problems = tuple(verify_plan(session, plan, self.name))
                error = ErrorInfo.of(VerificationError(self.name, "; ".join(problems))) if problems else None
                return _result(base, outcome="unchanged", ok=not problems, problems=problems, error=error)
            if dry_run:
                return _result(base, outcome="planned", ok=True)
            try:
                session.send_config(lines)
                found = verify_plan(session, plan, self.name)
                if found:
                    raise VerificationError(self.name, "; ".join(found), problems=found)
            except DeviceError as exc:
                return self._restore_after(exc, session, plan, backup, base)
            return _result(base, outcome="changed", ok=True, changed=True, pushed_lines=len(lines))

        return self._run("push", body)

    def _restore_after(self, exc: DeviceError, session: DeviceSession, plan: NetworkChange, backup: Backup,
                       base: dict[str, Any]) -> DeviceResult:  # fmt: skip
        """The push failed part-way: put the backup's sections back (in a fresh session if this one died)."""
        problems = tuple(exc.details.get("problems", ()))
        restored = self.restore(plan, backup.path, session=session)
        if not restored.ok:
            session.close()  # dead or confused: a fresh one restores (never two sessions to one device at once)
            restored = self.restore(plan, backup.path)
        if restored.ok:
            return _result(base, outcome="rolled_back", ok=False, problems=problems,
                                error=ErrorInfo.of(exc))  # fmt: skip
        return _result(base, outcome="rollback_failed", ok=False, changed=True,
                            problems=problems + restored.problems, error=ErrorInfo.of(exc))  # fmt: skip

    def restore(self, plan: NetworkChange, backup: Path, *, session: DeviceSession | None = None) -> DeviceResult:
        """Make the plan's sections equal to ``backup`` again, then check they are (operation ``rollback``)."""
        headers = affected_headers(plan, self.name)

        def body(active: DeviceSession) -> DeviceResult:
            sent, remaining = restore(active, backup.read_text(encoding="utf-8"), headers)
            base = {"device": self.name, "operation": "rollback", "backup": backup, "pushed_lines": sent}
            if remaining:
                error = RollbackError(self.name, f"sections still differ from the backup: {remaining}")
                return _result(base, outcome="rollback_failed", ok=False, changed=True,
                                    problems=tuple(remaining), error=ErrorInfo.of(error))  # fmt: skip
            return _result(base, outcome="rolled_back" if sent else "unchanged", ok=True,
                                changed=bool(sent))  # fmt: skip

        if session is not None:
            try:
                return body(session)
            except DeviceError as exc:
                return DeviceResult(device=self.name, operation="rollback", outcome="rollback_failed", ok=False,
                                    changed=True, error=ErrorInfo.of(exc))  # fmt: skip
        return self._run("rollback", body)

    def rollback_template(self, plan: NetworkChange) -> DeviceResult:
        """No backup at hand: apply the rendered rollback and check the plan's VLAN, SVI and ACL are gone."""

        def body(session: DeviceSession) -> DeviceResult:
            lines = render_rollback(plan, self.device.platform, self.name, templates_dir=self.templates_dir)
            session.send_config(lines)
            problems: list[str] = []
            if any(v.id == plan.vlan_id for v in session.vlans()):
                problems.append(f"VLAN {plan.vlan_id} is still there")
            if plan.acl_name in session.access_lists():
                problems.append(f"ACL {plan.acl_name} is still there")
            if plan.device(self.name).gateway and session.interface(f"Vlan{plan.vlan_id}") is not None:
                problems.append(f"SVI Vlan{plan.vlan_id} is still there")
            error = ErrorInfo.of(RollbackError(self.name, "; ".join(problems))) if problems else None
            return DeviceResult(device=self.name, operation="rollback", outcome="rollback_failed" if problems
                                else "rolled_back", ok=not problems, changed=True, pushed_lines=len(lines),
                                problems=tuple(problems), error=error)  # fmt: skip

        return self._run("rollback", body)
