"""The compliance report (issue 14, point 6) as data: pass rates per profile, target and rule over a period,
the daily trend, what fails now, the checks that could not finish, and the waivers of the period.

Pure: `build_report` takes the runs (`ComplianceHistory.runs`) and the waivers and returns a frozen
`ComplianceReport`; `report_from` reads them from the stores first. Rendering (HTML, chart, JSON) is
`toolkit.compliance.report_html`'s job.

Counting, the same as `ComplianceRun.pass_rate`: a result passes when its verdict is ``pass`` or it is a
``fail`` an approved waiver excused; an ``error`` (a check that could not finish) never passes, so an
unreachable target lowers the rate instead of vanishing from it. "Failing now" is the latest result of each
(profile, target) in the period with no waiver; "since" is the first run of its unbroken run of failures (an
error in between does not break it: nothing was learnt). Days are calendar days in the deployment's zone.
Evidence and error text are passed through ``mask`` (the deployment's secret masker) and shortened: a report
is mailed and printed, the whole evidence stays in the store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from toolkit.ports.compliance_records import ComplianceRun, RuleRecord, Waiver
from toolkit.ports.state import ComplianceHistory, Waivers

EVIDENCE_CHARS = 500
WaiverState = Literal["berlaku", "kedaluwarsa", "dicabut", "menunggu"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Rate(_Frozen):
    """``good`` of ``total`` results passed (waived failures included); ``rate`` None when nothing ran."""
    total: int = 0
    good: int = 0
    failed: int = 0
    waived: int = 0
    errors: int = 0

    @property
    def rate(self) -> float | None:
        return self.good / self.total if self.total else None

    def add(self, record: RuleRecord) -> Rate:
        waived = record.verdict == "fail" and record.waiver is not None
        return Rate(total=self.total + 1, good=self.good + int(record.verdict == "pass" or waived),
                    failed=self.failed + int(record.verdict == "fail" and not waived),
                    waived=self.waived + int(waived), errors=self.errors + int(record.verdict == "error"))


class ProfileSummary(_Frozen):
    profile: str
    runs: int
    overall: Rate
    pass_rate: float | None
    last_run_at: datetime
    last_pass_rate: float | None
    last_failing: int


class TargetSummary(_Frozen):
    profile: str
    target: str
    overall: Rate
    pass_rate: float | None
    failing_now: int
    unreachable_now: str | None


class RuleSummary(_Frozen):
    profile: str
    rule_id: str
    title: str
    severity: str
    overall: Rate
    pass_rate: float | None


class TrendPoint(_Frozen):
    profile: str
    day: date
    runs: int
    pass_rate: float | None


class Failing(_Frozen):
    profile: str
    target: str
    rule_id: str
    title: str
    severity: str
    since: datetime
    last_seen: datetime
    evidence: str


class ErrorSummary(_Frozen):
    """Checks that could not finish, per (profile, target, rule); ``rule_id`` None: the target itself was
    unreachable (no rule could run)."""
    profile: str
    target: str
    rule_id: str | None
    count: int
    last_at: datetime
    detail: str


class WaiverRow(_Frozen):
    waiver: Waiver
    state: WaiverState


class ComplianceReport(_Frozen):
    generated_at: datetime
    timezone: str
    since: datetime
    until: datetime
    profile: str | None
    runs: int
    profiles: tuple[ProfileSummary, ...]
    targets: tuple[TargetSummary, ...]
    rules: tuple[RuleSummary, ...]
    trend: tuple[TrendPoint, ...]
    failing: tuple[Failing, ...]
    errors: tuple[ErrorSummary, ...]
    waivers: tuple[WaiverRow, ...]


def _short(text: str, mask: Callable[[str], str]) -> str:
    masked = mask(text)
    return masked if len(masked) <= EVIDENCE_CHARS else masked[:EVIDENCE_CHARS] + "…"


def _waiver_rows(waivers: Iterable[Waiver], profile: str | None, first_day: date, today: date,
                 since: datetime) -> tuple[WaiverRow, ...]:
    """Waivers that mattered in the period: pending ones, approved ones in force at some time in it (still
    or expired within it), and ones revoked in it. Rejected ones excused nothing and are left out."""
    rows: list[WaiverRow] = []
    for w in waivers:
        if profile is not None and w.profile != profile:
            continue
        if w.status == "requested":
            rows.append(WaiverRow(waiver=w, state="menunggu"))
        elif w.status == "approved" and w.expires_on >= first_day:
            rows.append(WaiverRow(waiver=w, state="berlaku" if w.in_force(today) else "kedaluwarsa"))
        elif w.status == "revoked" and w.decided_at is not None and w.decided_at >= since:
            rows.append(WaiverRow(waiver=w, state="dicabut"))
    return tuple(rows)


def build_report(runs: Iterable[ComplianceRun], waivers: Iterable[Waiver], *, since: datetime, until: datetime,
                 zone: ZoneInfo, profile: str | None = None,
                 mask: Callable[[str], str] = str) -> ComplianceReport:
    """The report of ``runs`` started in [since, until] (of ``profile`` when given), oldest first."""
    chosen = sorted((r for r in runs if since <= r.started_at <= until and profile in (None, r.profile)),
                    key=lambda r: (r.started_at, r.id))
    by_profile: dict[str, Rate] = defaultdict(Rate)
    by_target: dict[tuple[str, str], Rate] = defaultdict(Rate)
    by_rule: dict[tuple[str, str], Rate] = defaultdict(Rate)
    rule_info: dict[tuple[str, str], tuple[str, str]] = {}
    by_day: dict[tuple[str, date], Rate] = defaultdict(Rate)
    runs_per_day: dict[tuple[str, date], int] = defaultdict(int)
    runs_per_profile: dict[str, list[ComplianceRun]] = defaultdict(list)
    latest: dict[tuple[str, str], tuple[ComplianceRun, int]] = {}  # (profile, target) -> (run, index)
    streak: dict[tuple[str, str, str], datetime] = {}
    errors: dict[tuple[str, str, str | None], ErrorSummary] = {}

    def error(key: tuple[str, str, str | None], run: ComplianceRun, detail: str) -> None:
        held = errors.get(key)
        errors[key] = ErrorSummary(profile=key[0], target=key[1], rule_id=key[2],
                                   count=(held.count if held else 0) + 1, last_at=run.started_at,
                                   detail=_short(detail, mask))

    for run in chosen:
        day = run.started_at.astimezone(zone).date()
        runs_per_profile[run.profile].append(run)
        runs_per_day[(run.profile, day)] += 1
        for index, target in enumerate(run.targets):
            latest[(run.profile, target.target)] = (run, index)
            if target.unreachable is not None:
                error((run.profile, target.target, None), run, target.unreachable)
            for record in target.rules:
                tkey, rkey, dkey = (run.profile, target.target), (run.profile, record.rule_id), (run.profile, day)
                by_target[tkey] = by_target[tkey].add(record)
                by_rule[rkey] = by_rule[rkey].add(record)
                by_day[dkey] = by_day[dkey].add(record)
                by_profile[run.profile] = by_profile[run.profile].add(record)
                rule_info[(run.profile, record.rule_id)] = (record.title, record.severity)
                skey = (run.profile, target.target, record.rule_id)
                if record.verdict == "fail" and record.waiver is None:
                    streak.setdefault(skey, run.started_at)
                elif record.verdict == "error":
                    if target.unreachable is None:
                        error(skey, run, record.evidence)
                else:
                    streak.pop(skey, None)

    failing: list[Failing] = []
    targets: list[TargetSummary] = []
    for (prof, name), (run, index) in latest.items():
        seen = run.targets[index]
        now_failing = seen.failing()
        failing.extend(Failing(profile=prof, target=name, rule_id=r.rule_id, title=r.title, severity=r.severity,
                               since=streak.get((prof, name, r.rule_id), run.started_at), last_seen=run.started_at,
                               evidence=_short(r.evidence, mask)) for r in now_failing)
        rate = by_target[(prof, name)]
        targets.append(TargetSummary(profile=prof, target=name, overall=rate, pass_rate=rate.rate,
                                     failing_now=len(now_failing),
                                     unreachable_now=_short(seen.unreachable, mask) if seen.unreachable else None))
    profiles = []
    for prof, prof_runs in sorted(runs_per_profile.items()):
        last = prof_runs[-1]
        profiles.append(ProfileSummary(profile=prof, runs=len(prof_runs), overall=by_profile[prof],
                                       pass_rate=by_profile[prof].rate, last_run_at=last.started_at,
                                       last_pass_rate=last.pass_rate(),
                                       last_failing=sum(len(t.failing()) for t in last.targets)))
    today = until.astimezone(zone).date()
    return ComplianceReport(
        generated_at=until, timezone=zone.key, since=since, until=until, profile=profile, runs=len(chosen),
        profiles=tuple(profiles),
        targets=tuple(sorted(targets, key=lambda t: (t.profile, t.target))),
        rules=tuple(RuleSummary(profile=p, rule_id=r, title=rule_info[(p, r)][0], severity=rule_info[(p, r)][1],
                                overall=rate, pass_rate=rate.rate) for (p, r), rate in sorted(by_rule.items())),
        trend=tuple(TrendPoint(profile=p, day=d, runs=runs_per_day[(p, d)], pass_rate=rate.rate)
                    for (p, d), rate in sorted(by_day.items())),
        failing=tuple(sorted(failing, key=lambda f: (f.profile, f.target, f.rule_id))),
        errors=tuple(sorted(errors.values(), key=lambda e: (e.profile, e.target, e.rule_id or ""))),
        waivers=_waiver_rows(waivers, profile, since.astimezone(zone).date(), today, since),
    )


def report_from(history: ComplianceHistory, waivers: Waivers, *, since: datetime, until: datetime, zone: ZoneInfo,
                profile: str | None = None, mask: Callable[[str], str] = str) -> ComplianceReport:
    """`build_report` over the stores: one indexed read of the period's runs, one of the waivers."""
    return build_report(history.runs(profile=profile, since=since), waivers.list(profile=profile), since=since,
                        until=until, zone=zone, profile=profile, mask=mask)
