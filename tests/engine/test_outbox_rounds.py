"""A round of results goes to the embedded store in one transaction; one refused event does not hold up
the others, and a store that is down keeps all of them in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.engine.helpers import approved_ticket
from tests.support.sqlite_lock import LockHolder
from toolkit.bootstrap import App
from toolkit.domain.tickets.models import EventKind, NewEvent
from toolkit.engine.outbox import deliver_due, event_item
from toolkit.engine.worker import work_once
from toolkit.ports.jobs import JobState
from toolkit.settings import AdapterSettings

PAST_RETRY = timedelta(seconds=0.06)  # past the engine tests' outbox_retry_max


def _comments(app, ticket_id):  # type: ignore[no-untyped-def]
    return [e.text for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.COMMENT]


def test_a_round_of_events_is_stored_in_order_and_once(clocked_app, clock):  # type: ignore[no-untyped-def]
    app = clocked_app
    first, second = approved_ticket(app), approved_ticket(app)
    items = [event_item(t, f"round:{t}:{i}", EventKind.COMMENT, f"hasil {i}")
             for i in range(3) for t in (first, second)]
    app.queue.add_outbox(items)
    assert deliver_due(app)[0] >= 6
    assert _comments(app, first) == ["hasil 0", "hasil 1", "hasil 2"]
    assert _comments(app, second) == ["hasil 0", "hasil 1", "hasil 2"]
    # A round delivered again (a crash before the mark) stores nothing new.
    posts = [(i.ticket_id, NewEvent(dedupe_key=i.dedupe_key, **i.payload)) for i in items]
    assert app.tickets.post_many(posts) == 0
    assert _comments(app, first) == ["hasil 0", "hasil 1", "hasil 2"]


def test_one_refused_event_is_retried_alone(clocked_app, clock):  # type: ignore[no-untyped-def]
    app = clocked_app
    ticket_id = approved_ticket(app)
    other = approved_ticket(app)
    # The same dedupe key already names an event of another ticket: the ticket system refuses this one.
    app.tickets.post(other, NewEvent(kind=EventKind.COMMENT, actor="engine", text="lain", dedupe_key="taken"))
    app.queue.add_outbox([event_item(ticket_id, "ok:1", EventKind.COMMENT, "satu"),
                          event_item(ticket_id, "taken", EventKind.COMMENT, "ditolak"),
                          event_item(ticket_id, "ok:2", EventKind.COMMENT, "dua")])
    delivered, deferred = deliver_due(app)
    assert (delivered, deferred) == (2, 1)
    assert _comments(app, ticket_id) == ["satu", "dua"]
    assert app.queue.outbox_pending_count(ticket_id) == 1


def test_a_round_waits_while_the_store_is_down(engine_settings, clock):  # type: ignore[no-untyped-def]
    # A store that waits 0.2 s for its lock, not 2 s: the same outcome without 14 s of waiting in the fast tier.
    settings = engine_settings.model_copy(update={"tickets": AdapterSettings(
        kind="embedded", options={"busy_timeout_ms": 200})})
    app = App(settings, clock=clock)
    try:
        _round_waits(app, clock)
    finally:
        app.close()


def _round_waits(app, clock):  # type: ignore[no-untyped-def]
    tickets = [approved_ticket(app) for _ in range(3)]
    lock = LockHolder(app.settings.state_dir / "tickets.db")
    try:
        while (job := work_once(app, "w1")) is not None:
            assert job.state == JobState.SUCCEEDED
        clock.advance(PAST_RETRY)
        assert deliver_due(app)[0] == 0
    finally:
        lock.release()
    assert all(app.queue.outbox_pending_count(t) >= 1 for t in tickets)
    clock.advance(PAST_RETRY)
    deliver_due(app)
    assert app.queue.outbox_pending_count() == 0
    for ticket_id in tickets:
        completed = [e.step_id for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.STEP_COMPLETED]
        assert completed and len(completed) == len(set(completed)), completed  # each step's result shown once


def test_finish_answers_the_job_as_stored(engine_app):  # type: ignore[no-untyped-def]
    ticket_id = approved_ticket(engine_app)
    claimed = engine_app.queue.claim("w1", 30, ticket_id=ticket_id)
    assert claimed is not None and claimed.lease_token
    engine_app.queue.cancel(claimed.id)  # asked for while it runs: the answer must show it
    done = engine_app.queue.finish(claimed.id, claimed.lease_token, JobState.CANCELED, {"ok": False, "n": (1, 2)},
                                   "dibatalkan", [], logs=["a"])
    assert done is not None
    assert done == engine_app.queue.get(claimed.id)
    assert done.cancel_requested and done.finished_at is not None and done.finished_at <= datetime.now(UTC)


def test_the_advance_after_a_job_reuses_its_read_only_while_the_ticket_is_unchanged(engine_app):  # type: ignore[no-untyped-def]
    from toolkit.engine.scheduler import read_ticket

    ticket_id = approved_ticket(engine_app)
    seen = read_ticket(engine_app, ticket_id)
    assert read_ticket(engine_app, ticket_id, seen) is seen
    engine_app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor="sari", text="baru"))
    fresh = read_ticket(engine_app, ticket_id, seen)
    assert fresh is not seen and fresh[1][-1].text == "baru"
    assert read_ticket(engine_app, approved_ticket(engine_app), seen)[0].id != ticket_id  # another ticket: read
