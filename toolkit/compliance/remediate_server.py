"""`ServerRemediator`: failing server rules put right by their playbooks, reversibly.

A plan is the rules' distinct remediation playbooks, in the order the rules come (the profile's order),
each with its undo playbook, and the preview is what Ansible's check mode with ``--diff`` says they
would change on the target: nothing is changed while planning. ``apply`` runs the playbooks in order;
when one fails, the undo of the failed one and of every one applied before it run, newest first, so the
target is left as it was before ``apply`` (each playbook records its before-state on the target, under
``/var/lib/spbe/compliance/``, and its undo puts exactly that back). ``undo`` runs every undo, newest
first, for a remediation that was applied and must be taken back.

Playbooks are named relative to ``settings.playbooks_dir``; the target is the inventory host, passed as
``spbe_target`` and as the run's limit (with the ``monitoring`` group for the playbooks that also change
Prometheus' side).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.actions.ansible.runner import PlaybookRun, PlaybookSummary, RunStatus, run_playbook
from toolkit.compliance.gathering import RemediationOutcome, RemediationPlan, TargetKind
from toolkit.compliance.models import PLAYBOOK, PlaybookRemediation, ServerRule
from toolkit.compliance.server_targets import targets
from toolkit.errors import InvalidInputError

# Playbooks that also act on the monitoring node (file_sd and rules of Prometheus).
WITH_MONITORING = frozenset({"install_monitoring.yml", "compliance/monitoring_undo.yml"})
MAX_PREVIEW = 200_000


class PlaybookStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    playbook: str = Field(pattern=PLAYBOOK)
    undo_playbook: str = Field(pattern=PLAYBOOK)
    rule_ids: tuple[str, ...] = Field(min_length=1)


class ServerPlanDetail(BaseModel):
    """`RemediationPlan.detail` of a server plan: the steps `apply` runs, in order."""
    model_config = ConfigDict(frozen=True, extra="forbid")
    steps: tuple[PlaybookStep, ...] = Field(min_length=1)
    check_failed: tuple[str, ...] = Field(
        default=(), description="playbooks whose check-mode run failed: apply would fail there and roll back")


def steps_for(rules: Sequence[ServerRule]) -> tuple[PlaybookStep, ...]:
    """Distinct playbooks in the rules' order; a playbook named by several rules runs once for all."""
    order: dict[tuple[str, str], list[str]] = {}
    for rule in rules:
        remediation = rule.remediation
        if not isinstance(remediation, PlaybookRemediation):
            raise InvalidInputError(f"rule {rule.id} is not remediated by a playbook", rule=rule.id)
        order.setdefault((remediation.playbook, remediation.undo_playbook), []).append(rule.id)
    seen: dict[str, str] = {}
    for playbook, undo in order:
        if seen.setdefault(playbook, undo) != undo:
            raise InvalidInputError(f"playbook {playbook} is named with two different undo playbooks",
                                    playbook=playbook)
    return tuple(PlaybookStep(playbook=p, undo_playbook=u, rule_ids=tuple(ids)) for (p, u), ids in order.items())


class ServerRemediator:
    """Plans, applies and undoes server remediations; see the module docstring for the contract."""

    kind: TargetKind = "server"

    def __init__(self, settings: Any) -> None:
        self._inventory: Path = settings.effective_inventory()
        self._playbooks: Path = Path(settings.playbooks_dir)
        self._timeout_s: int = settings.playbook_timeout_s

    # ------------------------------------------------------------------ Remediator

    def plan(self, target: str, rules: Sequence[Any], facts: Any, work_dir: Any) -> RemediationPlan:
        targets(self._inventory, [target])  # an unknown or malformed target raises before anything runs
        steps = steps_for(rules)
        sections, check_failed = [], []
        for step in steps:
            lines: list[str] = []
            summary = self._run(step.playbook, target, Path(work_dir), lines.append, check=True)
            state = ""
            if summary.status != RunStatus.SUCCESSFUL:
                check_failed.append(step.playbook)
                state = f" -- check mode {summary.status.value}: " + "; ".join(
                    f"{t.task}: {t.msg}" for t in summary.failed_tasks)
            sections.append(f"=== {step.playbook} ({', '.join(step.rule_ids)}); undo: {step.undo_playbook}{state}\n"
                            + "\n".join(lines))
        preview = "\n\n".join(sections)
        if len(preview) > MAX_PREVIEW:
            preview = preview[:MAX_PREVIEW] + "\n[... cut]"
        detail = ServerPlanDetail(steps=steps, check_failed=tuple(check_failed))
        return RemediationPlan(kind="server", target=target, rule_ids=tuple(i for s in steps for i in s.rule_ids),
                               preview=preview, detail=detail.model_dump(mode="json"))

    def apply(self, plan: RemediationPlan, work_dir: Any, log: Callable[[str], None]) -> RemediationOutcome:
        detail = self._detail(plan)
        done: list[PlaybookStep] = []
        lines: list[str] = []

        def out(line: str) -> None:
            lines.append(line)
            log(line)

        for step in detail.steps:
            summary = self._run(step.playbook, plan.target, Path(work_dir), out)
            if summary.status != RunStatus.SUCCESSFUL:
                error = f"{step.playbook} {summary.status.value}: " + (
                    "; ".join(f"{t.task}: {t.msg}" for t in summary.failed_tasks) or "no task named")
                out(f"spbe: {error}; rolling back")
                undone = self._undo_steps([*done, step], plan.target, Path(work_dir), out)
                return RemediationOutcome(ok=False, rolled_back=undone is None, log=_tail(lines),
                                          error=error if undone is None else f"{error}; rollback failed: {undone}")
            done.append(step)
        return RemediationOutcome(ok=True, log=_tail(lines))

    def undo(self, plan: RemediationPlan, work_dir: Any, log: Callable[[str], None]) -> RemediationOutcome:
        detail = self._detail(plan)
        lines: list[str] = []

        def out(line: str) -> None:
            lines.append(line)
            log(line)

        failure = self._undo_steps(list(detail.steps), plan.target, Path(work_dir), out)
        return RemediationOutcome(ok=failure is None, rolled_back=failure is None, log=_tail(lines), error=failure)

    # ------------------------------------------------------------------ internals

    def _detail(self, plan: RemediationPlan) -> ServerPlanDetail:
        if plan.kind != "server":
            raise InvalidInputError(f"a {plan.kind} plan cannot be applied by the server remediator")
        targets(self._inventory, [plan.target])
        try:
            return ServerPlanDetail.model_validate(plan.detail)
        except ValidationError as exc:
            raise InvalidInputError(f"server remediation plan for {plan.target} is malformed: "
                                    f"{exc.errors(include_url=False)[0]['msg']}") from None

    def _undo_steps(self, steps: list[PlaybookStep], target: str, work_dir: Path,
                    out: Callable[[str], None]) -> str | None:
        """Every step's undo, newest first, all attempted even when one fails; the failures, or None."""
        failures = []
        for step in reversed(steps):
            summary = self._run(step.undo_playbook, target, work_dir, out)
            if summary.status != RunStatus.SUCCESSFUL:
                failures.append(f"{step.undo_playbook} {summary.status.value}: " + "; ".join(
                    f"{t.task}: {t.msg}" for t in summary.failed_tasks))
        return "; ".join(failures) or None

    def _run(self, playbook: str, target: str, work_dir: Path, out: Callable[[str], None],
             check: bool = False) -> PlaybookSummary:
        if not re.fullmatch(PLAYBOOK, playbook):
            raise InvalidInputError(f"invalid playbook name {playbook!r}")
        limit = f"{target},monitoring" if playbook in WITH_MONITORING else target
        run = PlaybookRun(playbook=self._playbooks / playbook, inventory=self._inventory, limit=limit,
                          extra_vars={"spbe_target": target}, timeout_s=self._timeout_s, check_mode=check,
                          private_data_dir=work_dir / "compliance-runner")
        out(f"spbe: {'check mode ' if check else ''}{playbook} on {target}")
        return run_playbook(run, on_line=out)


def _tail(lines: list[str], keep: int = 400) -> str:
    return "\n".join(lines if len(lines) <= keep else ["[...]", *lines[-keep:]])
