"""Results reach the ticket through the outbox: none lost or duplicated while the store is down."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime

from tests.engine.helpers import approved_ticket, executions
from tests.support.sqlite_lock import LockHolder
from toolkit.engine.outbox import deliver_due
from toolkit.engine.server import run_ticket
from toolkit.engine.worker import work_once
from toolkit.jobs import JobState
from toolkit.tickets.models import EventKind, NewEvent

StoreLock = LockHolder


def _completed(app, ticket_id, step_id):  # type: ignore[no-untyped-def]
    return [e for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.STEP_COMPLETED and e.step_id == step_id]


def test_results_wait_in_the_outbox_while_the_ticket_store_is_down(engine_app, engine_settings):
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
            time.sleep(0.06)
            assert deliver_due(engine_app)[0] == 0
    finally:
        lock.release()
    time.sleep(0.06)
    deliver_due(engine_app)
    assert engine_app.queue.outbox_pending_count(ticket_id) == 0
    assert len(_completed(engine_app, ticket_id, "aksi-pertama")) == 1
    # The workflow moves on once the ticket is readable again, and the rest is delivered once.
    run_ticket(engine_app, ticket_id)
    deliver_due(engine_app)
    assert len(_completed(engine_app, ticket_id, "aksi-pertama")) == 1
    assert len(_completed(engine_app, ticket_id, "aksi-kedua")) == 1


def test_redelivery_after_a_crash_between_post_and_mark_shows_once(engine_app):
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
    time.sleep(0.06)
    deliver_due(engine_app)
    assert engine_app.queue.outbox_pending_count(ticket_id) == 0
    assert len(_completed(engine_app, ticket_id, "aksi-pertama")) == 1
    with sqlite3.connect(engine_app.settings.state_dir / "queue.db") as db:
        delivered = db.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL").fetchone()[0]
    assert delivered >= 1
