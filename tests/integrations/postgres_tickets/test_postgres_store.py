"""The PostgreSQL ticket store's own guarantees beyond the contract suite: the yearly sequence, threads of one
process, attachments sealed in the table (no plaintext in the database), a blob moved to another row refused,
a writer that cannot get the lock is `UnavailableError` (retried by the outbox) and the store recovers, an
unmigrated database names the command, and the DSN's password never shows in an error or a repr."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from integrations.tickets.postgres_rows import WRITER_LOCK
from integrations.tickets.postgres_store import PostgresTicketStore
from tests.support.postgres import PostgresCluster
from toolkit.domain.tickets.models import AttachmentUpload, EventKind, NewEvent, TicketDraft
from toolkit.errors import ConfigurationError, IntegrityError, UnavailableError
from toolkit.settings import SecretRef, Settings

CONTENT = b"NIK 3201010101010001 - surat permohonan"


def _draft(**extra: object) -> TicketDraft:
    return TicketDraft(service_id="pusat-data", title="Permohonan VM", requester="andi", fields={},
                       sla_variant="standar", **extra)  # type: ignore[arg-type]


def _settings(tmp_path: Path, dsn: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SPBE_TEST_TICKETS_DSN", dsn)
    return Settings(state_dir=tmp_path / "state", secrets={"postgres_dsn": SecretRef(ref="env:SPBE_TEST_TICKETS_DSN")})


@pytest.fixture
def store(pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PostgresTicketStore]:
    with PostgresTicketStore(settings=_settings(tmp_path, pg_dsn, monkeypatch), busy_timeout_ms=200) as found:
        yield found


def test_ids_follow_the_year_of_creation_and_restart_each_year(pg_dsn: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    now = [datetime(2026, 12, 31, 23, 59, tzinfo=UTC)]
    with PostgresTicketStore(settings=_settings(tmp_path, pg_dsn, monkeypatch), clock=lambda: now[0]) as store:
        assert [store.create(_draft()).id for _ in range(2)] == ["SPBE-2026-00001", "SPBE-2026-00002"]
        now[0] = datetime(2027, 1, 1, 0, 1, tzinfo=UTC)
        assert store.create(_draft()).id == "SPBE-2027-00001"
        assert [t.id for t in store.find_tickets(limit=2)[0]] == ["SPBE-2027-00001", "SPBE-2026-00002"]


def test_threads_of_one_process_get_distinct_contiguous_ids(store: PostgresTicketStore) -> None:
    ids: list[str] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        ids.append(store.create(_draft()).id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(ids) == [f"SPBE-{datetime.now(UTC).year}-{n:05d}" for n in range(1, 9)]


def test_attachments_are_sealed_in_the_table_and_a_moved_blob_is_refused(store: PostgresTicketStore,
                                                                         pg_dsn: str) -> None:
    a = store.create(_draft(attachments=(AttachmentUpload(name="surat.pdf", media_type="application/pdf",
                                                          content=CONTENT),)))
    b = store.create(_draft(attachments=(AttachmentUpload(name="surat.pdf", media_type="application/pdf",
                                                          content=b"lain"),)))
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        raw = conn.execute("SELECT content FROM ticket_attachments WHERE ticket_id = %s", (a.id,)).fetchone()[0]
        assert CONTENT not in bytes(raw) and b"3201010101010001" not in bytes(raw)
        assert store.read_attachment(a.id, "surat.pdf") == CONTENT
        conn.execute("UPDATE ticket_attachments SET content = %s, sha256 = (SELECT sha256 FROM ticket_attachments "
                     "WHERE ticket_id = %s) WHERE ticket_id = %s", (raw, a.id, b.id))
    with pytest.raises(IntegrityError):
        store.read_attachment(b.id, "surat.pdf")


def test_a_writer_that_cannot_get_the_lock_is_unavailable_then_recovers(store: PostgresTicketStore,
                                                                        pg_dsn: str) -> None:
    ticket = store.create(_draft())
    with psycopg.connect(pg_dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))  # another host's writer, stuck
        with pytest.raises(UnavailableError):
            store.post(ticket.id, NewEvent(kind=EventKind.COMMENT, actor="spbe", text="x", dedupe_key="k1"))
        assert store.get(ticket.id).id == ticket.id  # readers never wait for the writer lock
        holder.execute("SELECT pg_advisory_unlock(%s)", (WRITER_LOCK,))
    event = store.post(ticket.id, NewEvent(kind=EventKind.COMMENT, actor="spbe", text="x", dedupe_key="k1"))
    assert [e.seq for e in store.timeline(ticket.id)] == [1, event.seq] and event.seq == 2


def test_an_unmigrated_database_names_the_command(postgres_cluster: PostgresCluster, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(postgres_cluster.dsn(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE bare_tickets")
    try:
        settings = _settings(tmp_path, postgres_cluster.dsn("bare_tickets"), monkeypatch)
        with PostgresTicketStore(settings=settings) as store:
            for call in (lambda: store.create(_draft()), lambda: store.get("SPBE-2026-00001"),
                         lambda: store.events_since(0), store.active_ticket_ids):
                with pytest.raises(ConfigurationError, match="spbe store migrate-schema"):
                    call()
    finally:
        postgres_cluster.drop_database("bare_tickets")


def test_the_password_never_shows(postgres_cluster: PostgresCluster, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = postgres_cluster.dsn().replace(postgres_cluster.password, postgres_cluster.password + "x")
    with PostgresTicketStore(settings=_settings(tmp_path, wrong, monkeypatch), connect_timeout_s=2) as store:
        assert postgres_cluster.password not in repr(store.db)
        with pytest.raises(UnavailableError) as caught:
            store.get("SPBE-2026-00001")
    assert postgres_cluster.password not in str(caught.value)


def test_migrate_schema_brings_the_ticket_tables(postgres_cluster: PostgresCluster, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.postgres.migrate import head_revision
    from tests.support.cli import Spbe

    with psycopg.connect(postgres_cluster.dsn(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE schema_tickets")
    try:
        monkeypatch.setenv("SPBE_TEST_TICKETS_DSN", postgres_cluster.dsn("schema_tickets"))
        spbe = Spbe(state_dir=tmp_path / "state", env={"SPBE_TICKETS__KIND": "postgres",
                                                       "SPBE_SECRETS__POSTGRES_DSN__REF": "env:SPBE_TEST_TICKETS_DSN"})
        assert spbe.json("store", "migrate-schema") == {"revisions": {"tickets": head_revision()}}
        assert head_revision() >= "0003_tickets"
        with psycopg.connect(postgres_cluster.dsn("schema_tickets")) as conn:
            assert conn.execute("SELECT COUNT(*) FROM ticket_events").fetchone() == (0,)
    finally:
        postgres_cluster.drop_database("schema_tickets")
