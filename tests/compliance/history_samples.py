"""A hand-built compliance history with known numbers (tests/compliance/test_report.py works them out).

Gorontalo (WITA). Period: from 1 March 2026 00:00 WITA to 3 March 12:00 WITA. server-dasar runs A (1 March
02:00 WITA, i.e. 28 February in UTC), B and C (2 March); jaringan-intra runs D, E, F (1, 2, 3 March), and one
run before the period that must not count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from toolkit.ports.compliance_records import ComplianceRun, RuleRecord, TargetRecord, Verdict, Waiver, WaiverStatus

WITA = ZoneInfo("Asia/Makassar")
SINCE = datetime(2026, 3, 1, 0, 0, tzinfo=WITA)
UNTIL = datetime(2026, 3, 3, 12, 0, tzinfo=WITA)
SD_RULES = ("SD-SSH-01", "SD-SSH-02", "SD-FW-01", "SD-FS-01")
HOSTILE_EVIDENCE = "<script>alert('bukti')</script> password=RAHASIA-123"
LONG_EVIDENCE = "x" * 600


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=WITA).astimezone(UTC)


def _rule(rule_id: str, verdict: Verdict, evidence: str = "", waiver: str | None = None) -> RuleRecord:
    return RuleRecord(rule_id=rule_id, title=f"Judul {rule_id}", severity="tinggi", verdict=verdict,
                      evidence=evidence or f"{rule_id} {verdict}", waiver=waiver)


def _target(name: str, verdicts: str, rules: tuple[str, ...] = SD_RULES, evidence: dict[str, str] | None = None,
            waivers: dict[str, str] | None = None) -> TargetRecord:
    """``verdicts``: one letter per rule, p(ass) f(ail) e(rror)."""
    names: dict[str, Verdict] = {"p": "pass", "f": "fail", "e": "error"}
    pairs = zip(rules, verdicts, strict=True)
    return TargetRecord(target=name, rules=tuple(
        _rule(r, names[v], (evidence or {}).get(r, ""), (waivers or {}).get(r)) for r, v in pairs))


def _unreachable(name: str, why: str, rules: tuple[str, ...] = SD_RULES) -> TargetRecord:
    return TargetRecord(target=name, unreachable=why, rules=tuple(_rule(r, "error", why) for r in rules))


def _run(n: int, profile: str, started: datetime, *targets: TargetRecord) -> ComplianceRun:
    return ComplianceRun(id=f"{n:032x}", profile=profile, trigger="schedule", by="spbe", started_at=started,
                         finished_at=started + timedelta(minutes=2), targets=targets)


JI = ("JI-HTTP-01", "JI-SNMP-01")


def history() -> list[ComplianceRun]:
    return [
        _run(9, "server-dasar", at(1, 2) - timedelta(days=3), _target("pd-01", "ffff")),  # before the period
        _run(1, "server-dasar", at(1, 2), _target("pd-01", "pfpp"),
             _target("pd-02", "pffe", evidence={"SD-FS-01": "timeout"})),
        _run(2, "server-dasar", at(2, 2), _target("pd-01", "pfpp", waivers={"SD-SSH-02": "W-0001"}),
             _unreachable("pd-02", "ssh: timed out")),
        _run(3, "server-dasar", at(2, 14), _target("pd-01", "pffp", evidence={"SD-FW-01": HOSTILE_EVIDENCE,
                                                                              "SD-SSH-02": LONG_EVIDENCE}),
             _target("pd-02", "pppp")),
        _run(4, "jaringan-intra", at(1, 3), _target("sw-01", "pf", JI)),
        _run(5, "jaringan-intra", at(2, 3), _target("sw-01", "pe", JI, evidence={"JI-SNMP-01": "parse error"})),
        _run(6, "jaringan-intra", at(3, 3), _target("sw-01", "pf", JI)),
    ]


HOSTILE_REASON = "<img src=x onerror=alert(1)> aplikasi lama"


def _waiver(n: int, status: WaiverStatus, expires: date, *, profile: str = "server-dasar",
            rule: str = "SD-SSH-02", target: str = "pd-01", reason: str = "Aplikasi lama masih butuh sandi",
            decided: datetime | None = None) -> Waiver:
    return Waiver(id=f"W-{n:04d}", profile=profile, rule_id=rule, target=target, reason=reason, expires_on=expires,
                  requested_by="eko", requested_at=at(1, 1) - timedelta(days=10), status=status,
                  decided_by=None if status == "requested" else "kabid",
                  decided_at=None if status == "requested" else (decided or at(1, 1) - timedelta(days=9)))


def waivers() -> list[Waiver]:
    return [
        _waiver(1, "approved", date(2026, 3, 2)),  # expired within the period
        _waiver(2, "approved", date(2026, 12, 31), rule="SD-FW-01", reason=HOSTILE_REASON),  # in force
        _waiver(3, "requested", date(2026, 6, 30), target="pd-02"),  # pending
        _waiver(4, "rejected", date(2026, 6, 30)),  # excused nothing: left out
        _waiver(5, "approved", date(2026, 2, 20)),  # expired before the period: left out
        _waiver(6, "revoked", date(2026, 6, 30), profile="jaringan-intra", rule="JI-SNMP-01", target="sw-01",
                decided=at(2, 9)),  # revoked within the period
    ]
