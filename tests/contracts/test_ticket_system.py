"""The `TicketSystem` contract on every implementation (conftest.ticket_system): what the engine relies on
from any service desk: NotFoundError for an unknown ticket, idempotency by dedupe key (also under threads),
a replayed transition that never reopens, events_since as an ordered cursor across tickets."""

from __future__ import annotations

import threading

import pytest

from toolkit.domain.tickets.models import AttachmentUpload, EventKind, NewEvent, TicketDraft, TicketStatus
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError
from toolkit.ports.tickets import TicketSystem


def _draft(service: str = "pusat-data", requester: str = "andi", **extra: object) -> TicketDraft:
    return TicketDraft(service_id=service, title="Permohonan server aplikasi", requester=requester,
                       fields={"instansi": "Dinas Kesehatan", "vcpu": 2, **extra}, sla_variant="standar")


def _comment(key: str | None = None, text: str = "Sedang diproses.") -> NewEvent:
    return NewEvent(kind=EventKind.COMMENT, actor="sari", text=text, dedupe_key=key)


def test_it_is_a_ticket_system(ticket_system: TicketSystem) -> None:
    assert isinstance(ticket_system, TicketSystem)


def test_create_get_and_opened_event(ticket_system: TicketSystem) -> None:
    upload = AttachmentUpload(name="surat permohonan.pdf", media_type="application/pdf", content=b"%PDF-1.4",
                              kind="surat_permohonan")
    draft = _draft().model_copy(update={"attachments": (upload,)})
    ticket = ticket_system.create(draft)
    assert ticket.id  # its format is the implementation's (the embedded store's: tests/integrations/tickets)
    assert ticket.status == TicketStatus.OPEN and ticket.fields["vcpu"] == 2
    assert ticket.created_at.tzinfo is not None
    assert ticket.attachment("surat permohonan.pdf").added_by == "andi"  # type: ignore[union-attr]
    assert ticket_system.get(ticket.id) == ticket
    [opened] = ticket_system.timeline(ticket.id)
    assert opened.kind == EventKind.OPENED and opened.actor == "andi"
    assert opened.data["attachments"] == ["surat permohonan.pdf"]
    assert ticket_system.read_attachment(ticket.id, "surat permohonan.pdf") == b"%PDF-1.4"


def test_list_tickets_filters(ticket_system: TicketSystem) -> None:
    a = ticket_system.create(_draft("pusat-data"))
    b = ticket_system.create(_draft("splp"))
    c = ticket_system.create(_draft("splp"))
    ticket_system.transition(c.id, TicketStatus.CLOSED, "sari")
    assert [t.id for t in ticket_system.list_tickets()] == [a.id, b.id, c.id]
    assert [t.id for t in ticket_system.list_tickets(service_id="splp")] == [b.id, c.id]
    assert [t.id for t in ticket_system.list_tickets(status=TicketStatus.OPEN, service_id="splp")] == [b.id]
    assert ticket_system.list_tickets(status=TicketStatus.DEFERRED) == []


def test_active_tickets_are_the_open_and_in_progress_ones(ticket_system: TicketSystem) -> None:
    """What the engine's sweep looks at: never a closed or deferred ticket."""
    opened, moving, waiting, done = (ticket_system.create(_draft()) for _ in range(4))
    ticket_system.transition(moving.id, TicketStatus.IN_PROGRESS, "kadis")
    ticket_system.transition(waiting.id, TicketStatus.DEFERRED, "kadis")
    ticket_system.transition(done.id, TicketStatus.CLOSED, "sari")
    assert ticket_system.active_ticket_ids() == [opened.id, moving.id]


def test_post_timeline_and_dedupe(ticket_system: TicketSystem) -> None:
    ticket = ticket_system.create(_draft())
    first = ticket_system.post(ticket.id, _comment("outbox:1", "pertama"))
    again = ticket_system.post(ticket.id, _comment("outbox:1", "kedua"))
    plain = ticket_system.post(ticket.id, _comment())
    assert again == first and again.text == "pertama"
    events = ticket_system.timeline(ticket.id)
    assert [e.kind for e in events] == [EventKind.OPENED, EventKind.COMMENT, EventKind.COMMENT]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert plain.seq == first.seq + 1  # a deduplicated post leaves no gap in seq
    assert ticket_system.get(ticket.id).updated_at == plain.at


def test_a_dedupe_key_is_not_reused_across_tickets(ticket_system: TicketSystem) -> None:
    a, b = ticket_system.create(_draft()), ticket_system.create(_draft())
    ticket_system.post(a.id, _comment("k"))
    with pytest.raises(ConflictError):
        ticket_system.post(b.id, _comment("k"))
    assert len(ticket_system.timeline(b.id)) == 1


def test_reserved_kinds_cannot_be_posted(ticket_system: TicketSystem) -> None:
    ticket = ticket_system.create(_draft())
    with pytest.raises(InvalidInputError):
        ticket_system.post(ticket.id, NewEvent(kind=EventKind.STATUS, actor="x", data={"to": "closed"}))
    assert ticket_system.get(ticket.id).status == TicketStatus.OPEN


def test_transition_records_from_and_to_and_is_idempotent(ticket_system: TicketSystem) -> None:
    ticket = ticket_system.create(_draft())
    moved = ticket_system.transition(ticket.id, TicketStatus.IN_PROGRESS, "kadis", dedupe_key="t1")
    assert moved.status == TicketStatus.IN_PROGRESS and moved.updated_at > ticket.updated_at
    ticket_system.transition(ticket.id, TicketStatus.CLOSED, "sari")
    replay = ticket_system.transition(ticket.id, TicketStatus.IN_PROGRESS, "kadis", dedupe_key="t1")
    assert replay.status == TicketStatus.CLOSED  # a replayed delivery must not reopen the ticket
    statuses = [e for e in ticket_system.timeline(ticket.id) if e.kind == EventKind.STATUS]
    moves = [(e.data["from"], e.data["to"]) for e in statuses]
    assert moves == [("open", "in_progress"), ("in_progress", "closed")]
    ticket_system.transition(ticket.id, TicketStatus.CLOSED, "sari")
    assert len([e for e in ticket_system.timeline(ticket.id) if e.kind == EventKind.STATUS]) == 2


def test_assign(ticket_system: TicketSystem) -> None:
    ticket = ticket_system.create(_draft())
    assert ticket_system.assign(ticket.id, "rudi", "sari").assignee == "rudi"
    ticket_system.assign(ticket.id, "rudi", "sari")
    assigned = [e for e in ticket_system.timeline(ticket.id) if e.kind == EventKind.ASSIGNED]
    assert len(assigned) == 1 and assigned[0].data == {"from": None, "to": "rudi"}


def test_attach_refuses_other_content_and_ignores_a_replay(ticket_system: TicketSystem) -> None:
    ticket = ticket_system.create(_draft())
    upload = AttachmentUpload(name="berita-acara.pdf", media_type="application/pdf", content=b"v1", kind="ba")
    ref = ticket_system.attach(ticket.id, upload, "rudi", dedupe_key="att:1")
    assert ref.sha256 == "3bfc269594ef649228e9a74bab00f042efc91d5acc6fbee31a382e80d42388fe" and ref.size == 2
    assert ticket_system.attach(ticket.id, upload, "rudi", dedupe_key="att:1") == ref
    with pytest.raises(ConflictError):
        ticket_system.attach(ticket.id, upload.model_copy(update={"content": b"v2"}), "rudi", dedupe_key="att:2")
    assert ticket_system.read_attachment(ticket.id, "berita-acara.pdf") == b"v1"
    assert [e.kind for e in ticket_system.timeline(ticket.id)].count(EventKind.ATTACHMENT) == 1
    assert ticket_system.get(ticket.id).attachments == (ref,)
    with pytest.raises(NotFoundError):
        ticket_system.read_attachment(ticket.id, "lain.pdf")


def test_events_since_is_a_cursor_across_tickets(ticket_system: TicketSystem) -> None:
    a, b = ticket_system.create(_draft()), ticket_system.create(_draft())
    ticket_system.post(a.id, _comment())
    ticket_system.post(b.id, _comment())
    feed = ticket_system.events_since(0)
    assert [(e.ticket_id, e.kind) for e in feed] == [
        (a.id, EventKind.OPENED), (b.id, EventKind.OPENED),
        (a.id, EventKind.COMMENT), (b.id, EventKind.COMMENT),
    ]
    assert ticket_system.events_since(feed[1].seq, limit=1) == [feed[2]]
    assert ticket_system.events_since(feed[-1].seq) == []


def test_unknown_ticket_is_not_found(ticket_system: TicketSystem) -> None:
    missing = "SPBE-2026-99999"
    calls = [
        lambda: ticket_system.get(missing), lambda: ticket_system.timeline(missing),
        lambda: ticket_system.post(missing, _comment()),
        lambda: ticket_system.attach(missing, AttachmentUpload(name="a.txt", content=b"x"), "x"),
        lambda: ticket_system.transition(missing, TicketStatus.CLOSED, "x"),
        lambda: ticket_system.assign(missing, "a", "b"),
        lambda: ticket_system.read_attachment(missing, "a.txt"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError):
            call()
    assert ticket_system.events_since(0) == []


def test_dedupe_under_eight_threads(ticket_system: TicketSystem) -> None:
    ticket = ticket_system.create(_draft())
    barrier = threading.Barrier(8)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            results.append(ticket_system.post(ticket.id, _comment("same-key", f"thread {n}")).seq)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 8 and len(set(results)) == 1
    assert [e.kind for e in ticket_system.timeline(ticket.id)].count(EventKind.COMMENT) == 1
