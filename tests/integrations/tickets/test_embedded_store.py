"""The embedded ticket store on real SQLite files, with real threads and processes where the
claim is about concurrency. What every `TicketSystem` must do (not found, dedupe, transitions, the
events_since cursor) is the contract suite's, run on this store too: tests/contracts/test_ticket_system.py."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from integrations.tickets.embedded import EmbeddedTicketStore
from tests.support.sqlite_lock import LockHolder
from toolkit.domain.tickets.models import (
    AttachmentUpload,
    EventKind,
    NewEvent,
    TicketDraft,
    TicketStatus,
)
from toolkit.errors import IntegrityError, UnavailableError
from toolkit.ports.tickets import TicketSystem
from toolkit.settings import Settings


def _draft(service: str = "pusat-data", requester: str = "andi", **extra: object) -> TicketDraft:
    return TicketDraft(service_id=service, title="Permohonan server aplikasi", requester=requester,
                       fields={"instansi": "Dinas Kesehatan", "vcpu": 2, **extra}, sla_variant="standar")


def _comment(key: str | None = None, text: str = "Sedang diproses.") -> NewEvent:
    return NewEvent(kind=EventKind.COMMENT, actor="sari", text=text, dedupe_key=key)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state")


@pytest.fixture
def store(settings: Settings):  # type: ignore[no-untyped-def]
    with EmbeddedTicketStore(settings=settings, busy_timeout_ms=300) as s:
        yield s


# -- basic behaviour -----------------------------------------------------------------------------

def test_it_is_a_ticket_system_and_creates_a_private_wal_file(store: EmbeddedTicketStore) -> None:
    assert isinstance(store, TicketSystem)
    assert store.path.stat().st_mode & 0o077 == 0
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_ids_follow_the_year_of_creation_and_restart_each_year(settings: Settings) -> None:
    now = [datetime(2026, 12, 31, 23, 59, tzinfo=UTC)]
    store = EmbeddedTicketStore(settings=settings, clock=lambda: now[0])
    assert [store.create(_draft()).id for _ in range(2)] == ["SPBE-2026-00001", "SPBE-2026-00002"]
    now[0] = datetime(2027, 1, 1, 0, 1, tzinfo=UTC)
    assert store.create(_draft()).id == "SPBE-2027-00001"
    store.close()


def test_concurrent_creates_get_distinct_contiguous_ids(store: EmbeddedTicketStore) -> None:
    ids: list[str] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        ids.append(store.create(_draft()).id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(int(i.rsplit("-", 1)[1]) for i in ids) == list(range(1, 9))


def test_a_corrupted_attachment_is_not_served(store: EmbeddedTicketStore) -> None:
    ticket = store.create(_draft())
    store.attach(ticket.id, AttachmentUpload(name="bukti.txt", content=b"asli"), "rina")
    with sqlite3.connect(store.path) as raw:
        raw.execute("UPDATE attachments SET content = ? WHERE name = 'bukti.txt'", (b"palsu",))
    with pytest.raises(IntegrityError):
        store.read_attachment(ticket.id, "bukti.txt")


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b.txt", "..", "a\\b", "\udcff.txt", ".hidden"])
def test_attachment_names_that_could_escape_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        AttachmentUpload(name=name, content=b"x")


# -- concurrency ---------------------------------------------------------------------------------

def _post_from_child(state_dir: str, ticket_id: str, go: object, out: object) -> None:
    store = EmbeddedTicketStore(settings=Settings(state_dir=Path(state_dir)), busy_timeout_ms=5000)
    go.wait(10)  # type: ignore[attr-defined]
    out.put(store.post(ticket_id, _comment("proc-key", "dari proses")).seq)  # type: ignore[attr-defined]
    store.close()


@pytest.mark.slow  # several processes or a whole-tree scan: the full suite runs it, the fast tier does not
def test_dedupe_under_two_processes(store: EmbeddedTicketStore, settings: Settings) -> None:
    ticket = store.create(_draft())
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_post_from_child, args=(str(settings.state_dir), ticket.id, go, out))
             for _ in range(2)]
    for p in procs:
        p.start()
    time.sleep(0.5)  # both children have opened the store by now, or will post as soon as they have
    go.set()
    seqs = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(10)
        assert p.exitcode == 0
    assert seqs[0] == seqs[1]
    comments = [e for e in store.timeline(ticket.id) if e.kind == EventKind.COMMENT]
    assert [e.seq for e in comments] == [seqs[0]]


_LockHolder = LockHolder


def test_a_locked_file_is_unavailable_then_recovers(store: EmbeddedTicketStore) -> None:
    ticket = store.create(_draft())
    holder = _LockHolder(store.path)
    try:
        started = time.monotonic()
        with pytest.raises(UnavailableError, match="ticket store unavailable"):
            store.post(ticket.id, _comment("during-outage"))
        assert time.monotonic() - started < 5
        with pytest.raises(UnavailableError):
            store.transition(ticket.id, TicketStatus.CLOSED, "sari", dedupe_key="close")
        with pytest.raises(UnavailableError):
            store.create(_draft())
        with pytest.raises(UnavailableError):
            store.attach(ticket.id, AttachmentUpload(name="a.txt", content=b"x"), "rudi")
    finally:
        holder.release()
    assert store.get(ticket.id).status == TicketStatus.OPEN
    assert [e.kind for e in store.timeline(ticket.id)] == [EventKind.OPENED]
    assert [t.id for t in store.list_tickets()] == [ticket.id]
    assert store.get(ticket.id).attachments == ()
    posted = store.post(ticket.id, _comment("during-outage"))
    assert store.post(ticket.id, _comment("during-outage")) == posted
    assert [e.kind for e in store.timeline(ticket.id)] == [EventKind.OPENED, EventKind.COMMENT]
    assert store.create(_draft()).id.endswith("-00002")


def test_opening_a_store_on_a_locked_file_is_unavailable(settings: Settings) -> None:
    EmbeddedTicketStore(settings=settings).close()
    holder = _LockHolder(settings.state_dir / "tickets.db")
    try:
        with pytest.raises(UnavailableError):
            EmbeddedTicketStore(settings=settings, busy_timeout_ms=200)
    finally:
        holder.release()


def test_a_store_path_that_cannot_be_created_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(UnavailableError):
        EmbeddedTicketStore(settings=Settings(state_dir=blocker / "state"))


def _post_with_inherited_store(store: EmbeddedTicketStore, ticket_id: str) -> None:
    store.post(ticket_id, _comment("forked", "dari anak"))


def test_a_forked_child_opens_its_own_connection(store: EmbeddedTicketStore) -> None:
    ticket = store.create(_draft())
    # The parent's connection is mid-transaction at fork time, as it may be when a worker forks;
    # a child that reused it would fail to begin its own transaction.
    parent_conn = store._conn()
    parent_conn.execute("BEGIN")
    fork = multiprocessing.get_context("fork")
    proc = fork.Process(target=_post_with_inherited_store, args=(store, ticket.id))
    proc.start()
    proc.join(30)
    parent_conn.execute("ROLLBACK")
    assert proc.exitcode == 0
    assert [e.text for e in store.timeline(ticket.id)][-1] == "dari anak"
    store.post(ticket.id, _comment())
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- a worker batch's reads ------------------------------------------------------------------------

def test_snapshots_and_last_seqs_answer_for_several_tickets_as_one_by_one_would(store: EmbeddedTicketStore) -> None:
    first = store.create(_draft())
    second = store.create(_draft(requester="budi"))
    quiet = store.create(_draft(requester="citra"))
    store.post(first.id, _comment("a"))
    store.post(second.id, _comment("b"))
    store.post(first.id, _comment("c"))
    wanted = [first.id, second.id, quiet.id, "SPBE-1999-99999", first.id]  # an unknown ticket; one asked twice
    snaps = store.snapshots(wanted)
    assert list(snaps) == [first.id, second.id, quiet.id]  # the unknown one is left out
    for ticket_id, (ticket, timeline) in snaps.items():
        assert (ticket, timeline) == store.snapshot(ticket_id)
    assert store.last_seqs(wanted) == {t: store.last_seq(t) for t in dict.fromkeys(wanted)}
    assert store.last_seqs(["SPBE-1999-99999"]) == {"SPBE-1999-99999": 0}
    assert store.snapshots([]) == {} and store.last_seqs([]) == {}
