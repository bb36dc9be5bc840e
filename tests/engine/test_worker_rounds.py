"""What a busy `spbe serve` skips between batches still happens when it matters: a worker that looks for
expired leases at most once a second (`BatchSize.reclaim_due`) still takes a dead worker's job back as soon
as the lease has run out by the app's clock, and the audit writer's appends that build no entries write the
same chained rows."""

from __future__ import annotations

from collections import Counter

from tests.engine.helpers import approved_ticket, executions
from toolkit.engine.audit_writer import AuditWriter
from toolkit.engine.batch import RECLAIM_S, BatchSize, work_batch
from toolkit.engine.leases import keeper_for
from toolkit.ports.jobs import JobState


def test_reclaim_is_due_at_once_then_at_most_every_interval_or_quarter_lease() -> None:
    size = BatchSize()
    assert size.reclaim_due(100.0, 30.0)  # the first batch looks
    assert not size.reclaim_due(100.0 + RECLAIM_S / 2, 30.0)
    assert size.reclaim_due(100.0 + RECLAIM_S, 30.0)
    assert not size.reclaim_due(100.0 + RECLAIM_S + 0.1, 0.8)
    assert size.reclaim_due(100.0 + RECLAIM_S + 0.2, 0.8)  # a short lease: a quarter of it
    assert size.reclaim_due(50.0, 30.0)  # the clock went back: look rather than wait


def test_a_serving_worker_takes_back_a_dead_workers_jobs_once_their_leases_ran_out(clocked_app, clock,
                                                                                   engine_settings):
    app = clocked_app
    writer = AuditWriter(app.audit)
    keeper = keeper_for(app.queue, app.settings.workers.lease_seconds)
    size = BatchSize(most=4, now=4)  # kept from batch to batch, as `Server._worker_loop` keeps it

    def batch():  # type: ignore[no-untyped-def]
        jobs = work_batch(app, "w1", size, keeper, writer)
        assert writer.flush(timeout=60)
        return jobs

    tickets = [approved_ticket(app) for _ in range(2)]
    dead = app.queue.claim_batch("dead", app.settings.workers.lease_seconds, 2)
    assert len(dead) == 2 and batch() == []  # their leases still run: nothing to take
    clock.move_past(max(j.lease_until for j in dead if j.lease_until is not None))
    jobs = batch()  # the same worker, the very next batch: the lease ran out long past the interval
    assert sorted(j.id for j in jobs) == sorted(j.id for j in dead)
    assert all(j.state == JobState.SUCCEEDED and j.attempt == 2 for j in jobs)
    lines = executions(engine_settings.state_dir)
    done = Counter(tuple(line.split()[1:3]) for line in lines if line.startswith("done"))
    assert done == Counter({(t, "aksi-pertama"): 1 for t in tickets})
    assert len([e for e in app.audit.entries() if e.action == "job.reclaim"]) == 2
    assert app.audit.verify().ok


def test_appends_without_entries_write_the_same_chain(engine_app):
    audit = engine_app.audit
    items = [("engine", "test.many", f"T-{i}", {"auth": "engine", "n": i}) for i in range(3)]
    assert audit.append_many(items[:2], entries=False) == []
    written = audit.append_many(items[2:])  # chained after the two written without entries
    stored = [e for e in audit.entries() if e.action == "test.many"]
    assert [e.data["n"] for e in stored] == [0, 1, 2] and stored[-1] == written[0]
    assert stored[1].prev_hash == stored[0].hash and stored[2].prev_hash == stored[1].hash
    assert audit.verify().ok
