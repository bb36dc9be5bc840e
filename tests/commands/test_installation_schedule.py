"""The jadwal pelaksanaan (SOP 001 steps 5-6) through the command layer on the embedded desk: the team
proposes, only the requester confirms or asks for another date, the scheduled step is not enqueued before
the confirmed start, and the SLA does not count the wait the applicant agreed to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import TEST_ACTIONS
from tests.support.clock import ManualClock
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands import installation_schedule as jadwal
from toolkit.domain.install_schedule import SCHEDULE, zone_of
from toolkit.domain.tickets.models import EventKind, NewEvent
from toolkit.domain.workflow import StepStatus
from toolkit.engine import scheduler
from toolkit.engine.progress import progress
from toolkit.errors import ConflictError, InvalidInputError, PermissionDeniedError
from toolkit.settings import load_settings

CATALOG = Path(__file__).parent / "jadwal_catalog"
START = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # 08:00 WITA, a Monday


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(state_dir: Path, clock: ManualClock) -> Iterator[App]:
    settings = load_settings(state_dir=state_dir, catalog_dir=CATALOG, extra_actions=TEST_ACTIONS,
                             workers={"warm_inventory": False},  # the ticket store's times read the clock too
                             tickets={"kind": "embedded", "options": {"clock": clock.now}})
    application = App(settings, clock=clock)
    yield application
    application.close()


def approved(app: App) -> str:
    ticket = desk.open_ticket(app, "uji-jadwal", as_lab("andi"), "Pemasangan jaringan", {"instansi": "Dinkes"}, [])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Setuju.")
    return ticket.id


def local(hours: float) -> str:
    """A naive ISO time ``hours`` after the test's start, in the service's zone (as a person types it)."""
    return (START + timedelta(hours=hours)).astimezone(zone_of(None)).replace(tzinfo=None).isoformat(timespec="minutes")


def state(app: App, ticket_id: str):  # type: ignore[no-untyped-def]
    ticket = app.tickets.get(ticket_id)
    service = app.catalog.get(ticket.service_id)
    return progress(service, ticket, app.tickets.timeline(ticket_id), app.queue, app.policy, now=app.clock.now())


def test_installation_waits_for_the_confirmed_start(app: App, clock: ManualClock) -> None:
    ticket_id = approved(app)
    assert state(app, ticket_id).current.id == "persiapan-pemasangan"
    out = jadwal.propose(app, ticket_id, as_lab("yusuf"), local(48), local(52), "Membawa switch 24 port")
    assert out.acted and out.schedule.status == "proposed"
    assert out.schedule.start == START + timedelta(hours=48)  # naive input read in WITA, stored as UTC
    now = state(app, ticket_id)
    assert now.state_of("persiapan-pemasangan").status == StepStatus.DONE  # proposing completes step 5
    assert now.current.id == "konfirmasi-jadwal"

    jadwal.confirm(app, ticket_id, as_lab("andi"))
    held = state(app, ticket_id)
    assert held.current.id == "pemasangan" and not held.current_ready
    assert held.state_of("pemasangan").not_before == START + timedelta(hours=48)
    assert scheduler.advance(app, ticket_id) == []  # the sweep finds nothing to do before the date
    assert app.queue.find(scheduler.job_key(ticket_id, "pemasangan")) is None

    clock.move_past(START + timedelta(hours=48) - timedelta(minutes=1))
    assert scheduler.advance(app, ticket_id) == []
    clock.move_past(START + timedelta(hours=48))
    (job,) = scheduler.advance(app, ticket_id)
    assert job.step_id == "pemasangan"
    assert scheduler.advance(app, ticket_id) == []  # once

    texts = [e.text for e in app.tickets.timeline(ticket_id) if e.data.get(SCHEDULE)]
    assert "Usulan jadwal pelaksanaan" in texts[0] and "09-12-2026 08:00 WITA" in texts[0] and "12:00 WITA" in texts[0]
    assert "dikonfirmasi" in texts[1]
    actions = [e.action for e in app.audit.entries() if e.action.startswith("schedule.")]
    assert actions == ["schedule.propose", "schedule.confirm"]


def test_sla_does_not_count_the_wait_the_applicant_agreed_to(app: App, clock: ManualClock) -> None:
    """Rule (install_schedule.applicant_wait): confirmation to agreed start is not the service's time."""
    ticket_id = approved(app)
    base = state(app, ticket_id).sla.deadline
    jadwal.propose(app, ticket_id, as_lab("yusuf"), local(30), local(32))
    clock.advance(timedelta(hours=2))  # the applicant takes two hours to answer: that counts
    assert state(app, ticket_id).sla.deadline == base
    jadwal.confirm(app, ticket_id, as_lab("andi"))
    confirmed_at = START + timedelta(hours=2)
    assert state(app, ticket_id).sla.deadline == base + (START + timedelta(hours=30) - confirmed_at)
    assert not state(app, ticket_id).sla.breached

    # The team moves the date before it comes: the first agreement stood from confirmation to the new proposal.
    clock.advance(timedelta(hours=3))
    jadwal.propose(app, ticket_id, as_lab("yusuf"), local(40), local(41))
    assert state(app, ticket_id).sla.deadline == base + timedelta(hours=3)
    assert not state(app, ticket_id).current_ready  # the new date is not agreed yet
    clock.advance(timedelta(hours=1))
    jadwal.confirm(app, ticket_id, as_lab("andi"))
    agreed = START + timedelta(hours=40) - (START + timedelta(hours=6))
    assert state(app, ticket_id).sla.deadline == base + timedelta(hours=3) + agreed


def test_who_may_propose_and_answer(app: App) -> None:
    ticket_id = approved(app)
    with pytest.raises(PermissionDeniedError):  # the applicant cannot propose
        jadwal.propose(app, ticket_id, as_lab("andi"), local(48), local(50))
    with pytest.raises(PermissionDeniedError):  # nor staff of another team
        jadwal.propose(app, ticket_id, as_lab("rudi"), local(48), local(50))
    jadwal.propose(app, ticket_id, as_lab("yusuf"), local(48), local(50))
    for who in ("yusuf", "sari", "kadis", "budi"):  # the team, the coordinator, the head, another applicant
        with pytest.raises(PermissionDeniedError):
            jadwal.confirm(app, ticket_id, as_lab(who))
        with pytest.raises(PermissionDeniedError):
            jadwal.reject(app, ticket_id, as_lab(who), "Tidak bisa.")
    with pytest.raises(ConflictError):  # the plain "step done" cannot stand in for the answer
        desk.record_step(app, ticket_id, as_lab("andi"), "konfirmasi-jadwal", "Oke.")
    assert state(app, ticket_id).current.id == "konfirmasi-jadwal"
    assert [e.action for e in app.audit.entries() if e.action.startswith("schedule.")] == ["schedule.propose"]


def test_forged_answers_are_not_trusted(app: App, clock: ManualClock) -> None:
    """Rows written past the commands (another desk, the database): the engine's second look refuses them."""
    ticket_id = approved(app)
    out = jadwal.propose(app, ticket_id, as_lab("yusuf"), local(1), local(2))
    seq = out.schedule.seq
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.STEP_COMPLETED, actor="yusuf", step_id="konfirmasi-jadwal",
                                         data={SCHEDULE: {"action": "confirm", "proposal": seq}}))
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor="budi", step_id="konfirmasi-jadwal",
                                         data={SCHEDULE: {"action": "confirm", "proposal": seq}}))
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.STEP_COMPLETED, actor="andi", step_id="konfirmasi-jadwal",
                                         text="selesai"))
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor="andi", step_id="persiapan-pemasangan",
                                         data={SCHEDULE: {"action": "propose", "start": START.isoformat(),
                                                          "end": (START + timedelta(hours=1)).isoformat()}}))
    clock.advance(timedelta(hours=3))
    assert scheduler.advance(app, ticket_id) == []
    assert state(app, ticket_id).current.id == "konfirmasi-jadwal"
    refused = [e.text for e in app.tickets.timeline(ticket_id) if e.data.get("refused_event")]
    assert len(refused) == 4 and all("Keputusan tidak diakui" in text for text in refused)
    assert any("yusuf holds: tim-jaringan-intra" in t for t in refused)
    assert any("only the requester" in t for t in refused) and any("may not propose" in t for t in refused)
    assert any("completed only by the requester's confirmation" in t for t in refused)


@pytest.mark.parametrize(("start", "end", "note", "problem"), [
    (local(50), local(48), None, "end must come after the start"),
    (local(-1), local(2), None, "in the future"),
    (local(48), local(48.1), None, "at least 15 minutes"),
    (local(48), local(48 + 73), None, "at most 72 hours"),
    (local(24 * 200), local(24 * 200 + 1), None, "at most 180 days"),
    ("besok pagi", local(2), None, "ISO"),
    ("2026-13-40T09:00", local(2), None, "ISO"),
    ("2026-12-10T09:00" + "0" * 50, local(2), None, "ISO"),
    (local(48), local(50), "baris satu\nbaris dua", "newlines"),
    (local(48), local(50), "{{ config }}", "template syntax"),
    (local(48), local(50), "x" * 501, "at most 500"),
])
def test_bad_input_is_refused_and_changes_nothing(app: App, start: str, end: str, note: str | None,
                                                    problem: str) -> None:
    ticket_id = approved(app)
    before = len(app.tickets.timeline(ticket_id))
    with pytest.raises(InvalidInputError) as refused:
        jadwal.propose(app, ticket_id, as_lab("yusuf"), start, end, note)
    assert problem in str(refused.value)
    assert len(app.tickets.timeline(ticket_id)) == before


def test_shell_syntax_in_the_note_stays_text(app: App, tmp_path: Path) -> None:
    ticket_id = approved(app)
    canary = tmp_path / "pwned"
    note = f"$(touch {canary}); `touch {canary}` | rm -rf /"
    out = jadwal.propose(app, ticket_id, as_lab("yusuf"), local(48), local(50), note)
    assert out.schedule.note == note and not canary.exists()
    text = next(e.text for e in app.tickets.timeline(ticket_id) if e.data.get(SCHEDULE))
    assert "touch" in text and not canary.exists()


def test_an_offset_is_taken_as_given(app: App) -> None:
    ticket_id = approved(app)
    out = jadwal.propose(app, ticket_id, as_lab("yusuf"), "2026-12-09T09:00+07:00", "2026-12-09T10:00+07:00")
    assert out.schedule.start == datetime(2026, 12, 9, 2, 0, tzinfo=UTC)  # 10:00 WITA


def test_duplicate_and_racing_answers_act_once(app: App, state_dir: Path, clock: ManualClock) -> None:
    ticket_id = approved(app)
    jadwal.propose(app, ticket_id, as_lab("yusuf"), local(48), local(50))
    first = jadwal.confirm(app, ticket_id, as_lab("andi"))
    again = jadwal.confirm(app, ticket_id, as_lab("andi"))
    assert first.acted and not again.acted
    with pytest.raises(ConflictError):
        jadwal.reject(app, ticket_id, as_lab("andi"), "Berubah pikiran.")
    answers = [e for e in app.tickets.timeline(ticket_id) if e.data.get(SCHEDULE, {}).get("action") == "confirm"]
    assert len(answers) == 1
    assert [e.action for e in app.audit.entries()].count("schedule.confirm") == 1


def test_concurrent_confirmations_record_one_answer(app: App, clock: ManualClock) -> None:
    """Two processes that both read "proposed" and both post: the dedupe key keeps one answer."""
    import threading

    ticket_id = approved(app)
    jadwal.propose(app, ticket_id, as_lab("yusuf"), local(48), local(50))
    others = [App(app.settings, clock=clock) for _ in range(4)]
    barrier = threading.Barrier(len(others))
    results: list[object] = []

    def answer(other: App) -> None:
        barrier.wait()
        try:
            results.append(jadwal.confirm(other, ticket_id, as_lab("andi")).acted)
        except ConflictError as exc:
            results.append(exc)

    threads = [threading.Thread(target=answer, args=(o,)) for o in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in others:
        other.close()
    assert results.count(True) == 1 and len(results) == len(others), results
    answers = [e for e in app.tickets.timeline(ticket_id) if e.data.get(SCHEDULE, {}).get("action") == "confirm"]
    assert len(answers) == 1
    assert [e.action for e in app.audit.entries()].count("schedule.confirm") == 1


def test_reject_then_propose_again(app: App, clock: ManualClock) -> None:
    ticket_id = approved(app)
    jadwal.propose(app, ticket_id, as_lab("yusuf"), local(48), local(50))
    with pytest.raises(InvalidInputError):
        jadwal.reject(app, ticket_id, as_lab("andi"), "  ")
    out = jadwal.reject(app, ticket_id, as_lab("andi"), "Kepala OPD sedang dinas luar.")
    assert out.schedule.status == "rejected"
    with pytest.raises(ConflictError):
        jadwal.confirm(app, ticket_id, as_lab("andi"))
    assert state(app, ticket_id).current.id == "konfirmasi-jadwal"
    jadwal.propose(app, ticket_id, as_lab("yusuf"), local(72), local(74))
    assert jadwal.confirm(app, ticket_id, as_lab("andi")).schedule.start == START + timedelta(hours=72)


def test_a_start_that_passed_cannot_be_confirmed(app: App, clock: ManualClock) -> None:
    ticket_id = approved(app)
    jadwal.propose(app, ticket_id, as_lab("yusuf"), local(1), local(2))
    clock.advance(timedelta(hours=1, minutes=1))
    with pytest.raises(ConflictError):
        jadwal.confirm(app, ticket_id, as_lab("andi"))
    jadwal.reject(app, ticket_id, as_lab("andi"), "Jadwal sudah lewat, mohon jadwal baru.")


def test_no_schedule_change_once_the_installation_started(app: App, clock: ManualClock) -> None:
    ticket_id = approved(app)
    with pytest.raises(ConflictError):  # nothing proposed yet
        jadwal.confirm(app, ticket_id, as_lab("andi"))
    jadwal.propose(app, ticket_id, as_lab("yusuf"), local(1), local(2))
    jadwal.confirm(app, ticket_id, as_lab("andi"))
    clock.advance(timedelta(hours=1))
    assert len(scheduler.advance(app, ticket_id)) == 1
    with pytest.raises(ConflictError):
        jadwal.propose(app, ticket_id, as_lab("yusuf"), local(5), local(6))


def test_proposing_before_the_preparation_step_is_refused(app: App) -> None:
    ticket = desk.open_ticket(app, "uji-jadwal", as_lab("andi"), "Pemasangan", {"instansi": "Dinkes"}, [])
    with pytest.raises(ConflictError):
        jadwal.propose(app, ticket.id, as_lab("yusuf"), local(48), local(50))


def test_preparation_recorded_by_hand_then_proposed(app: App, clock: ManualClock) -> None:
    """Step 5 done with `ticket advance` (devices ready, no date yet): the proposal comes after, as a comment,
    and the installation still waits for its confirmation and start."""
    ticket_id = approved(app)
    desk.record_step(app, ticket_id, as_lab("yusuf"), "persiapan-pemasangan", "Perangkat siap, jadwal menyusul.")
    with pytest.raises(ConflictError):
        jadwal.confirm(app, ticket_id, as_lab("andi"))
    out = jadwal.propose(app, ticket_id, as_lab("yusuf"), local(2), local(3))
    event = next(e for e in app.tickets.timeline(ticket_id) if e.data.get(SCHEDULE))
    assert event.kind == EventKind.COMMENT and out.schedule.status == "proposed"
    jadwal.confirm(app, ticket_id, as_lab("andi"))
    assert scheduler.advance(app, ticket_id) == []
    clock.advance(timedelta(hours=2))
    assert [j.step_id for j in scheduler.advance(app, ticket_id)] == ["pemasangan"]
