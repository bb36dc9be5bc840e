"""The compliance history and waiver ports' contract on every implementation (conftest.state_stores).

History: a run comes back equal, once however often it is recorded, oldest first, filtered by profile and
start time, ``limit`` keeping the newest. Waivers: ids ``W-0001``... in request order and distinct across
processes requesting at once; only requested → approved/rejected and approved → revoked, so a second
decision of one waiver (two approvers at once included) is a conflict.
"""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from toolkit.bootstrap import App
from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.compliance_records import ComplianceRun, RuleRecord, TargetRecord, WaiverRequest
from toolkit.ports.state import StateStores
from toolkit.settings import Settings

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _run(n: int, profile: str = "server-dasar", *, at: datetime | None = None) -> ComplianceRun:
    started = at or NOW + timedelta(days=n)
    rules = (RuleRecord(rule_id="SSH-ROOT-LOGIN", title="Login root SSH", severity="tinggi", verdict="pass",
                        evidence="PermitRootLogin no"),
             RuleRecord(rule_id="SSH-PASSWORD-AUTH", title="Login sandi SSH", severity="tinggi", verdict="fail",
                        evidence="PasswordAuthentication yes\n<script>", waiver="W-0001" if n % 2 else None))
    return ComplianceRun(id=f"{n:032x}", profile=profile, trigger="schedule", trigger_ref="harian-dc", by="spbe",
                         started_at=started, finished_at=started + timedelta(minutes=1),
                         targets=(TargetRecord(target="pd-01", rules=rules),
                                  TargetRecord(target="pd-02", unreachable="timeout", rules=())))


def test_a_run_is_stored_once_and_read_back_equal(state_stores: StateStores) -> None:
    history = state_stores.compliance_history
    run = _run(1)
    history.record(run)
    history.record(run)
    assert history.get(run.id) == run
    assert history.runs() == [run]
    with pytest.raises(NotFoundError):
        history.get("f" * 32)


def test_runs_are_oldest_first_filtered_and_limited_to_the_newest(state_stores: StateStores) -> None:
    history = state_stores.compliance_history
    for n in (3, 1, 2):
        history.record(_run(n))
    history.record(_run(4, "jaringan-intra"))
    wita = datetime(2026, 3, 4, 16, 0, tzinfo=UTC).astimezone()  # the same instant in another zone
    assert [r.id for r in history.runs()] == [_run(n).id for n in (1, 2, 3, 4)]
    assert [r.id for r in history.runs(profile="server-dasar")] == [_run(n).id for n in (1, 2, 3)]
    assert [r.id for r in history.runs(since=NOW + timedelta(days=2))] == [_run(n).id for n in (2, 3, 4)]
    assert [r.id for r in history.runs(since=wita)] == [_run(n).id for n in (3, 4)]
    assert [r.id for r in history.runs(profile="server-dasar", limit=2)] == [_run(n).id for n in (2, 3)]
    assert history.runs(profile="splp") == []


def _request(target: str = "pd-01", rule: str = "SSH-PASSWORD-AUTH") -> WaiverRequest:
    return WaiverRequest(profile="server-dasar", rule_id=rule, target=target,
                         reason="Aplikasi lama masih butuh login sandi", expires_on=date(2026, 6, 30))


def test_waivers_are_numbered_and_move_only_forward(state_stores: StateStores) -> None:
    waivers = state_stores.waivers
    first = waivers.request(_request(), "andi", NOW)
    second = waivers.request(_request("pd-02"), "andi", NOW)
    assert (first.id, second.id) == ("W-0001", "W-0002")
    assert (first.status, first.requested_by, first.requested_at) == ("requested", "andi", NOW)
    approved = waivers.decide("W-0001", "approved", "kabid", NOW + timedelta(hours=1), "disetujui")
    assert (approved.status, approved.decided_by, approved.decision_note) == ("approved", "kabid", "disetujui")
    assert waivers.get("W-0001") == approved
    with pytest.raises(ConflictError):
        waivers.decide("W-0001", "approved", "kadis", NOW)
    with pytest.raises(ConflictError):
        waivers.decide("W-0001", "rejected", "kadis", NOW)
    with pytest.raises(ConflictError):
        waivers.decide("W-0002", "revoked", "kadis", NOW)
    assert waivers.decide("W-0002", "rejected", "kadis", NOW).status == "rejected"
    with pytest.raises(ConflictError):
        waivers.decide("W-0002", "approved", "kadis", NOW)
    assert waivers.decide("W-0001", "revoked", "kadis", NOW).status == "revoked"
    with pytest.raises(ConflictError):
        waivers.decide("W-0001", "revoked", "kadis", NOW)
    with pytest.raises(NotFoundError):
        waivers.decide("W-0099", "approved", "kadis", NOW)
    assert [w.id for w in waivers.list()] == ["W-0001", "W-0002"]
    assert [w.id for w in waivers.list(target="pd-02")] == ["W-0002"]
    assert waivers.list(profile="splp") == []


def test_two_approvers_at_once_decide_a_waiver_once(state_stores: StateStores) -> None:
    waivers = state_stores.waivers
    waivers.request(_request(), "andi", NOW)
    barrier = threading.Barrier(6)
    won: list[str] = []
    lost: list[str] = []

    def decide(me: str) -> None:
        barrier.wait()
        try:
            waivers.decide("W-0001", "approved", me, NOW)
            won.append(me)
        except ConflictError:
            lost.append(me)

    threads = [threading.Thread(target=decide, args=(f"kabid{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == 5
    assert waivers.get("W-0001").decided_by == won[0]


def _request_from_child(state_dir: str, kind: str, go: object, out: object) -> None:
    app = App(Settings(state_dir=Path(state_dir), state={"kind": kind}))
    go.wait(60)  # type: ignore[attr-defined]  # both children are ready: they race from here
    ids = [app.state.waivers.request(_request(f"pd-{i:02}"), "andi", NOW).id for i in range(5)]
    out.put(ids)  # type: ignore[attr-defined]
    app.close()


def test_two_processes_requesting_at_once_get_distinct_ids(state_stores: StateStores, tmp_path: Path,
                                                           request: pytest.FixtureRequest) -> None:
    kind = request.node.callspec.params["state_stores"]
    state_stores.waivers.list()  # the schema exists before the children race
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_request_from_child, args=(str(tmp_path / "state"), kind, go, out))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    ids = [i for _ in procs for i in out.get(timeout=60)]
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    assert sorted(ids) == [f"W-{n:04d}" for n in range(1, 11)]
    assert [w.id for w in state_stores.waivers.list()] == [f"W-{n:04d}" for n in range(1, 11)]
