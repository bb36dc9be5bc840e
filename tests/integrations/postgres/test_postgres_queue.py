"""What only the PostgreSQL queue has to show beyond the contract suite: a wake-up crosses connections (another
host's enqueue wakes this host's waiting worker through LISTEN/NOTIFY), the password stays out of what the
queue shows, and a database restart mid-run costs an `UnavailableError` at most, never a job."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from integrations.queue.postgres_queue import PostgresJobQueue
from tests.support.postgres import PostgresCluster
from toolkit.errors import UnavailableError
from toolkit.ports.jobs import JobPlan, JobSpec, JobState
from toolkit.settings import SecretRef, Settings


def _spec(i: int) -> JobSpec:
    return JobSpec(ticket_id=f"T-{i}", step_id="s", action="test.noop", idempotent=True,
                   idempotency_key=f"T-{i}:s", planned=JobPlan())


@pytest.fixture
def settings(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SPBE_TEST_PG_DSN", pg_dsn)
    return Settings(secrets={"postgres_dsn": SecretRef(ref="env:SPBE_TEST_PG_DSN")})


@pytest.fixture
def two_hosts(settings: Settings) -> Iterator[tuple[PostgresJobQueue, PostgresJobQueue]]:
    """Two queue objects with a listener each: what two hosts have (their notices travel through the server)."""
    first, second = PostgresJobQueue(settings=settings), PostgresJobQueue(settings=settings)
    yield first, second
    first.close()
    second.close()


def test_an_enqueue_on_one_host_wakes_a_worker_waiting_on_another(
        two_hosts: tuple[PostgresJobQueue, PostgresJobQueue]) -> None:
    waiting, enqueuing = two_hosts
    seen = waiting.wait_for_work(0)
    woke: list[int] = []
    waiter = threading.Thread(target=lambda: woke.append(waiting.wait_for_work(600, seen)))
    waiter.start()
    enqueuing.enqueue(_spec(1))
    waiter.join(timeout=60)  # a liveness bound: without the notice it would wait 600 s
    assert not waiter.is_alive() and woke[0] != seen
    assert waiting.claim("w", 30) is not None


def test_the_password_is_in_no_repr(two_hosts: tuple[PostgresJobQueue, PostgresJobQueue],
                                    postgres_cluster: PostgresCluster) -> None:
    queue = two_hosts[0]
    shown = repr(queue) + repr(queue._db) + repr(vars(queue))
    assert postgres_cluster.password not in shown


@pytest.mark.slow  # restarts the session's cluster: a second or two
def test_a_database_restart_mid_run_loses_no_job(settings: Settings, postgres_cluster: PostgresCluster) -> None:
    queue = PostgresJobQueue(settings=settings)
    try:
        for i in range(5):
            queue.enqueue(_spec(i))
        running = queue.claim("w", 30)
        assert running is not None
        seen = queue.wait_for_work(0)
        postgres_cluster.restart()
        failures: list[str] = []
        deadline = time.monotonic() + 30
        while True:  # the pool's connections died with the server: each use finds out once, then reconnects
            try:
                queue.enqueue(_spec(5))
                break
            except UnavailableError as exc:
                failures.append(str(exc))
            assert time.monotonic() < deadline
        assert len(failures) <= 2  # the pool's connections that were open (pool_min=1, one more used)
        assert not any(postgres_cluster.password in text for text in failures)
        assert queue.finish(running.id, running.lease_token or "", JobState.SUCCEEDED, {}, None, []) is not None
        jobs = queue.list_jobs()
        assert len(jobs) == 6 and sorted(j.state for j in jobs).count(JobState.QUEUED) == 5
        assert queue.wait_for_work(30, seen) != seen  # the listener is back (the enqueue after the restart)
    finally:
        queue.close()
