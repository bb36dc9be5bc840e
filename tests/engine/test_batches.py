"""`spbe serve`'s workers claim small batches and audit in groups (`toolkit.engine.batch`): each job still
runs once, its start entry is written before any action of the batch runs, a batch-claimed job whose worker
died is reclaimed and run once, and a batch cut short hands its unstarted jobs back without counting them."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.engine.helpers import approved_ticket, executions
from toolkit.engine.audit_writer import AuditWriter
from toolkit.engine.batch import BatchSize, work_batch
from toolkit.engine.leases import keeper_for
from toolkit.errors import InvalidInputError
from toolkit.ports.jobs import JobState


def _batch(app, size: int, stop: threading.Event | None = None):  # type: ignore[no-untyped-def]
    writer = AuditWriter(app.audit)
    keeper = keeper_for(app.queue, app.settings.workers.lease_seconds)
    jobs = work_batch(app, "w1", BatchSize(most=size, now=size), keeper, writer, stop=stop)
    assert writer.flush(timeout=60)
    return jobs


def _done(state_dir) -> Counter[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return Counter((line.split()[1], line.split()[2]) for line in executions(state_dir) if line.startswith("done"))


def test_a_batch_runs_each_job_once_after_writing_every_start_entry(engine_app, engine_settings):
    tickets = [approved_ticket(engine_app) for _ in range(3)]
    jobs = _batch(engine_app, 4)
    assert sorted(j.ticket_id for j in jobs) == sorted(tickets)
    assert all(j.state == JobState.SUCCEEDED and j.attempt == 1 for j in jobs)
    assert _done(engine_settings.state_dir) == Counter({(t, "aksi-pertama"): 1 for t in tickets})
    entries = [e for e in engine_app.audit.entries() if e.action in ("job.start", "job.finish")]
    kinds = [e.action for e in entries]
    assert kinds == ["job.start"] * 3 + ["job.finish"] * 3  # every start on disk before the first action ran
    assert engine_app.audit.verify().ok
    # Each finished job advanced its own ticket: the second steps are queued, one per ticket.
    queued = engine_app.queue.list_jobs(state=JobState.QUEUED)
    assert sorted((j.ticket_id, j.step_id) for j in queued) == sorted((t, "aksi-kedua") for t in tickets)


def test_a_batch_claimed_job_whose_worker_died_is_reclaimed_and_run_once(clocked_app, clock, engine_settings):
    tickets = [approved_ticket(clocked_app) for _ in range(3)]
    dead = clocked_app.queue.claim_batch("dead", clocked_app.settings.workers.lease_seconds, 3)
    assert len(dead) == 3  # claimed and never run: the worker died holding them
    assert _batch(clocked_app, 4) == []  # nothing to claim while their leases run
    clock.move_past(max(j.lease_until for j in dead if j.lease_until is not None))
    jobs = _batch(clocked_app, 4)
    assert sorted(j.id for j in jobs) == sorted(j.id for j in dead)
    assert all(j.state == JobState.SUCCEEDED and j.attempt == 2 for j in jobs)
    assert all([h["event"] for h in j.history] == ["lease_expired"] for j in jobs)
    assert _done(engine_settings.state_dir) == Counter({(t, "aksi-pertama"): 1 for t in tickets})
    assert len([e for e in clocked_app.audit.entries() if e.action == "job.reclaim"]) == 3


def test_a_batch_stopped_by_shutdown_hands_its_unstarted_jobs_back(engine_app, engine_settings):
    tickets = [approved_ticket(engine_app) for _ in range(3)]
    stop = threading.Event()
    stop.set()
    jobs = _batch(engine_app, 4, stop=stop)
    ran, handed = jobs[0], jobs[1:]
    assert ran.state == JobState.SUCCEEDED  # the job in hand finishes
    assert [(j.state, j.attempt) for j in handed] == [(JobState.QUEUED, 0)] * 2  # the attempt does not count
    assert all([h["event"] for h in j.history] == ["released"] for j in handed)
    assert sum(_done(engine_settings.state_dir).values()) == 1
    released = [e for e in engine_app.audit.entries() if e.action == "job.release"]
    assert sorted(e.data["job"] for e in released) == sorted(j.id for j in handed)
    assert engine_app.audit.verify().ok
    # They run later, once each.
    while _batch(engine_app, 4):
        pass
    assert _done(engine_settings.state_dir) == Counter({(t, s): 1 for t in tickets for s in ("aksi-pertama",
                                                                                              "aksi-kedua")})


def test_the_audit_writer_fails_only_the_refused_entries_and_writes_the_rest(engine_app):
    writer = AuditWriter(engine_app.audit)
    writer.submit([("engine", "test.kept", None, {"auth": "engine", "n": 1})])
    with pytest.raises(InvalidInputError):
        writer.write([("engine", "test.refused", None, {"n": 2})])  # no "auth": the audit log refuses it
    writer.write([("engine", "test.kept", None, {"auth": "engine", "n": 3})])
    assert writer.flush(timeout=60)
    assert [e.data["n"] for e in engine_app.audit.entries() if e.action.startswith("test.")] == [1, 3]
    assert engine_app.audit.verify().ok


def test_the_trigger_leaves_the_engines_own_step_results_to_the_worker_that_advanced(engine_app, monkeypatch):
    from tests.support.principals import as_lab
    from toolkit.commands import desk
    from toolkit.engine import scheduler
    from toolkit.engine.server import CURSOR, trigger_once
    from toolkit.engine.worker import work_once

    ticket_id = approved_ticket(engine_app)
    trigger_once(engine_app)  # the approval's events: seen
    job = work_once(engine_app, "w1", ticket_id=ticket_id)  # runs, advances its ticket, delivers its result
    assert job is not None and job.state == JobState.SUCCEEDED
    results = [e for e in engine_app.tickets.events_since(engine_app.queue.get_cursor(CURSOR))
               if e.kind.value == "step_completed"]
    assert [e.data["job"] for e in results] == [job.id]  # the outbox's copy, not read by the trigger yet
    advanced: list[str] = []
    real = scheduler.advance

    def spy(app, tid):  # type: ignore[no-untyped-def]
        advanced.append(tid)
        return real(app, tid)

    monkeypatch.setattr(scheduler, "advance", spy)
    trigger_once(engine_app)
    assert advanced == []
    # An event a person wrote still moves the ticket.
    desk.comment(engine_app, ticket_id, as_lab("andi"), "Mohon kabar.")
    trigger_once(engine_app)
    assert advanced == [ticket_id]
