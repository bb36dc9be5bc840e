"""The embedded ticket store on real SQLite files, with real threads and processes where the
claim is about concurrency."""

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
from toolkit.errors import ConflictError, IntegrityError, InvalidInputError, NotFoundError, UnavailableError
from toolkit.settings import Settings
from toolkit.tickets.models import (
    AttachmentUpload,
    EventKind,
    NewEvent,
    TicketDraft,
    TicketStatus,
)
from toolkit.tickets.port import TicketSystem


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


def test_create_get_and_opened_event(store: EmbeddedTicketStore) -> None:
    upload = AttachmentUpload(name="surat permohonan.pdf", media_type="application/pdf", content=b"%PDF-1.4",
                              kind="surat_permohonan")
    draft = _draft().model_copy(update={"attachments": (upload,)})
    ticket = store.create(draft)
    assert ticket.id == f"SPBE-{datetime.now(UTC).year}-00001"
    assert ticket.status == TicketStatus.OPEN and ticket.fields["vcpu"] == 2
    assert ticket.created_at.tzinfo is not None
    assert ticket.attachment("surat permohonan.pdf").added_by == "andi"  # type: ignore[union-attr]
    assert store.get(ticket.id) == ticket
    [opened] = store.timeline(ticket.id)
    assert opened.kind == EventKind.OPENED and opened.actor == "andi"
    assert opened.data["attachments"] == ["surat permohonan.pdf"]
    assert store.read_attachment(ticket.id, "surat permohonan.pdf") == b"%PDF-1.4"


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


def test_list_tickets_filters(store: EmbeddedTicketStore) -> None:
    a = store.create(_draft("pusat-data"))
    b = store.create(_draft("splp"))
    c = store.create(_draft("splp"))
    store.transition(c.id, TicketStatus.CLOSED, "sari")
    assert [t.id for t in store.list_tickets()] == [a.id, b.id, c.id]
    assert [t.id for t in store.list_tickets(service_id="splp")] == [b.id, c.id]
    assert [t.id for t in store.list_tickets(status=TicketStatus.OPEN, service_id="splp")] == [b.id]
    assert store.list_tickets(status=TicketStatus.DEFERRED) == []


def test_post_timeline_and_dedupe(store: EmbeddedTicketStore) -> None:
    ticket = store.create(_draft())
    first = store.post(ticket.id, _comment("outbox:1", "pertama"))
    again = store.post(ticket.id, _comment("outbox:1", "kedua"))
    plain = store.post(ticket.id, _comment())
    assert again == first and again.text == "pertama"
    events = store.timeline(ticket.id)
    assert [e.kind for e in events] == [EventKind.OPENED, EventKind.COMMENT, EventKind.COMMENT]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert plain.seq == first.seq + 1  # a deduplicated post leaves no gap in seq
    assert store.get(ticket.id).updated_at == plain.at


def test_a_dedupe_key_is_not_reused_across_tickets(store: EmbeddedTicketStore) -> None:
    a, b = store.create(_draft()), store.create(_draft())
    store.post(a.id, _comment("k"))
    with pytest.raises(ConflictError):
        store.post(b.id, _comment("k"))
    assert len(store.timeline(b.id)) == 1


def test_reserved_kinds_cannot_be_posted(store: EmbeddedTicketStore) -> None:
    ticket = store.create(_draft())
    with pytest.raises(InvalidInputError):
        store.post(ticket.id, NewEvent(kind=EventKind.STATUS, actor="x", data={"to": "closed"}))
    assert store.get(ticket.id).status == TicketStatus.OPEN


def test_transition_records_from_and_to_and_is_idempotent(store: EmbeddedTicketStore) -> None:
    ticket = store.create(_draft())
    moved = store.transition(ticket.id, TicketStatus.IN_PROGRESS, "kadis", dedupe_key="t1")
    assert moved.status == TicketStatus.IN_PROGRESS and moved.updated_at > ticket.updated_at
    store.transition(ticket.id, TicketStatus.CLOSED, "sari")
    replay = store.transition(ticket.id, TicketStatus.IN_PROGRESS, "kadis", dedupe_key="t1")
    assert replay.status == TicketStatus.CLOSED  # a replayed delivery must not reopen the ticket
    statuses = [e for e in store.timeline(ticket.id) if e.kind == EventKind.STATUS]
    moves = [(e.data["from"], e.data["to"]) for e in statuses]
    assert moves == [("open", "in_progress"), ("in_progress", "closed")]
    store.transition(ticket.id, TicketStatus.CLOSED, "sari")
    assert len([e for e in store.timeline(ticket.id) if e.kind == EventKind.STATUS]) == 2


def test_assign(store: EmbeddedTicketStore) -> None:
    ticket = store.create(_draft())
    assert store.assign(ticket.id, "rudi", "sari").assignee == "rudi"
    store.assign(ticket.id, "rudi", "sari")
    assigned = [e for e in store.timeline(ticket.id) if e.kind == EventKind.ASSIGNED]
    assert len(assigned) == 1 and assigned[0].data == {"from": None, "to": "rudi"}


def test_attach_refuses_other_content_and_ignores_a_replay(store: EmbeddedTicketStore) -> None:
    ticket = store.create(_draft())
    upload = AttachmentUpload(name="berita-acara.pdf", media_type="application/pdf", content=b"v1", kind="ba")
    ref = store.attach(ticket.id, upload, "rudi", dedupe_key="att:1")
    assert ref.sha256 == "3bfc269594ef649228e9a74bab00f042efc91d5acc6fbee31a382e80d42388fe" and ref.size == 2
    assert store.attach(ticket.id, upload, "rudi", dedupe_key="att:1") == ref
    with pytest.raises(ConflictError):
        store.attach(ticket.id, upload.model_copy(update={"content": b"v2"}), "rudi", dedupe_key="att:2")
    assert store.read_attachment(ticket.id, "berita-acara.pdf") == b"v1"
    assert [e.kind for e in store.timeline(ticket.id)].count(EventKind.ATTACHMENT) == 1
    assert store.get(ticket.id).attachments == (ref,)
    with pytest.raises(NotFoundError):
        store.read_attachment(ticket.id, "lain.pdf")


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


def test_events_since_is_a_cursor_across_tickets(store: EmbeddedTicketStore) -> None:
    a, b = store.create(_draft()), store.create(_draft())
    store.post(a.id, _comment())
    store.post(b.id, _comment())
    feed = store.events_since(0)
    assert [(e.ticket_id, e.kind) for e in feed] == [
        (a.id, EventKind.OPENED), (b.id, EventKind.OPENED),
        (a.id, EventKind.COMMENT), (b.id, EventKind.COMMENT),
    ]
    assert store.events_since(feed[1].seq, limit=1) == [feed[2]]
    assert store.events_since(feed[-1].seq) == []


def test_unknown_ticket_is_not_found(store: EmbeddedTicketStore) -> None:
    missing = "SPBE-2026-99999"
    calls = [
        lambda: store.get(missing), lambda: store.timeline(missing), lambda: store.post(missing, _comment()),
        lambda: store.attach(missing, AttachmentUpload(name="a.txt", content=b"x"), "x"),
        lambda: store.transition(missing, TicketStatus.CLOSED, "x"), lambda: store.assign(missing, "a", "b"),
        lambda: store.read_attachment(missing, "a.txt"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError):
            call()
    assert store.events_since(0) == []


# -- concurrency ---------------------------------------------------------------------------------

def test_dedupe_under_eight_threads(store: EmbeddedTicketStore) -> None:
    ticket = store.create(_draft())
    barrier = threading.Barrier(8)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            results.append(store.post(ticket.id, _comment("same-key", f"thread {n}")).seq)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 8 and len(set(results)) == 1
    assert [e.kind for e in store.timeline(ticket.id)].count(EventKind.COMMENT) == 1


def _post_from_child(state_dir: str, ticket_id: str, go: object, out: object) -> None:
    store = EmbeddedTicketStore(settings=Settings(state_dir=Path(state_dir)), busy_timeout_ms=5000)
    go.wait(10)  # type: ignore[attr-defined]
    out.put(store.post(ticket_id, _comment("proc-key", "dari proses")).seq)  # type: ignore[attr-defined]
    store.close()


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
