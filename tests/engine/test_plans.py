"""A job's plan is made once, when the job is created, and the worker runs exactly that plan.

The plan stored with the job is what an approver can see and what the audit log records; these tests
prove the engine never plans again behind it (duplicate events plan nothing, the worker does not
plan), refuses a stored plan that was altered or has gone stale, and that a person's retry of a
stale job is what makes the new plan.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from integrations.tickets.embedded import EmbeddedTicketStore
from tests.engine.helpers import approved_ticket, executions
from tests.support.actions import COUNTER
from tests.support.principals import as_lab
from toolkit.actions.base import digest
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands import jobs as job_control
from toolkit.domain.tickets.models import EventKind
from toolkit.engine import scheduler
from toolkit.engine.server import CURSOR, sweep, trigger_once
from toolkit.engine.worker import work_once
from toolkit.ports.jobs import JobState


@pytest.fixture(autouse=True)
def _fresh_count() -> None:
    """Ticket ids start again in every test's state directory: count each test's plans alone."""
    COUNTER.planned.clear()


def _planned(ticket_id: str) -> dict[str, int]:
    return {step: n for (ticket, step), n in COUNTER.planned.items() if ticket == ticket_id}


def test_each_job_is_planned_once_whatever_the_events_and_workers(engine_app: App) -> None:
    ticket_id = approved_ticket(engine_app)
    for _ in range(5):  # the feed replays every event; the sweep and a manual run look again
        engine_app.queue.set_cursor(CURSOR, 0)
        trigger_once(engine_app)
        sweep(engine_app)
        scheduler.advance(engine_app, ticket_id)
    assert _planned(ticket_id) == {"aksi-pertama": 1}
    while work_once(engine_app, "w1") is not None:  # runs the stored plans; advancing plans the next job once
        scheduler.advance(engine_app, ticket_id)
    assert _planned(ticket_id) == {"aksi-pertama": 1, "aksi-kedua": 1}
    jobs = {j.step_id: j for j in engine_app.queue.list_jobs(ticket_id=ticket_id)}
    first = jobs["aksi-pertama"]
    assert first.state == JobState.SUCCEEDED
    assert first.plan == {"action": "test.counter", "sleep": 0, "step": "aksi-pertama"}
    assert first.plan_digest == digest(first.plan) and first.input_digest
    enqueued = [e for e in engine_app.audit.entries(ticket_id) if e.action == "job.enqueue"]
    assert [e.data["plan_digest"] for e in enqueued] == [jobs["aksi-pertama"].plan_digest,
                                                        jobs["aksi-kedua"].plan_digest]


def test_an_altered_stored_plan_is_not_run(engine_app: App, engine_settings) -> None:  # type: ignore[no-untyped-def]
    ticket_id = approved_ticket(engine_app)
    job = engine_app.queue.list_jobs(ticket_id=ticket_id)[0]
    with sqlite3.connect(engine_settings.state_dir / "queue.db") as db:  # someone edits the row after approval
        db.execute("UPDATE jobs SET plan=? WHERE id=?", (json.dumps(job.plan | {"sleep": 5}), job.id))
    db.close()
    done = work_once(engine_app, "w1")
    assert done is not None and done.state == JobState.FAILED
    assert "does not match its digest" in (done.error or "")
    assert executions(engine_settings.state_dir) == [], "nothing ran"


def test_a_stale_plan_is_refused_and_a_retry_plans_again(engine_app: App, engine_settings) -> None:  # type: ignore[no-untyped-def]
    ticket_id = approved_ticket(engine_app)
    job = engine_app.queue.list_jobs(ticket_id=ticket_id)[0]
    ticket = engine_app.tickets.get(ticket_id)
    # The ticket's input changes between the plan and the run (an external desk lets staff edit fields).
    with sqlite3.connect(engine_settings.state_dir / "tickets.db") as db:
        db.execute("UPDATE tickets SET fields=? WHERE id=?", (json.dumps(ticket.fields | {"jeda_detik": 1}),
                                                                ticket_id))
    db.close()
    refused = work_once(engine_app, "w1")
    assert refused is not None and refused.id == job.id and refused.state == JobState.FAILED
    assert "input changed" in (refused.error or "") and "not run" in (refused.error or "")
    assert executions(engine_settings.state_dir) == []
    assert _planned(ticket_id) == {"aksi-pertama": 1}, "the worker did not plan"
    failed = [e for e in engine_app.tickets.timeline(ticket_id) if e.kind == EventKind.STEP_FAILED]
    assert [e.step_id for e in failed] == ["aksi-pertama"], "the refusal is on the ticket"

    retried = job_control.retry(engine_app, job.id, as_lab("rudi"))
    assert retried.state == JobState.QUEUED and retried.plan["sleep"] == 1
    assert retried.plan_digest != job.plan_digest and retried.history[-1]["replanned"] is True
    assert _planned(ticket_id) == {"aksi-pertama": 2}, "the retry made the new plan"
    audit = [e for e in engine_app.audit.entries(ticket_id) if e.action == "job.retry"][-1]
    assert audit.data["previous_plan_digest"] == job.plan_digest and audit.data["plan_digest"] == retried.plan_digest
    done = work_once(engine_app, "w1")
    assert done is not None and done.state == JobState.SUCCEEDED
    assert [line.split()[2] for line in executions(engine_settings.state_dir)] == ["aksi-pertama"] * 2  # start, done


def test_a_retry_keeps_a_plan_that_still_stands(engine_app: App) -> None:
    ticket_id = approved_ticket(engine_app)
    job = engine_app.queue.list_jobs(ticket_id=ticket_id)[0]
    engine_app.queue.cancel(job.id)
    retried = job_control.retry(engine_app, job.id, as_lab("rudi"))
    assert retried.plan_digest == job.plan_digest and "replanned" not in retried.history[-1]
    assert _planned(ticket_id) == {"aksi-pertama": 1}


class _SeenStore(EmbeddedTicketStore):
    """The embedded store, noting which tickets are read (to see what the sweep looks at)."""

    seen: list[str]

    def get(self, ticket_id: str):  # type: ignore[no-untyped-def]
        self.seen.append(ticket_id)
        return super().get(ticket_id)

    def snapshot(self, ticket_id: str):  # type: ignore[no-untyped-def]
        self.seen.append(ticket_id)
        return super().snapshot(ticket_id)


def test_the_sweep_looks_only_at_tickets_with_work_pending(engine_app: App, engine_settings) -> None:  # type: ignore[no-untyped-def]
    closed = approved_ticket(engine_app)
    while work_once(engine_app, "w1") is not None:
        pass
    desk.close(engine_app, closed, as_lab("sari"), "Selesai.")
    deferred = desk.open_ticket(engine_app, "uji-mesin", as_lab("andi"), "Uji", {"instansi": "Dinas Uji"}, []).id
    desk.check(engine_app, deferred, as_lab("sari"))
    desk.defer(engine_app, deferred, as_lab("kadis"), "Lengkapi dulu.")
    waiting = approved_ticket(engine_app)
    opened = desk.open_ticket(engine_app, "uji-mesin", as_lab("andi"), "Uji", {"instansi": "Dinas Uji"}, []).id
    assert engine_app.tickets.get(closed).status == "closed"

    store = _SeenStore(settings=engine_settings)
    store.seen = []
    engine_app.tickets = store
    assert store.active_ticket_ids() == [waiting, opened]
    sweep(engine_app)
    assert set(store.seen) == {waiting, opened}, "closed and deferred tickets are never looked at"
    store.close()
