"""A batch's quick idempotent jobs are recorded together (`toolkit.engine.batch`, `JobQueue.finish_many`):
one queue transaction for their results, each still fenced by its own token. A batch that dies before that
commit leaves its jobs running under their leases: they are reclaimed and run again, not lost, each result
on its ticket once; a batch that committed is never run again. A job that may not run twice is recorded
the moment it ends, alone."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from tests.engine.helpers import approved_ticket, executions
from toolkit.domain.tickets.models import EventKind
from toolkit.engine.audit_writer import AuditWriter
from toolkit.engine.batch import BatchSize, work_batch
from toolkit.engine.leases import keeper_for
from toolkit.engine.outbox import deliver_due
from toolkit.engine.worker import reclaim
from toolkit.ports.jobs import JobState


class _Killed(BaseException):
    """The process dies here (raised inside the finish transaction, which SQLite then rolls back)."""


def _batch(app: Any, size: int) -> list[Any]:
    writer = AuditWriter(app.audit)
    keeper = keeper_for(app.queue, app.settings.workers.lease_seconds)
    try:
        return work_batch(app, "w1", BatchSize(most=size, now=size), keeper, writer)
    finally:
        assert writer.flush(timeout=60)


def _runs(state_dir: Any, step: str) -> Counter[str]:
    return Counter(line.split()[1] for line in executions(state_dir) if line.startswith("done") and step in line)


def _recorded_in(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = app.queue.finish_many

    def counted(finishes: list[Any]) -> list[Any]:
        sizes.append(len(finishes))
        return real(finishes)

    monkeypatch.setattr(app.queue, "finish_many", counted)
    return sizes


def test_a_batch_of_quick_jobs_is_recorded_in_one_transaction_then_advanced(engine_app, engine_settings, monkeypatch):
    tickets = [approved_ticket(engine_app) for _ in range(4)]
    sizes = _recorded_in(engine_app, monkeypatch)
    jobs = _batch(engine_app, 4)
    assert sizes == [4]
    assert [j.state for j in jobs] == [JobState.SUCCEEDED] * 4
    for job in jobs:  # the answer is the job as a re-read gives it, and as the advance reads it
        assert job == engine_app.queue.get(job.id)
        assert engine_app.queue.step_results(job.ticket_id)["aksi-pertama"] == job
    queued = engine_app.queue.list_jobs(state=JobState.QUEUED)
    assert sorted((j.ticket_id, j.step_id) for j in queued) == sorted((t, "aksi-kedua") for t in tickets)
    assert engine_app.queue.outbox_pending_count() == 4
    deliver_due(engine_app)
    for ticket_id in tickets:
        results = [e for e in engine_app.tickets.timeline(ticket_id) if e.kind == EventKind.STEP_COMPLETED]
        assert len(results) == 1
    assert engine_app.audit.verify().ok


def test_a_batch_that_dies_before_its_commit_is_run_again_not_lost(clocked_app, clock, engine_settings,
                                                                    monkeypatch):
    tickets = [approved_ticket(clocked_app) for _ in range(3)]

    def killed(*_: Any) -> None:
        raise _Killed

    with monkeypatch.context() as patched:
        patched.setattr(clocked_app.queue, "_insert_outbox", killed)  # after the UPDATEs, before COMMIT
        with pytest.raises(_Killed):
            _batch(clocked_app, 4)
    assert _runs(engine_settings.state_dir, "aksi-pertama") == Counter(dict.fromkeys(tickets, 1))
    jobs = clocked_app.queue.list_jobs()
    assert [(j.state, j.attempt) for j in jobs] == [(JobState.RUNNING, 1)] * 3  # nothing recorded, all held
    assert clocked_app.queue.outbox_pending_count() == 0
    assert _batch(clocked_app, 4) == []  # their leases still run
    clock.move_past(max(j.lease_until for j in jobs if j.lease_until is not None))
    again = _batch(clocked_app, 4)
    assert sorted(j.id for j in again) == sorted(j.id for j in jobs)
    assert all(j.state == JobState.SUCCEEDED and j.attempt == 2 for j in again)
    assert all([h["event"] for h in j.history] == ["lease_expired"] for j in again)
    assert _runs(engine_settings.state_dir, "aksi-pertama") == Counter(dict.fromkeys(tickets, 2))
    deliver_due(clocked_app)
    for ticket_id in tickets:  # the result of the run that was recorded, once
        results = [e for e in clocked_app.tickets.timeline(ticket_id)
                   if e.kind == EventKind.STEP_COMPLETED and e.step_id == "aksi-pertama"]
        assert [e.data["attempt"] for e in results] == [2]
    assert clocked_app.audit.verify().ok


def test_a_batch_recorded_before_a_crash_is_not_run_again(clocked_app, clock, engine_settings):
    tickets = [approved_ticket(clocked_app) for _ in range(3)]
    first = _batch(clocked_app, 4)
    assert [j.state for j in first] == [JobState.SUCCEEDED] * 3
    clock.advance(timedelta(hours=1))  # long past any lease it held
    assert reclaim(clocked_app) == []
    while _batch(clocked_app, 4):
        pass
    assert _runs(engine_settings.state_dir, "aksi-pertama") == Counter(dict.fromkeys(tickets, 1))
    assert _runs(engine_settings.state_dir, "aksi-kedua") == Counter(dict.fromkeys(tickets, 1))


def test_a_job_that_may_not_run_twice_is_recorded_alone_the_moment_it_ends(engine_app, engine_settings,
                                                                           monkeypatch):
    once = approved_ticket(engine_app, sekali="true")
    others = [approved_ticket(engine_app) for _ in range(2)]
    sizes = _recorded_in(engine_app, monkeypatch)
    jobs = _batch(engine_app, 4)
    assert jobs[0].ticket_id == once and jobs[0].state == JobState.SUCCEEDED
    assert sizes[0] == 1  # its own transaction, before any other action of the batch ran
    assert sum(sizes) == len(jobs) == 3
    assert {j.ticket_id for j in jobs[1:]} == set(others)
