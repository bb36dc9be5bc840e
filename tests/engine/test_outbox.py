"""Results reach the ticket through the outbox: none lost or duplicated while the store is down."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.engine.helpers import approved_ticket, executions
from tests.support.sqlite_lock import LockHolder
from toolkit.domain.tickets.models import EventKind, NewEvent
from toolkit.engine.outbox import deliver_due
from toolkit.engine.server import run_ticket
from toolkit.engine.worker import work_once
from toolkit.errors import UnavailableError
from toolkit.ports.jobs import JobState

StoreLock = LockHolder
# Longer than any outbox retry delay in the engine tests' settings (outbox_retry_max = 0.05 s): moving the
# app's clock on by it makes every deferred item due again.
PAST_RETRY = timedelta(seconds=0.06)


def _completed(app, ticket_id, step_id):  # type: ignore[no-untyped-def]
    return [e for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.STEP_COMPLETED and e.step_id == step_id]


@pytest.mark.slow  # several processes or a whole-tree scan: the full suite runs it, the fast tier does not
def test_results_wait_in_the_outbox_while_the_ticket_store_is_down(clocked_app, clock, engine_settings):
    engine_app = clocked_app
    ticket_id = approved_ticket(engine_app, jeda_detik="2")
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(work_once(engine_app, "w1", ticket_id=ticket_id)))
    worker.start()
    deadline = time.monotonic() + 20
    while not any(line.startswith("start") for line in executions(engine_settings.state_dir)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lock = StoreLock(engine_settings.state_dir / "tickets.db")
    try:
        worker.join(timeout=60)
        job = done[0]
        assert job.state == JobState.SUCCEEDED
        assert engine_app.queue.outbox_pending_count(ticket_id) >= 1
        for _ in range(3):  # repeated delivery attempts while down change nothing
            clock.advance(PAST_RETRY)
            assert deliver_due(engine_app)[0] == 0
    finally:
        lock.release()
    clock.advance(PAST_RETRY)
    deliver_due(engine_app)
    assert engine_app.queue.outbox_pending_count(ticket_id) == 0
    assert len(_completed(engine_app, ticket_id, "aksi-pertama")) == 1
    # The workflow moves on once the ticket is readable again, and the rest is delivered once.
    run_ticket(engine_app, ticket_id)
    deliver_due(engine_app)
    assert len(_completed(engine_app, ticket_id, "aksi-pertama")) == 1
    assert len(_completed(engine_app, ticket_id, "aksi-kedua")) == 1


def test_redelivery_after_a_crash_between_post_and_mark_shows_once(clocked_app, clock):
    engine_app = clocked_app
    ticket_id = approved_ticket(engine_app)
    lock = StoreLock(engine_app.settings.state_dir / "tickets.db")
    try:
        work_once(engine_app, "w1", ticket_id=ticket_id)
    finally:
        lock.release()
    pending = engine_app.queue.outbox_due(datetime.max.replace(tzinfo=UTC))
    event = next(p for p in pending if p.item.kind.value == "event")
    # The crash: the post reached the ticket, the outbox row was never marked delivered.
    engine_app.tickets.post(ticket_id, NewEvent(dedupe_key=event.item.dedupe_key, **event.item.payload))
    clock.advance(PAST_RETRY)
    deliver_due(engine_app)
    assert engine_app.queue.outbox_pending_count(ticket_id) == 0
    assert len(_completed(engine_app, ticket_id, "aksi-pertama")) == 1
    with sqlite3.connect(engine_app.settings.state_dir / "queue.db") as db:
        delivered = db.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL").fetchone()[0]
    assert delivered >= 1


class DownStore:
    """The ticket system refusing every call, reads included (a remote desk that is down, where an
    exclusive SQLite lock still lets WAL readers through)."""

    def __init__(self, real) -> None:  # type: ignore[no-untyped-def]
        self.real = real
        self.down = True

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        attr = getattr(self.real, name)
        if not self.down or not callable(attr):
            return attr

        def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise UnavailableError("ticket store unavailable: connection refused")

        return refuse


def test_a_job_claimed_while_the_store_cannot_be_read_is_released_not_failed(clocked_app, clock, engine_settings):
    engine_app = clocked_app
    ticket_id = approved_ticket(engine_app)
    store = DownStore(engine_app.tickets)
    engine_app.__dict__["tickets"] = store
    job = work_once(engine_app, "w1")
    assert job is not None and job.state == JobState.QUEUED and job.attempt == 0
    assert [h["event"] for h in job.history] == ["released"]
    assert executions(engine_settings.state_dir) == []
    assert engine_app.queue.claim("w2", 1.0) is None  # not before the retry delay
    store.down = False
    clock.advance(timedelta(hours=1))  # let the retry delay pass
    run_ticket(engine_app, ticket_id)
    states = {j.step_id: (j.state, j.attempt) for j in engine_app.queue.list_jobs(ticket_id=ticket_id)}
    assert states == {"aksi-pertama": (JobState.SUCCEEDED, 1), "aksi-kedua": (JobState.SUCCEEDED, 1)}
    assert len(_completed(engine_app, ticket_id, "aksi-pertama")) == 1


def test_one_broken_ticket_does_not_hold_up_the_trigger(engine_app):
    from toolkit.domain.tickets.models import TicketDraft
    from toolkit.engine.server import trigger_once

    broken = engine_app.tickets.create(TicketDraft(service_id="layanan-hilang", title="x", requester="andi",
                                                   fields={}, sla_variant="standar"))
    ticket_id = approved_ticket(engine_app)
    engine_app.queue._conn().execute("DELETE FROM jobs")  # as if approval events had not been seen yet
    assert trigger_once(engine_app) == 1
    assert [j.ticket_id for j in engine_app.queue.list_jobs()] == [ticket_id]
    assert any(e.action == "ticket.advance_failed" and e.ticket_id == broken.id for e in engine_app.audit.entries())
