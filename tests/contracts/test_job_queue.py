"""The `JobQueue` contract on every implementation (conftest.job_queue), with the queue's clock moved by the test:
one job per idempotency key, leases that another worker reclaims (re-run when idempotent, failed otherwise),
fencing by the lease token, a release that does not count as an attempt, and an outbox that delivers each
dedupe key once, in order, when due."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tests.support.clock import ManualClock
from toolkit.domain.tickets.models import EventKind
from toolkit.errors import ConflictError, NotFoundError
from toolkit.ports.jobs import Job, JobFinish, JobPlan, JobQueue, JobSpec, JobState, OutboxItem, event_item

LEASE = 30.0  # seconds of the queue's clock; the tests move it, they never wait for it


def _spec(step: str = "instalasi-server", *, idempotent: bool = True, ticket: str = "T-1",
          max_attempts: int = 3) -> JobSpec:
    return JobSpec(ticket_id=ticket, step_id=step, action="ansible.provision_server", idempotent=idempotent,
                   idempotency_key=f"{ticket}:{step}", max_attempts=max_attempts,
                   planned=JobPlan(plan={"action": "ansible.provision_server", "host": None}, plan_digest="d1",
                                   input_digest="i1"))


def _claimed(queue: JobQueue, spec: JobSpec, worker: str = "w1") -> Job:
    queue.enqueue(spec)
    job = queue.claim(worker, LEASE)
    assert job is not None and job.state == JobState.RUNNING and job.lease_token
    return job


def test_it_is_a_job_queue(job_queue: JobQueue) -> None:
    assert isinstance(job_queue, JobQueue)


def test_one_job_per_idempotency_key(job_queue: JobQueue) -> None:
    job, created = job_queue.enqueue(_spec())
    again, created_again = job_queue.enqueue(_spec())
    assert created and not created_again and again.id == job.id
    assert job.state == JobState.QUEUED and job.attempt == 0
    assert [j.id for j in job_queue.list_jobs(ticket_id="T-1")] == [job.id]


def test_duplicate_deliveries_from_many_threads_make_one_job(job_queue: JobQueue) -> None:
    created: list[bool] = []
    barrier = threading.Barrier(8)

    def deliver() -> None:
        barrier.wait()
        created.append(job_queue.enqueue(_spec())[1])

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(created) == [False] * 7 + [True]
    assert len(job_queue.list_jobs()) == 1


def test_a_claimed_job_is_not_claimed_twice(job_queue: JobQueue) -> None:
    job = _claimed(job_queue, _spec())
    assert job.attempt == 1 and job.worker == "w1"
    assert job_queue.claim("w2", LEASE) is None


def test_claim_can_be_narrowed_to_a_ticket(job_queue: JobQueue) -> None:
    job_queue.enqueue(_spec(ticket="T-1"))
    job_queue.enqueue(_spec(ticket="T-2"))
    job = job_queue.claim("w1", LEASE, ticket_id="T-2")
    assert job is not None and job.ticket_id == "T-2"


def test_an_expired_idempotent_job_is_reclaimed_and_run_again(job_queue: JobQueue, clock: ManualClock) -> None:
    job = _claimed(job_queue, _spec())
    assert job_queue.reclaim_expired() == []  # the lease still runs
    assert job.lease_until is not None
    clock.move_past(job.lease_until)
    [reclaimed] = job_queue.reclaim_expired()
    assert reclaimed.state == JobState.QUEUED and [h["event"] for h in reclaimed.history] == ["lease_expired"]
    again = job_queue.claim("w2", LEASE)
    assert again is not None and again.id == job.id and again.attempt == 2 and again.lease_token != job.lease_token


def test_an_expired_job_that_is_not_idempotent_is_failed_and_told(job_queue: JobQueue, clock: ManualClock) -> None:
    job = _claimed(job_queue, _spec(idempotent=False))
    assert job.lease_until is not None
    clock.move_past(job.lease_until)

    def notice(failed: Job) -> list[OutboxItem]:
        return [event_item(failed.ticket_id, f"failed:{failed.id}", EventKind.STEP_FAILED, "Langkah gagal.")]

    [failed] = job_queue.reclaim_expired(on_failed=notice)
    assert failed.state == JobState.FAILED and failed.error
    assert job_queue.claim("w2", LEASE) is None  # never run twice on its own
    assert [p.item.dedupe_key for p in job_queue.outbox_due(clock.now())] == [f"failed:{job.id}"]


def test_attempts_run_out(job_queue: JobQueue, clock: ManualClock) -> None:
    job_queue.enqueue(_spec(max_attempts=1))
    job = job_queue.claim("w1", LEASE)
    assert job is not None and job.lease_until is not None
    clock.move_past(job.lease_until)
    [failed] = job_queue.reclaim_expired()
    assert failed.state == JobState.FAILED


def test_a_heartbeat_keeps_the_lease_and_a_lost_lease_fences_the_old_worker(
        job_queue: JobQueue, clock: ManualClock) -> None:
    job = _claimed(job_queue, _spec())
    assert job.lease_token is not None
    clock.advance(timedelta(seconds=LEASE / 2))
    assert job_queue.heartbeat(job.id, job.lease_token, LEASE)
    clock.advance(timedelta(seconds=LEASE * 0.75))  # past the first lease, within the renewed one
    assert job_queue.reclaim_expired() == []
    clock.advance(timedelta(seconds=LEASE))
    assert len(job_queue.reclaim_expired()) == 1
    taken = job_queue.claim("w2", LEASE)
    assert taken is not None
    # The first worker comes back: every write with its old token is refused.
    assert not job_queue.heartbeat(job.id, job.lease_token, LEASE)
    assert not job_queue.finish(job.id, job.lease_token, JobState.SUCCEEDED, {}, None, [])
    assert not job_queue.release(job.id, job.lease_token, 0, "late")
    assert job_queue.get(job.id).state == JobState.RUNNING and job_queue.get(job.id).worker == "w2"


def test_finish_records_the_result_and_queues_the_outbox_together(job_queue: JobQueue, clock: ManualClock) -> None:
    job = _claimed(job_queue, _spec())
    assert job.lease_token is not None
    items = [event_item("T-1", "T-1:done", EventKind.STEP_COMPLETED, "Selesai.")]
    assert job_queue.finish(job.id, job.lease_token, JobState.SUCCEEDED, {"changed": 1}, None, items)
    done = job_queue.get(job.id)
    assert done.state == JobState.SUCCEEDED and done.result == {"changed": 1} and done.lease_token is None
    assert job_queue.step_results("T-1")["instalasi-server"].id == job.id
    assert job_queue.outbox_pending_count("T-1") == 1
    assert not job_queue.finish(job.id, job.lease_token, JobState.FAILED, None, "again", items)  # once only


def test_a_release_gives_the_job_back_after_the_delay_without_counting(job_queue: JobQueue,
                                                                       clock: ManualClock) -> None:
    job = _claimed(job_queue, _spec())
    assert job.lease_token is not None
    assert job_queue.release(job.id, job.lease_token, 60, "ticket system unreachable")
    assert job_queue.claim("w2", LEASE) is None  # not before the delay
    clock.advance(timedelta(seconds=61))
    again = job_queue.claim("w2", LEASE)
    assert again is not None and again.attempt == 1  # the released attempt did not count


def test_cancel_and_retry(job_queue: JobQueue) -> None:
    queued, _ = job_queue.enqueue(_spec("a"))
    assert job_queue.cancel(queued.id).state == JobState.CANCELED
    with pytest.raises(ConflictError):
        job_queue.cancel(queued.id)
    retried = job_queue.retry(queued.id)
    assert retried.state == JobState.QUEUED
    with pytest.raises(ConflictError):
        job_queue.retry(queued.id)  # only failed or canceled jobs
    running = _claimed(job_queue, _spec("b"))
    assert job_queue.cancel(running.id).cancel_requested  # a running job is asked to stop, not killed


def test_the_plan_is_stored_with_the_job_and_found_by_its_key(job_queue: JobQueue) -> None:
    assert job_queue.find("T-1:instalasi-server") is None  # looked up before anything is planned
    job, _ = job_queue.enqueue(_spec())
    found = job_queue.find("T-1:instalasi-server")
    assert found is not None and found.id == job.id
    assert (found.plan, found.plan_digest, found.input_digest, found.plan_error) == (
        {"action": "ansible.provision_server", "host": None}, "d1", "i1", None)


def test_a_retry_keeps_the_plan_or_takes_the_new_one(job_queue: JobQueue) -> None:
    job, _ = job_queue.enqueue(_spec())
    job_queue.cancel(job.id)
    kept = job_queue.retry(job.id)
    assert (kept.plan_digest, kept.input_digest) == ("d1", "i1")
    job_queue.cancel(job.id)
    replanned = job_queue.retry(job.id, JobPlan(plan={"action": "ansible.provision_server", "host": "pd-02"},
                                                plan_digest="d2", input_digest="i2"))
    assert (replanned.plan["host"], replanned.plan_digest, replanned.input_digest) == ("pd-02", "d2", "i2")
    assert replanned.history[-1]["replanned"] is True and replanned.history[-1]["previous_plan_digest"] == "d1"
    refused, _ = job_queue.enqueue(_spec("b").model_copy(update={"planned": JobPlan(error="no such site")}))
    assert refused.plan_error == "no such site" and refused.plan == {}


def test_unknown_jobs_are_not_found(job_queue: JobQueue) -> None:
    for call in (job_queue.get, job_queue.cancel, job_queue.retry):
        with pytest.raises(NotFoundError):
            call(999_999)


def test_logs_are_appended_in_order_and_read_from_a_cursor(job_queue: JobQueue) -> None:
    job, _ = job_queue.enqueue(_spec())
    job_queue.append_log(job.id, ["satu", "dua"])
    job_queue.append_log(job.id, ["tiga"])
    lines = job_queue.logs(job.id)
    assert [line for _, line in lines] == ["satu", "dua", "tiga"]
    assert job_queue.logs(job.id, after=lines[1][0]) == [lines[2]]


def test_the_outbox_keeps_one_item_per_dedupe_key_in_order_until_delivered(job_queue: JobQueue,
                                                                          clock: ManualClock) -> None:
    first = event_item("T-1", "k1", EventKind.COMMENT, "pertama")
    job_queue.add_outbox([first, event_item("T-1", "k2", EventKind.COMMENT, "kedua")])
    job_queue.add_outbox([first])  # a replay
    due = job_queue.outbox_due(clock.now())
    assert [p.item.dedupe_key for p in due] == ["k1", "k2"] and due[0].item == first
    job_queue.outbox_retry_later(due[0].id, "ticket system down", clock.now() + timedelta(seconds=10))
    assert [p.item.dedupe_key for p in job_queue.outbox_due(clock.now())] == ["k2"]
    job_queue.outbox_delivered(due[1].id)
    clock.advance(timedelta(seconds=11))
    [again] = job_queue.outbox_due(clock.now())
    assert again.item.dedupe_key == "k1" and again.attempts == 1 and again.last_error == "ticket system down"
    job_queue.outbox_delivered(again.id)
    assert job_queue.outbox_pending_count() == 0 and job_queue.outbox_due(clock.now()) == []


def test_cursors_are_kept(job_queue: JobQueue) -> None:
    assert job_queue.get_cursor("trigger") == 0
    job_queue.set_cursor("trigger", 42)
    assert job_queue.get_cursor("trigger") == 42


# -- batches, wake-ups, the finish transaction --------------------------------------------------------

def test_batch_claims_from_many_threads_never_hand_one_job_to_two_workers(job_queue: JobQueue) -> None:
    for i in range(40):
        job_queue.enqueue(_spec(f"s{i}", ticket=f"T-{i}"))
    claimed: list[Job] = []
    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        barrier.wait()
        while batch := job_queue.claim_batch(name, LEASE, 3):
            claimed.extend(batch)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(j.id for j in claimed) == sorted(j.id for j in job_queue.list_jobs(limit=100))
    assert len({j.lease_token for j in claimed}) == 40  # a lease and a token per job, not per batch
    assert all(j.state == JobState.RUNNING and j.attempt == 1 for j in claimed)
    assert job_queue.claim_batch("late", LEASE, 3) == []


def test_a_batch_takes_a_job_that_is_not_idempotent_only_first(job_queue: JobQueue) -> None:
    job_queue.enqueue(_spec("a", ticket="T-1"))
    job_queue.enqueue(_spec("b", ticket="T-2", idempotent=False))
    job_queue.enqueue(_spec("c", ticket="T-3"))
    job_queue.enqueue(_spec("d", ticket="T-4", idempotent=False))
    assert [j.step_id for j in job_queue.claim_batch("w1", LEASE, 5)] == ["a"]  # stops before "b"
    assert [j.step_id for j in job_queue.claim_batch("w2", LEASE, 5)] == ["b", "c"]  # "b" first, stops before "d"
    assert [j.step_id for j in job_queue.claim_batch("w3", LEASE, 5)] == ["d"]


def test_a_batch_claimed_job_whose_worker_died_is_reclaimed_job_by_job(job_queue: JobQueue,
                                                                       clock: ManualClock) -> None:
    for i in range(3):
        job_queue.enqueue(_spec(f"s{i}", ticket=f"T-{i}"))
    batch = job_queue.claim_batch("dead", LEASE, 3)
    assert len(batch) == 3
    first = batch[0]
    assert first.lease_token is not None and first.lease_until is not None
    clock.advance(timedelta(seconds=LEASE / 2))
    assert job_queue.heartbeat(first.id, first.lease_token, LEASE)  # the worker kept one lease, then died
    clock.move_past(first.lease_until)
    assert sorted(j.id for j in job_queue.reclaim_expired()) == sorted(j.id for j in batch[1:])
    clock.advance(timedelta(seconds=LEASE))
    assert [j.id for j in job_queue.reclaim_expired()] == [first.id]
    again = job_queue.claim_batch("w2", LEASE, 5)
    assert sorted(j.id for j in again) == sorted(j.id for j in batch)
    assert all(j.attempt == 2 for j in again)
    for old in batch:  # the dead worker's tokens are fenced off
        assert not job_queue.finish(old.id, old.lease_token or "", JobState.SUCCEEDED, {}, None, [])


def test_finish_writes_the_last_log_lines_and_returns_the_job_as_recorded(job_queue: JobQueue) -> None:
    job = _claimed(job_queue, _spec())
    job_queue.append_log(job.id, ["satu"])
    done = job_queue.finish(job.id, job.lease_token or "", JobState.SUCCEEDED, {"changed": 0}, None, [],
                            logs=["dua", "tiga"])
    assert done is not None and done == job_queue.get(job.id)
    assert done.state == JobState.SUCCEEDED and done.result == {"changed": 0} and done.finished_at is not None
    assert [line for _, line in job_queue.logs(job.id)] == ["satu", "dua", "tiga"]
    late = job_queue.finish(job.id, job.lease_token or "", JobState.FAILED, None, "x", [], logs=["empat"])
    assert late is None and [line for _, line in job_queue.logs(job.id)] == ["satu", "dua", "tiga"]


def test_finish_many_records_a_batch_together_each_fenced_by_its_own_token(job_queue: JobQueue,
                                                                           clock: ManualClock) -> None:
    for i in range(3):
        job_queue.enqueue(_spec(f"s{i}", ticket=f"T-{i}"))
    batch = job_queue.claim_batch("w1", LEASE, 3)
    assert len(batch) == 3 and batch[0].lease_until is not None
    clock.advance(timedelta(seconds=LEASE / 2))
    for kept in (batch[0], batch[2]):  # two leases renewed; the second job's runs out: another worker takes it
        assert job_queue.heartbeat(kept.id, kept.lease_token or "", LEASE)
    clock.move_past(batch[0].lease_until)
    assert [j.id for j in job_queue.reclaim_expired()] == [batch[1].id]
    taken = job_queue.claim("w2", LEASE, ticket_id=batch[1].ticket_id)
    assert taken is not None and taken.id == batch[1].id
    finishes = [JobFinish(j.id, j.lease_token or "", JobState.SUCCEEDED, {"n": j.id}, None,
                          [event_item(j.ticket_id, f"job:{j.id}:done", EventKind.STEP_COMPLETED, "ok")],
                          [f"log {j.id}"])
                for j in batch]
    done = job_queue.finish_many(finishes)
    assert [d is not None for d in done] == [True, False, True]
    for job, recorded in zip(batch, done, strict=True):
        if recorded is not None:
            assert recorded == job_queue.get(job.id) and recorded.result == {"n": job.id}
            assert [line for _, line in job_queue.logs(job.id)] == [f"log {job.id}"]
    assert job_queue.get(batch[1].id).state == JobState.RUNNING  # w2's, untouched
    assert job_queue.logs(batch[1].id) == []
    assert sorted(p.item.ticket_id for p in job_queue.outbox_due(clock.now())) == sorted(
        [batch[0].ticket_id, batch[2].ticket_id])
    assert job_queue.finish_many([]) == []


def test_finish_many_continues_each_jobs_earlier_log_lines(job_queue: JobQueue) -> None:
    for i in range(3):
        job_queue.enqueue(_spec(f"s{i}", ticket=f"T-{i}"))
    batch = job_queue.claim_batch("w1", LEASE, 3)
    job_queue.append_log(batch[0].id, ["a1", "a2"])  # flushed while it ran
    job_queue.append_log(batch[2].id, ["c1"])
    job_queue.finish_many([JobFinish(j.id, j.lease_token or "", JobState.SUCCEEDED, {}, None, [], lines)
                           for j, lines in zip(batch, (["a3"], ["b1", "b2"], []), strict=True)])
    assert [job_queue.logs(j.id) for j in batch] == [[(1, "a1"), (2, "a2"), (3, "a3")], [(1, "b1"), (2, "b2")],
                                                     [(1, "c1")]]


def test_an_enqueue_wakes_a_waiting_worker(job_queue: JobQueue) -> None:
    seen = job_queue.wait_for_work(0)
    woke: list[int] = []
    waiter = threading.Thread(target=lambda: woke.append(job_queue.wait_for_work(600, seen)))
    waiter.start()
    job_queue.enqueue(_spec())
    waiter.join(timeout=60)  # a liveness bound, not a speed check: without the wake-up it waits 600 s
    assert not waiter.is_alive() and woke and woke[0] != seen
    assert job_queue.wait_for_work(600, seen) != seen  # a wake-up given before the wait is not missed
    job_queue.enqueue(_spec())  # a duplicate creates nothing and wakes nobody
    assert job_queue.wait_for_work(0, None) == woke[0]


def test_delivered_items_are_marked_together(job_queue: JobQueue, clock: ManualClock) -> None:
    job_queue.add_outbox([event_item("T-1", f"k{i}", EventKind.COMMENT, "x") for i in range(3)])
    due = job_queue.outbox_due(clock.now())
    job_queue.outbox_delivered_many([due[0].id, due[2].id])
    assert [p.item.dedupe_key for p in job_queue.outbox_due(clock.now())] == ["k1"]


def test_step_results_of_several_tickets_match_each_tickets_own(job_queue: JobQueue) -> None:
    for ticket in ("T-1", "T-2", "T-3"):
        for step in ("s1", "s2"):
            job = _claimed(job_queue, _spec(step, ticket=ticket))
            if (ticket, step) != ("T-2", "s2"):
                assert job_queue.finish(job.id, job.lease_token or "", JobState.SUCCEEDED, {"t": ticket}, None, [])
    many = job_queue.step_results_many(["T-1", "T-2", "T-9"])
    assert many == {"T-1": job_queue.step_results("T-1"), "T-2": job_queue.step_results("T-2"), "T-9": {}}
    assert sorted(many["T-2"]) == ["s1"]  # the running one is not a result
