"""One compliance sweep: resolve the targets, read their facts, judge every rule, apply the waivers.

Why it is separate from the commands that call it (`toolkit.commands.compliance`): a sweep changes nothing
anywhere (issue 14, point 2); storing the run, opening tickets for its findings and auditing who asked are
the command's. The Audit TI actions (`toolkit.actions.compliance`) call the same `sweep` to identify and
to verify, so a finding on a ticket and a finding in the history are judged by the same code.

A target that could not be read becomes a `TargetRecord` with ``unreachable`` and every rule ``error``; a
failing rule with an approved, unexpired waiver keeps its verdict ``fail`` and names the waiver, so
reports show it and no ticket is opened for it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from toolkit.compliance.gathering import Gatherer, GatherFailure, Remediator, TargetKind
from toolkit.compliance.models import RuleResult, evaluate
from toolkit.compliance.waivers import today_in, waivers_in_force
from toolkit.errors import ConfigurationError, NotFoundError
from toolkit.ports.compliance_records import ComplianceRun, RuleRecord, TargetRecord, Trigger, Waiver
from toolkit.services import Services

MAX_EVIDENCE = 4000


class ComplianceKit:
    """The profiles and, per target kind, how to read and how to put right. Built once by the root from
    factories, each called on first use: a deployment without switches never needs a network inventory,
    and a server sweep never opens one."""

    def __init__(self, profiles: Mapping[str, Any],
                 gatherers: Mapping[str, Callable[[], Gatherer]] | None = None,
                 remediators: Mapping[str, Callable[[], Remediator]] | None = None) -> None:
        self.profiles = profiles
        self._factories: dict[str, Callable[[], Any]] = {
            **{f"gather:{k}": v for k, v in (gatherers or {}).items()},
            **{f"remedy:{k}": v for k, v in (remediators or {}).items()}}
        self._built: dict[str, Any] = {}
        self._lock = threading.Lock()

    def profile(self, profile_id: str) -> Any:
        try:
            return self.profiles[profile_id]
        except KeyError:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise NotFoundError(f"no compliance profile '{profile_id}' (known: {known})",
                                profile=profile_id) from None

    def _part(self, key: str, what: str) -> Any:
        with self._lock:
            if key not in self._built:
                factory = self._factories.get(key)
                if factory is None:
                    raise ConfigurationError(f"no {what} targets is configured")
                self._built[key] = factory()
            return self._built[key]

    def gatherer(self, kind: TargetKind | str) -> Gatherer:
        return self._part(f"gather:{kind}", f"fact gatherer for {kind}")  # type: ignore[no-any-return]

    def remediator(self, kind: TargetKind | str) -> Remediator:
        return self._part(f"remedy:{kind}", f"remediator for {kind}")  # type: ignore[no-any-return]


def _record(result: RuleResult, waiver: Waiver | None) -> RuleRecord:
    evidence = result.outcome.evidence
    if len(evidence) > MAX_EVIDENCE:
        evidence = evidence[:MAX_EVIDENCE] + " …"
    verdict = result.outcome.verdict.value
    return RuleRecord.model_validate({
        "rule_id": result.rule_id, "title": result.title, "severity": result.severity.value, "verdict": verdict,
        "evidence": evidence, "waiver": waiver.id if waiver is not None and verdict == "fail" else None})


def judge(profile: Any, target: str, facts: Any, waivers: Mapping[str, Waiver]) -> TargetRecord:
    """Every rule of ``profile`` on one target's facts (or its gather failure), waivers applied; pure."""
    if isinstance(facts, GatherFailure):
        reason = f"target tidak dapat dibaca: {facts.reason}"
        return TargetRecord(target=target, unreachable=facts.reason, rules=tuple(
            RuleRecord(rule_id=r.id, title=r.title, severity=r.severity.value, verdict="error", evidence=reason)
            for r in profile.rules))
    return TargetRecord(target=target, rules=tuple(_record(res, waivers.get(res.rule_id))
                                                   for res in evaluate(profile, facts)))


@dataclass(frozen=True)
class Sweep:
    run: ComplianceRun
    facts: Mapping[str, Any]  # target -> facts model or GatherFailure, for the remediation plan


def sweep(services: Services, kit: ComplianceKit, profile_id: str, selectors: Sequence[str], *, by: str,
          trigger: Trigger, trigger_ref: str | None, progress: Callable[[str], None] | None = None,
          resolved: Callable[[list[str]], None] | None = None) -> Sweep:
    """Run ``profile_id`` on the targets ``selectors`` name; reads only. Unknown profile or target raises
    before anything is read. ``resolved(targets)`` is told the targets before they are read (a progress
    bar's total), ``progress(target)`` after each. Times come from ``services.clock``; the waivers are the
    store's, in force on the day of the deployment's zone (``settings.compliance.timezone``)."""
    profile = kit.profile(profile_id)
    gatherer = kit.gatherer(profile.target)
    targets = gatherer.resolve(selectors)
    if not targets:
        raise NotFoundError(f"no target matches {', '.join(selectors)}", selectors=list(selectors))
    if resolved is not None:
        resolved(targets)
    clock = services.clock.now
    started = clock()
    facts = gatherer.gather(targets, progress)
    day = today_in(clock(), services.settings.compliance.zone())
    waiver_list = services.state.waivers.list(profile=profile.id)
    records = []
    for target in targets:
        seen = facts.get(target) or GatherFailure(target=target, reason="gatherer returned nothing")
        records.append(judge(profile, target, seen, waivers_in_force(waiver_list, profile.id, target, day)))
    run = ComplianceRun(id=uuid.uuid4().hex, profile=profile.id, trigger=trigger, trigger_ref=trigger_ref, by=by,
                        started_at=started, finished_at=clock(), targets=tuple(records))
    return Sweep(run=run, facts=facts)
