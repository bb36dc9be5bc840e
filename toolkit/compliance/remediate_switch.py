"""`SwitchRemediator`: failing ``jaringan-intra`` rules put right through the Jaringan Intra device path.

`plan` changes nothing: it turns the failing rules into a `SwitchChange` (`toolkit.compliance.switch_fixes`)
and previews it as the Jaringan Intra analysis previews a segment, a unified diff of only the touched
sections (`toolkit.network.candidate.section_diff`; the rest of the config, secrets included, never shows).
`apply` works like `DeviceOps.push`: one `DeviceSession`, a backup file first (`session.backup`, 0600 under
``state_dir/network/backups``), then the same check `network.install` makes before pushing an approved
plan (the diff against the running config now must be the diff that was approved: a device changed since
the plan is refused untouched), the lines, a re-read that must show every touched section as planned, and
on any failure the touched sections restored from the backup (``ok=False, rolled_back=True``). The backup
taken by `apply` is recorded by the plan's digest, and `undo` restores it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.compliance.facts import SwitchFacts
from toolkit.compliance.gathering import RemediationOutcome, RemediationPlan, Remediator, TargetKind
from toolkit.compliance.switch_fixes import SwitchChange, SwitchFix, config_lines, fix_for, sections_text, target_config
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError, ToolkitError
from toolkit.network.candidate import differing, section_diff
from toolkit.network.device_ops import SessionFactory
from toolkit.network.errors import DeviceError, VerificationError
from toolkit.network.fanout import NetworkRunner
from toolkit.network.inventory import load_inventory
from toolkit.network.ios import RunningConfig, parse_running_config
from toolkit.network.runner_factory import build_runner
from toolkit.network.session import DeviceSession
from toolkit.private_files import private_dir, write_private

Log = Callable[[str], None]


class SwitchRemediator:
    """Plans, applies and undoes switch remediations (see the module docstring)."""

    kind: TargetKind = "switch"

    def __init__(self, runner: NetworkRunner, *, connect: SessionFactory = DeviceSession) -> None:
        self.runner = runner
        self._connect = connect

    @classmethod
    def from_settings(cls, settings: Any) -> SwitchRemediator:
        """The remediator of ``settings.network``'s inventory, reaching devices as the network actions do
        (to share one runner with a `SwitchGatherer`, pass ``SwitchRemediator(gatherer.runner)``)."""
        return cls(build_runner(settings, load_inventory(settings.network.inventory_file())))

    # ------------------------------------------------------------------ plan (pure)

    def plan(self, target: str, rules: Sequence[Any], facts: Any, work_dir: Any = None) -> RemediationPlan:
        """The change for ``rules`` (failing `SwitchRule` models) on ``target``, from its gathered facts."""
        self._device(target)
        if not isinstance(facts, SwitchFacts) or facts.device != target:
            raise InvalidInputError(f"no switch facts of {target!r} to plan from")
        fixes = tuple(SwitchFix(rule_id=rule.id, kind=fix_for(rule.id, rule.check)) for rule in rules)
        if not fixes:
            raise InvalidInputError("no failing rule to remediate", errors=[("rules", "at least one")])
        running, after, headers = target_config(facts, [f.kind for f in fixes])
        if not headers:
            raise ConflictError(f"{target}: the gathered config already reads as the fixes would leave it")
        config_lines(after, running, headers)  # refused now, not at apply, if any line is not ours to send
        change = SwitchChange(device=target, fixes=fixes, headers=tuple(headers),
                              before=sections_text(running, headers), after=sections_text(after, headers))
        return RemediationPlan(kind="switch", target=target, rule_ids=tuple(f.rule_id for f in fixes),
                               preview=section_diff(running, after, headers, target),
                               detail=change.model_dump(mode="json"))

    # ------------------------------------------------------------------ apply / undo (one session each)

    def apply(self, plan: RemediationPlan, work_dir: Any, log: Log) -> RemediationOutcome:
        change = self._change(plan)
        after = parse_running_config(change.after)
        headers = list(change.headers)
        try:
            session = self._session(change.device)
            with session:
                backup = session.backup(self.runner.backup_dir)
                running = parse_running_config(backup.text())
                if section_diff(running, after, headers, change.device) != plan.preview:
                    log(f"{change.device}: running config changed since the plan; nothing sent")
                    return RemediationOutcome(ok=False, error=f"{change.device}: the running config changed since "
                                                              "the plan was made; plan again")
                lines = config_lines(after, running, headers)
                self._record(plan, backup.path)
                try:
                    session.send_config(lines)
                    log(f"{change.device}: sent {len(lines)} line(s); backup {backup.path.name}")
                    remaining = differing(after, session.running(), headers)
                    if remaining:
                        raise VerificationError(change.device, f"sections not as planned: {remaining}")
                except DeviceError as exc:
                    log(f"{change.device}: {exc.message}; restoring the backup")
                    restored = self._restore(running, headers, session, log) or self._restore_fresh(
                        change.device, running, headers, log)  # the first session may be the one that died
                    return RemediationOutcome(ok=False, rolled_back=restored, error=exc.message,
                                              log=f"push failed, {'restored' if restored else 'NOT restored'}")
        except ToolkitError as exc:
            return RemediationOutcome(ok=False, error=exc.message)
        log(f"{change.device}: verified {len(headers)} section(s)")
        return RemediationOutcome(ok=True, log=f"{change.device}: {len(lines)} line(s), verified")

    def undo(self, plan: RemediationPlan, work_dir: Any, log: Log) -> RemediationOutcome:
        change = self._change(plan)
        record = self._record_file(plan)
        if not record.is_file():
            return RemediationOutcome(ok=False, error=f"{change.device}: this plan was never applied (no backup)")
        backup = Path(json.loads(record.read_text(encoding="utf-8"))["backup"])
        wanted = parse_running_config(backup.read_text(encoding="utf-8"))
        try:
            with self._session(change.device) as session:
                restored = self._restore(wanted, list(change.headers), session, log)
        except ToolkitError as exc:
            return RemediationOutcome(ok=False, error=exc.message)
        if not restored:
            return RemediationOutcome(ok=False, error=f"{change.device}: sections still differ from the backup")
        return RemediationOutcome(ok=True, rolled_back=True, log=f"{change.device}: restored {backup.name}")

    # ------------------------------------------------------------------ helpers

    def _restore(self, wanted: RunningConfig, headers: list[str], session: DeviceSession, log: Log) -> bool:
        """Bring ``headers`` back to ``wanted`` (a backup); True when a re-read shows they are."""
        try:
            lines = config_lines(wanted, session.running(), headers)
            session.send_config(lines)
            remaining = differing(wanted, session.running(), headers)
        except (DeviceError, InvalidInputError) as exc:
            log(f"{session.name}: restore failed: {exc.message}")
            return False
        log(f"{session.name}: restored {len(headers)} section(s) with {len(lines)} line(s)"
            + (f"; still differing: {remaining}" if remaining else ""))
        return not remaining

    def _restore_fresh(self, device: str, wanted: RunningConfig, headers: list[str], log: Log) -> bool:
        try:
            with self._session(device) as session:
                return self._restore(wanted, headers, session, log)
        except ToolkitError as exc:
            log(f"{device}: restore in a new session failed: {exc.message}")
            return False

    def _change(self, plan: RemediationPlan) -> SwitchChange:
        if plan.kind != "switch":
            raise InvalidInputError(f"not a switch remediation plan: {plan.kind}")
        try:
            change = SwitchChange.model_validate(plan.detail)
        except ValidationError as exc:
            raise InvalidInputError(f"the plan's detail is not a switch change ({exc.error_count()} problem(s))",
                                    errors=[("detail", "not a SwitchChange")]) from None
        if change.device != plan.target:
            raise InvalidInputError("the plan's detail names another device than its target")
        self._device(change.device)
        return change

    def _device(self, name: str) -> None:
        if not any(d.name == name for d in self.runner.inventory.devices()):
            raise NotFoundError(f"switch {name!r} is not in the network inventory", target=name)

    def _session(self, name: str) -> DeviceSession:
        device = next(d for d in self.runner.inventory.devices() if d.name == name)
        return self._connect(self.runner.resolver.device(device), self.runner.session_options)

    def _record_file(self, plan: RemediationPlan) -> Path:
        return self.runner.changes_dir / f"compliance-{plan.target}-{plan.digest()[:16]}.json"

    def _record(self, plan: RemediationPlan, backup: Path) -> None:
        private_dir(self.runner.changes_dir)
        path = self._record_file(plan)
        tmp = path.with_suffix(".tmp")
        write_private(tmp, json.dumps({"plan": plan.digest(), "device": plan.target, "backup": str(backup)}))
        tmp.replace(path)


def _is_a_remediator(remediator: SwitchRemediator) -> Remediator:
    """mypy checks here that `SwitchRemediator` satisfies the `Remediator` protocol the runner is typed against."""
    return remediator
