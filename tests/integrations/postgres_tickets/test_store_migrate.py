"""``spbe store migrate --to SECRET``: a real embedded state (tickets opened, checked and approved through the
desk, their jobs run by the worker with the test actions, results delivered by the outbox, an attachment, a
host and an escalation claimed, audit entries from every command) moved into PostgreSQL, then read back
through an `App` on PostgreSQL settings: the same tickets, timelines, attachments (decrypted content equal),
jobs and log lines; the audit chain verifies there and goes on; ticket numbering continues after the highest
migrated number, and so does the letters' document numbering (the same numbers kept, the sequence going on);
a second run refuses and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.engine.helpers import approved_ticket
from tests.support.cli import Spbe
from tests.support.postgres import PostgresCluster
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload, TicketStatus
from toolkit.engine.worker import work_once
from toolkit.ports.jobs import JobPlan, JobSpec, JobState
from toolkit.settings import AdapterSettings, Settings
from toolkit.vault import VaultMeta

VAULTED = "rahasia-uji-0001"
EVIDENCE = b"%PDF-1.4 bukti pemeriksaan " + bytes(range(256))


def _build_sqlite_state(app: App) -> list[str]:
    tickets = [approved_ticket(app) for _ in range(3)]
    waiting = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Belum diperiksa", {"instansi": "Dinas Uji"}, [])
    for _ in range(50):
        if work_once(app, "w1") is None and not app.queue.list_jobs(state=JobState.QUEUED):
            break
    app.deliver_outbox()
    # a job mid-run (its lease an epoch number in SQLite) and one waiting for a later attempt
    for step in ("sedang-berjalan", "menunggu"):
        app.queue.enqueue(JobSpec(ticket_id=waiting.id, step_id=step, action="tests.counter", idempotent=True,
                                  idempotency_key=f"{waiting.id}:{step}",
                                  planned=JobPlan(plan={"n": 1}, plan_digest="d", input_digest="i")))
    running = app.queue.claim("w9", 300.0, ticket_id=waiting.id)
    assert running is not None and running.step_id == "sedang-berjalan"
    app.tickets.attach(tickets[0], AttachmentUpload(name="bukti.pdf", media_type="application/pdf",
                                                    content=EVIDENCE), "sari", dedupe_key="bukti:1")
    app.tickets.transition(tickets[2], TicketStatus.CLOSED, "sari")
    app.state.hosts.claim(tickets[0], "aksi-pertama", lambda taken: "vm-01")
    app.state.escalations.claim(tickets[1], "sla-50", "w1", datetime.now(UTC), timedelta(minutes=5))
    app.letters.numbers.take(ticket_id=tickets[0], kode="UND", year=2026, month=12)
    app.vault.put(tickets[1], "api-key", SecretStr(VAULTED), meta=VaultMeta(recipient="andi"))
    return tickets


def _postgres_settings(settings: Settings) -> Settings:
    """The same installation with every store on the migrated database (what the operator sets next)."""
    pg = AdapterSettings(kind="postgres", options={"dsn_secret": "pg_target"})
    return settings.model_copy(update={"tickets": pg, "queue": pg, "state": pg,
                                       "audit": settings.audit.model_copy(update={"kind": "postgres",
                                                                                  "options": pg.options})})


@pytest.fixture
def target(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SPBE_TEST_PG_TARGET", pg_dsn)
    monkeypatch.setenv("SPBE_SECRETS__PG_TARGET__REF", "env:SPBE_TEST_PG_TARGET")
    return pg_dsn


def test_an_embedded_state_moves_into_postgres_and_reads_back_the_same(target: str, engine_settings: Settings,
                                                                       state_dir: Path,
                                                                       postgres_cluster: PostgresCluster) -> None:
    source = App(engine_settings)
    try:
        ids = _build_sqlite_state(source)
        before_tickets = source.tickets.list_tickets()
        before_timelines = {t.id: source.tickets.timeline(t.id) for t in before_tickets}
        before_jobs = source.queue.list_jobs()
        before_logs = {j.id: source.queue.logs(j.id) for j in before_jobs}
        before_audit = [e.model_dump() for e in source.audit.entries()]
        numbers_before = [n for _, n, _, _ in source.letters.numbers.issued()]
        assert source.audit.verify().ok
        settings = engine_settings
    finally:
        source.close()
    states = [j.state for j in before_jobs]
    assert states.count(JobState.SUCCEEDED) >= 6 and JobState.RUNNING in states and JobState.QUEUED in states

    spbe = Spbe(state_dir=state_dir, env={"SPBE_CATALOG_DIR": str(settings.catalog_dir)})
    out = spbe.json("store", "migrate", "--to", "pg_target")
    assert out["audit"]["verified"] and out["audit"]["entries"] == len(before_audit)
    assert out["highest_ticket"] == max(t.id for t in before_tickets)
    assert out["copied"]["state.db:document_numbers -> document_numbers"] == 1  # the letters' register moves too
    assert not any("document_" in what for what in out["not_migrated"])
    assert target not in str(out) and postgres_cluster.password not in str(out) and VAULTED not in str(out)
    assert out["copied"]["state.db:secrets -> secrets"] == 1

    app = App(_postgres_settings(settings))
    try:
        assert app.tickets.list_tickets() == before_tickets
        assert {t.id: app.tickets.timeline(t.id) for t in before_tickets} == before_timelines
        assert app.tickets.read_attachment(ids[0], "bukti.pdf") == EVIDENCE
        assert app.queue.list_jobs() == before_jobs
        assert {j.id: app.queue.logs(j.id) for j in before_jobs} == before_logs
        assert app.state.hosts.allocation(ids[0], "aksi-pertama") == "vm-01"
        assert [n for _, n, _, _ in app.letters.numbers.issued()] == numbers_before  # the same number, kept
        following = app.letters.numbers.take(ticket_id="SPBE-2026-99999", kode="UND", year=2026, month=12)
        assert following not in numbers_before  # the sequence goes on from the migrated counter
        assert [(c.ticket_id, c.key) for c in app.state.escalations.claims()] == [(ids[1], "sla-50")]
        assert [e.model_dump() for e in app.audit.entries()] == before_audit
        assert app.vault.use(ids[1], "api-key", purpose="uji migrasi").get_secret_value() == VAULTED
        assert app.audit.verify().ok
        # the desk goes on where the embedded one stopped, through the command layer: the next number, the
        # chain extended by the commands' audit entries
        last = max(before_tickets, key=lambda t: t.id)
        year, num = last.id.rsplit("-", 2)[1:]
        new = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Sesudah migrasi", {"instansi": "Dinas Uji"}, [])
        desk.check(app, new.id, as_lab("sari"))
        if new.id.split("-")[1] == year:  # a test run across New Year starts the next year's sequence
            assert new.id == f"SPBE-{year}-{int(num) + 1:05d}"
        verification = app.audit.verify()
        assert verification.ok and verification.entries > len(before_audit)
    finally:
        app.close()

    on_postgres = {f"SPBE_{store}__{name}": value for store in ("TICKETS", "QUEUE", "STATE", "AUDIT")
                   for name, value in (("KIND", "postgres"), ("OPTIONS__DSN_SECRET", "pg_target"))}
    verified = spbe("audit", "verify", env=on_postgres)
    assert verified.exit_code == 0, verified.output
    listed = spbe.json("ticket", "list", env=on_postgres)
    assert len(str(listed)) > 0 and all(t.id in str(listed) for t in before_tickets)

    again = spbe("store", "migrate", "--to", "pg_target", catch_exceptions=True)
    assert again.exit_code != 0 and "empty database only" in again.output


def test_migrate_names_an_unknown_secret_and_never_echoes_odd_input(state_dir: Path) -> None:
    spbe = Spbe(state_dir=state_dir)
    for name in ("nope", "x;rm -rf /", "$(id)", "../../etc/passwd", "{{7*7}}", "a\nb", "s" * 5000):
        result = spbe("store", "migrate", "--to", name)
        assert result.exit_code != 0
        assert "49" not in result.output and "uid=" not in result.output


def test_a_refused_migration_copies_nothing(target: str, engine_app: App, state_dir: Path) -> None:
    import psycopg

    approved_ticket(engine_app)
    engine_app.close()
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("INSERT INTO queue_cursors VALUES ('someone-else', 7)")
    result = Spbe(state_dir=state_dir, env={"SPBE_CATALOG_DIR": str(engine_app.settings.catalog_dir)})(
        "store", "migrate", "--to", "pg_target")
    assert result.exit_code != 0 and "queue_cursors" in result.output
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT COUNT(*) FROM tickets").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM audit").fetchone() == (0,)
