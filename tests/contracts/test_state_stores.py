"""The state ports' contract on every implementation (conftest.state_stores): what the engine relies on when
it allocates, contains, registers a credential or escalates, whichever database holds it.

Allocators: a (ticket, step) gets what it holds back without ``choose`` being asked, ``choose`` sees what
is taken, a refusal by ``choose`` stores nothing, and threads claiming at once never share. Containment: one
open record per target. Issued credentials: supersession and a sweep claim that hands each row out once.
Escalation claims: once, again only after the lease when never completed. Compliance schedules: one per id,
each (schedule, due time) claimed once (threads at once included), never a due time at or before the last
one fired, never while paused, and resuming owes nothing missed meanwhile.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.schedule_records import Schedule
from toolkit.ports.state import StateStores
from toolkit.ports.state_records import (
    ContainmentKind,
    ContainmentStatus,
    IssuedCredential,
    SegmentAllocation,
    TunnelSlot,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LAN = ipaddress.IPv4Network


def _refuse(_: object) -> str:
    raise ConflictError("nothing free")


def test_a_host_claim_is_held_per_ticket_and_step(state_stores: StateStores) -> None:
    hosts = state_stores.hosts
    seen: list[frozenset[str]] = []

    def first_free(taken: frozenset[str]) -> str:
        seen.append(taken)
        return next(name for name in ("pd-01", "pd-02", "pd-03") if name not in taken)

    assert hosts.claim("T-1", "instalasi", first_free) == "pd-01"
    assert hosts.claim("T-1", "instalasi", _refuse) == "pd-01", "held: choose is not asked again"
    assert hosts.claim("T-2", "instalasi", first_free) == "pd-02"
    assert seen == [frozenset(), frozenset({"pd-01"})]
    assert hosts.allocation("T-1", "instalasi") == "pd-01" and hosts.allocation("T-1", "lain") is None
    with pytest.raises(ConflictError):
        hosts.claim("T-3", "instalasi", _refuse)
    assert hosts.allocation("T-3", "instalasi") is None, "a refused choice stores nothing"
    hosts.release("T-1")
    assert hosts.claim("T-3", "instalasi", first_free) == "pd-01"


def test_threads_claiming_hosts_at_once_never_share_one(state_stores: StateStores) -> None:
    names = [f"pd-{i:02}" for i in range(4)]
    got: list[str] = []
    barrier = threading.Barrier(8)

    def first_free(taken: frozenset[str]) -> str:
        free = [n for n in names if n not in taken]
        if not free:
            raise ConflictError("the pool is empty")
        return free[0]

    def take(ticket: str) -> None:
        barrier.wait()
        try:
            got.append(state_stores.hosts.claim(ticket, "s", first_free))
        except ConflictError:
            pass  # this ticket gets nothing

    threads = [threading.Thread(target=take, args=(f"T-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == names


def _segment(ticket: str, vlan: int, subnet: str) -> SegmentAllocation:
    return SegmentAllocation(ticket_id=ticket, site="dinkes", vlan_id=vlan, subnet=LAN(subnet),
                             ports={"sw-01": ("Fa0/1",)}, users=5, allocated_at=NOW)


def test_a_segment_claim_sees_the_others_and_is_kept(state_stores: StateStores) -> None:
    segments = state_stores.segments
    first = segments.claim("T-1", lambda others: _segment("T-1", 101 + len(others), "10.20.1.0/28"))
    assert first == _segment("T-1", 101, "10.20.1.0/28")

    def second(others: Sequence[SegmentAllocation]) -> SegmentAllocation:
        assert list(others) == [first]
        return _segment("T-2", 102, "10.20.1.16/28")

    assert segments.claim("T-2", second).vlan_id == 102
    assert segments.claim("T-1", lambda _: _segment("T-1", 999, "10.99.0.0/28")) == first, "held"
    with pytest.raises(ConflictError):
        segments.claim("T-3", _refuse)  # type: ignore[arg-type]
    assert segments.get("T-3") is None
    assert [a.ticket_id for a in segments.all()] == ["T-1", "T-2"]
    segments.release("T-1")
    assert segments.get("T-1") is None


def test_a_tunnel_slot_is_held_per_ticket_and_step_on_its_gateway(state_stores: StateStores) -> None:
    tunnels = state_stores.tunnels
    seen: list[list[TunnelSlot]] = []

    def first_free(taken: Sequence[TunnelSlot]) -> int:
        seen.append(list(taken))
        return next(s for s in range(4) if s not in {t.slot for t in taken})

    assert tunnels.claim("T-1", "vpn", "gw-dc", LAN("192.168.10.0/24"), first_free) == 0
    assert tunnels.claim("T-1", "vpn", "gw-dc", LAN("192.168.10.0/24"), _refuse) == 0, "held"  # type: ignore[arg-type]
    assert tunnels.claim("T-2", "vpn", "gw-dc", LAN("192.168.20.0/24"), first_free) == 1
    assert tunnels.claim("T-3", "vpn", "gw-other", LAN("192.168.30.0/24"), first_free) == 0, "per gateway"
    assert seen[1] == [TunnelSlot(ticket="T-1", step="vpn", dc_host="gw-dc", slot=0, site_lan=LAN("192.168.10.0/24"))]
    tunnels.release("T-1")
    assert tunnels.claim("T-4", "vpn", "gw-dc", LAN("192.168.40.0/24"), first_free) == 0


def test_one_open_containment_per_target(state_stores: StateStores) -> None:
    records = state_stores.containment
    record, new = records.begin("T-1", ContainmentKind.ISOLATE_HOST, "pd-01", "rina", {"why": "uji"})
    assert new and record.status == ContainmentStatus.APPLYING and record.params == {"why": "uji"}
    again, new_again = records.begin("T-1", ContainmentKind.ISOLATE_HOST, "pd-01", "rina", {})
    assert (again.id, new_again) == (record.id, False)
    with pytest.raises(ConflictError, match="already contained by ticket T-1"):
        records.begin("T-2", ContainmentKind.ISOLATE_HOST, "pd-01", "rina", {})
    active = records.save(record.model_copy(update={"status": ContainmentStatus.ACTIVE, "before": {"rules": 3}}))
    assert records.get(record.id) == active and records.open_for(ContainmentKind.ISOLATE_HOST, "pd-01") == active
    records.save(active.model_copy(update={"status": ContainmentStatus.RELEASED}))
    assert records.open_for(ContainmentKind.ISOLATE_HOST, "pd-01") is None
    other, _ = records.begin("T-2", ContainmentKind.ISOLATE_HOST, "pd-01", "rina", {})
    assert [r.id for r in records.list("T-2")] == [other.id]
    assert [r.id for r in records.list(status=ContainmentStatus.RELEASED)] == [record.id]
    with pytest.raises(NotFoundError):
        records.get("C999999")


def _credential(ticket: str, consumer: str = "app-dinkes", expires: datetime = NOW + timedelta(days=30),
                ) -> IssuedCredential:
    return IssuedCredential(ticket_id=ticket, api="kependudukan", consumer=consumer, consumer_id="c-1",
                            gateway="express_gateway", kind="key-auth", key_id=f"k-{ticket}", masked="a1b2",
                            per_minute=60, endpoint="https://api.example.go.id/kependudukan", applicant="andi",
                            issued_at=NOW, expires_at=expires)


def test_issued_credentials_supersede_and_are_swept_once(state_stores: StateStores) -> None:
    issued = state_stores.issued
    assert issued.record(_credential("T-1")) == []
    assert issued.record(_credential("T-2")) == ["T-1"], "the same consumer again supersedes the older row"
    assert issued.get("T-1").status == "revoked" and issued.get("T-2").status == "active"
    assert issued.find("T-9") is None
    with pytest.raises(NotFoundError):
        issued.get("T-9")
    issued.record(_credential("T-3", consumer="app-bkd", expires=NOW - timedelta(minutes=1)))
    assert [c.ticket_id for c in issued.claim_due(NOW)] == ["T-3"]
    assert issued.claim_due(NOW) == [], "a second sweep at once gets nothing"
    issued.release("T-3")
    assert [c.ticket_id for c in issued.claim_due(NOW)] == ["T-3"], "given back, taken by the next sweep"
    ended = issued.end("T-3", "expired", actor="spbe", reason="masa berlaku habis", at=NOW)
    assert (ended.status, ended.ended_by) == ("expired", "spbe")
    rotated = issued.rotated("T-2", key_id="k-new", masked="z9y8", issued_at=NOW, expires_at=NOW + timedelta(days=60))
    assert (rotated.key_id, rotated.masked) == ("k-new", "z9y8")
    assert [c.ticket_id for c in issued.by_consumer("app-dinkes")] == ["T-1", "T-2"]
    assert {c.ticket_id for c in issued.all()} == {"T-1", "T-2", "T-3"}


def test_an_escalation_is_claimed_once_and_again_only_after_its_lease(state_stores: StateStores) -> None:
    claims = state_stores.escalations
    lease = timedelta(minutes=2)
    assert claims.claim("T-1", "step:a", "host:1", NOW, lease)
    assert not claims.claim("T-1", "step:a", "host:2", NOW + timedelta(minutes=1), lease), "held by host:1"
    assert claims.claim("T-1", "step:a", "host:2", NOW + timedelta(minutes=3), lease), "never completed: taken again"
    claims.done("T-1", "step:a", "timeline", NOW + timedelta(minutes=3))
    assert not claims.claim("T-1", "step:a", "host:3", NOW + timedelta(hours=1), lease), "done: never again"
    assert claims.claim("T-1", "sla:standar", "host:1", NOW, lease)
    assert [(c.ticket_id, c.key, c.notified_at) for c in claims.claims()] == [
        ("T-1", "sla:standar", None), ("T-1", "step:a", NOW + timedelta(minutes=3))]


def _schedule(schedule_id: str = "harian-dc", *, paused: bool = False) -> Schedule:
    return Schedule(id=schedule_id, profile="server-dasar", targets=("pd-01", "group:dc"), cron="0 2 * * *",
                    timezone="Asia/Makassar", created_by="eko", paused=paused, created_at=NOW, not_before=NOW)


def test_a_schedule_is_stored_once_per_id(state_stores: StateStores) -> None:
    schedules = state_stores.schedules
    added = schedules.add(_schedule())
    assert schedules.get("harian-dc") == added
    with pytest.raises(ConflictError, match="exists already"):
        schedules.add(_schedule())
    schedules.add(_schedule("mingguan-opd", paused=True))
    assert [s.id for s in schedules.list()] == ["harian-dc", "mingguan-opd"]
    with pytest.raises(NotFoundError):
        schedules.get("tidak-ada")


def test_a_due_time_is_claimed_once_and_never_one_at_or_before_the_last(state_stores: StateStores) -> None:
    schedules = state_stores.schedules
    schedules.add(_schedule())
    due = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    assert schedules.claim("harian-dc", due, "host:1", due)
    assert not schedules.claim("harian-dc", due, "host:2", due), "the same due time again"
    assert schedules.get("harian-dc").last_due == due
    assert not schedules.claim("harian-dc", due - timedelta(days=1), "host:2", due), "an earlier one"
    assert not schedules.claim("tidak-ada", due, "host:1", due), "an unknown schedule"
    schedules.finish("harian-dc", due, "not_configured", "no runner", due + timedelta(seconds=1))
    [run] = schedules.runs("harian-dc")
    assert (run.due_at, run.claimed_by, run.outcome, run.detail) == (due, "host:1", "not_configured", "no runner")
    assert run.finished_at == due + timedelta(seconds=1)


def test_threads_claiming_one_due_time_at_once_get_it_once(state_stores: StateStores) -> None:
    schedules = state_stores.schedules
    schedules.add(_schedule())
    due = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    barrier = threading.Barrier(8)
    won: list[str] = []

    def take(me: str) -> None:
        barrier.wait()
        if schedules.claim("harian-dc", due, me, due):
            won.append(me)

    threads = [threading.Thread(target=take, args=(f"host:{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(schedules.runs()) == 1


def test_a_paused_schedule_is_not_claimed_and_resuming_owes_nothing_missed(state_stores: StateStores) -> None:
    schedules = state_stores.schedules
    schedules.add(_schedule())
    later = NOW + timedelta(days=3)
    paused, changed = schedules.set_paused("harian-dc", True, NOW)
    assert paused.paused and changed
    assert schedules.set_paused("harian-dc", True, NOW) == (paused, False)
    assert not schedules.claim("harian-dc", NOW + timedelta(days=1), "host:1", NOW + timedelta(days=1))
    resumed, changed = schedules.set_paused("harian-dc", False, later)
    assert changed and not resumed.paused and resumed.not_before == later
    with pytest.raises(NotFoundError):
        schedules.set_paused("tidak-ada", True, NOW)


# -- Document numbers ---------------------------------------------------------------------------------

def _numbered(prefix: str) -> Callable[[int], str]:
    return lambda seq: f"{prefix}/{seq}/2026"


def test_document_numbers_a_sequence_per_type_and_year_the_same_number_again(state_stores: StateStores) -> None:
    register = state_stores.document_numbers
    assert register.take(ticket_id="T1", kode="BA", year=2026, number_of=_numbered("BA")) == "BA/1/2026"
    assert register.take(ticket_id="T2", kode="BA", year=2026, number_of=_numbered("BA")) == "BA/2/2026"
    assert register.take(ticket_id="T1", kode="LAP", year=2026, number_of=_numbered("LAP")) == "LAP/1/2026"
    assert register.take(ticket_id="T3", kode="BA", year=2027, number_of=lambda seq: f"BA/{seq}/2027") == "BA/1/2027"
    # asked again, even in another year: the number it got first, the sequence untouched
    assert register.take(ticket_id="T1", kode="BA", year=2027, number_of=_numbered("XX")) == "BA/1/2026"
    assert register.issued("BA") == [("T1", "BA/1/2026", 2026, 1), ("T2", "BA/2/2026", 2026, 2),
                                     ("T3", "BA/1/2027", 2027, 1)]


def test_document_numbers_a_text_held_by_another_type_is_a_conflict_not_a_duplicate(
        state_stores: StateStores) -> None:
    register = state_stores.document_numbers
    assert register.take(ticket_id="T1", kode="A", year=2026, number_of=_numbered("N")) == "N/1/2026"
    with pytest.raises(ConflictError):
        register.take(ticket_id="T2", kode="B", year=2026, number_of=_numbered("N"))
    assert [n for _, n, _, _ in register.issued()] == ["N/1/2026"]


def test_document_numbers_threads_at_once_never_share_one(state_stores: StateStores) -> None:
    register = state_stores.document_numbers
    taken: list[str] = []
    errors: list[BaseException] = []

    def number(i: int) -> None:
        try:
            taken.append(register.take(ticket_id=f"T{i}", kode="BA", year=2026, number_of=_numbered("BA")))
            taken.append(register.take(ticket_id=f"T{i}", kode="BA", year=2026, number_of=_numbered("BA")))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=number, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(set(taken)) == sorted(f"BA/{n}/2026" for n in range(1, 9)) and len(taken) == 16
