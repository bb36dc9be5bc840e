"""The distributed engine's parts without worker processes: the family and target of a job, the settings'
checks, the per-target slot table (SQLite and PostgreSQL) under contention, claim by id, and an enqueue that
survives a broker that is down (the job is durable; the sweep publishes it later)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from integrations.celery.target_slots import PostgresTargetSlots, SqliteTargetSlots
from tests.engine.helpers import approved_ticket
from tests.support.smtp_sink import free_port
from toolkit.bootstrap import App
from toolkit.engine.distributed import DispatchingQueue, family_of, republish_overdue, target_of
from toolkit.ports.jobs import Job, JobState
from toolkit.settings import EngineSettings, load_settings


def _job(action: str, plan: dict[str, object]) -> Job:
    return Job.model_validate({"id": 1, "ticket_id": "T", "step_id": "s", "action": action, "idempotency_key": "k",
                               "idempotent": True, "plan": plan, "state": "queued", "attempt": 0, "max_attempts": 3,
                               "created_at": "2026-01-01T00:00:00Z"})


def test_family_is_the_longest_matching_prefix() -> None:
    engine = EngineSettings(families={"network.": "network", "network.quality": "quality", "ansible.": "ansible"})
    assert family_of(engine, "network.install") == "network"
    assert family_of(engine, "network.quality_test") == "quality"
    assert family_of(engine, "ansible.provision_server") == "ansible"
    assert family_of(engine, "document.render") == "default"


def test_target_is_the_first_plain_plan_field() -> None:
    engine = EngineSettings(target_fields=("switch", "host"))
    assert target_of(engine, _job("network.install", {"host": "h1", "switch": "sw-core"})) == "sw-core"
    assert target_of(engine, _job("x", {"host": "h1"})) == "h1"
    assert target_of(engine, _job("x", {"switch": {"nested": 1}, "host": True})) is None
    assert target_of(engine, _job("x", {})) is None


@pytest.mark.parametrize("families", [{"net;rm": "network"}, {"network.": "a\nb"}, {"network.": "$(id)"},
                                      {"../x": "network"}, {"network.": "{{ 7*7 }}"}, {"network.": "x" * 100}])
def test_family_mapping_refuses_odd_names(families: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        EngineSettings(families=families)


def test_the_embedded_default_needs_no_broker() -> None:
    assert load_settings().engine.kind == "local"


def _contend(slots: SqliteTargetSlots | PostgresTargetSlots, holders: int = 50) -> int:
    got: list[bool] = []
    lock = threading.Lock()

    def take(i: int) -> None:
        ok = slots.acquire("sw-core", 3, f"h{i}", 30)
        with lock:
            got.append(ok)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(holders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(got)


def _slot_rules(slots: SqliteTargetSlots | PostgresTargetSlots) -> None:
    assert _contend(slots) == 3  # 50 at once: exactly the cap
    assert slots.held("sw-core") == 3
    assert slots.acquire("sw-other", 3, "other", 30)  # another target has its own slots
    slots.release("sw-core", "h-none")  # not a holder: nothing freed
    assert not slots.acquire("sw-core", 3, "late", 30)
    assert slots.acquire("sw-edge", 1, "dead", 0.01)  # a holder that died: its lease runs out
    threading.Event().wait(0.05)
    assert slots.acquire("sw-edge", 1, "next", 30)
    assert not slots.renew("sw-edge", "dead", 30)


def test_sqlite_slots_hold_the_cap_under_contention(tmp_path: Path) -> None:
    _slot_rules(SqliteTargetSlots(tmp_path))


def test_postgres_slots_hold_the_cap_under_contention(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.postgres.pool import database_from_settings

    monkeypatch.setenv("SPBE_TEST_PG_DSN", pg_dsn)
    settings = load_settings(secrets={"postgres_dsn": {"ref": "env:SPBE_TEST_PG_DSN"}})
    database = database_from_settings(settings, "slots", pool_max=20)
    try:
        _slot_rules(PostgresTargetSlots(database))
    finally:
        database.close()


def test_enqueue_with_the_broker_down_keeps_the_job(engine_settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SPBE_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    settings = load_settings(state_dir=engine_settings.state_dir, catalog_dir=engine_settings.catalog_dir,
                             extra_actions=engine_settings.extra_actions, workers={"lease_seconds": 1.0},
                             engine={"kind": "celery", "republish_after_s": 0.001})
    app = App(settings)
    try:
        assert isinstance(app.queue, DispatchingQueue)
        ticket_id = approved_ticket(app)
        jobs = app.queue.list_jobs(ticket_id=ticket_id)
        assert [j.state for j in jobs] == [JobState.QUEUED]  # durable, whatever the broker did
        assert republish_overdue(app) == 0  # still down: nothing published, nothing lost
        claimed = app.queue.claim_job(jobs[0].id, "w", 5)
        assert claimed is not None and claimed.state == JobState.RUNNING
        assert app.queue.claim_job(jobs[0].id, "w2", 5) is None  # a duplicate message: nothing to claim
    finally:
        app.close()
