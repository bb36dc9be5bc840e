"""The reference "Aplikasi Helpdesk SPBE" drives spbe through the ``rest`` desk, as Redmine does through its own.

Opened, checked and approved in the reference desk by the right accounts, a Pusat Data request becomes a ticket
whose approval enqueues the provisioning, and spbe's notes come back to the desk issue once. The requester
approving his own request is refused with a note on the issue. Records written in one second are all taken,
however the polls fall."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from lab.reference_desk import ReferenceDesk
from tests.desks.desk_helpers import REST_HOOK_SECRET, Clock, poll, rest_notes, rest_open, rest_settings, ticket_of
from tests.integrations.desks.rest_rig import RestActor
from toolkit.bootstrap import App
from toolkit.desks.mirror import DeskMirror
from toolkit.domain.tickets.models import EventKind
from toolkit.web.server import WebServer

DESK = "rest"


@pytest.fixture
def clock(rest_clock: Clock) -> Clock:
    return rest_clock


@pytest.fixture
def desk(reference_desk: ReferenceDesk) -> ReferenceDesk:
    return reference_desk


@pytest.fixture
def app(rest_app: App) -> App:
    return rest_app


def test_opened_checked_and_approved_in_the_desk_the_request_enqueues_its_work(app: App, desk: ReferenceDesk,
                                                                               clock: Clock) -> None:
    key = rest_open(desk, "andi")
    poll(app, DESK)
    ticket_id = ticket_of(app, DESK, key)
    ticket = app.tickets.get(ticket_id)
    assert ticket.requester == "andi" and ticket.service_id == "pusat-data"
    assert ticket.fields["hostname"] == "simpus-app" and ticket.fields["vcpu"] == 2
    assert [a.kind for a in ticket.attachments] == ["surat_permohonan", "dokumen_persetujuan_aplikasi"]

    clock.now += timedelta(seconds=1)
    RestActor(desk, "sari").move(key, "Diperiksa", "Berkas lengkap.")
    RestActor(desk, "kadis").move(key, "Disetujui", "Disetujui sesuai rekomendasi.")
    poll(app, DESK)
    kinds = [e.kind for e in app.tickets.timeline(ticket_id)]
    assert EventKind.CHECKED in kinds and EventKind.APPROVED in kinds
    assert app.queue.list_jobs(ticket_id=ticket_id), "the approval enqueued no work"
    poll(app, DESK)  # the same changes seen again are acted on once
    assert [e.kind for e in app.tickets.timeline(ticket_id)].count(EventKind.APPROVED) == 1

    mirrored = DeskMirror(app, app.desks).run_desk(app.desks.get("rest"))
    assert mirrored.waiting is None and mirrored.written
    notes = rest_notes(desk, key)
    assert notes and all(n.splitlines()[-1].startswith("[spbe:") for n in notes)
    assert not DeskMirror(app, app.desks).run_desk(app.desks.get("rest")).written  # nothing written twice
    assert len(rest_notes(desk, key)) == len(notes)
    poll(app, DESK)  # spbe's own notes are not read back as decisions or comments
    assert [e.kind for e in app.tickets.timeline(ticket_id)].count(EventKind.APPROVED) == 1


def test_the_requester_approving_his_own_request_is_refused(app: App, desk: ReferenceDesk, clock: Clock) -> None:
    key = rest_open(desk, "kadis2", **{"Instansi": "Diskominfo", "Nama host": "dkf-app"})
    poll(app, DESK)
    ticket_id = ticket_of(app, DESK, key)
    clock.now += timedelta(seconds=1)
    RestActor(desk, "sari").move(key, "Diperiksa")
    RestActor(desk, "kadis2").move(key, "Disetujui", "Saya setujui sendiri.")
    poll(app, DESK)
    assert EventKind.APPROVED not in [e.kind for e in app.tickets.timeline(ticket_id)]
    assert not app.queue.list_jobs(ticket_id=ticket_id)
    assert any("tidak dijalankan" in n and "kadis2" in n for n in rest_notes(desk, key))
    assert desk.tickets[int(key)].status == "Diperiksa"  # the refused approval is moved back in the desk
    poll(app, DESK)  # spbe's own move back is not read as a decision
    assert EventKind.APPROVED not in [e.kind for e in app.tickets.timeline(ticket_id)]


def test_records_of_the_polls_own_second_are_all_taken(app: App, desk: ReferenceDesk) -> None:
    """The clock never moves: every record of this test shares one second with the poll before it."""
    first = rest_open(desk, "andi")
    poll(app, DESK)
    second = rest_open(desk, "andi", **{"Nama host": "simpus-db"})  # same second as the cursor
    RestActor(desk, "sari").move(first, "Diperiksa", "Berkas lengkap.")
    poll(app, DESK)
    assert app.desks.records.ticket_for("rest", second) is not None
    assert EventKind.CHECKED in [e.kind for e in app.tickets.timeline(ticket_of(app, DESK, first))]


def test_the_desks_signed_webhook_acts_at_once(desk: ReferenceDesk, tmp_path: Path) -> None:
    settings = rest_settings(desk, tmp_path, http={"bind": "127.0.0.1:0"})
    app = App(settings)
    server = WebServer(app, settings, "127.0.0.1", 0)
    url = server.start()
    assert server.started.wait(30)
    try:
        key = rest_open(desk, "andi", **{"Nama host": "hook-app"})  # with its letter, before any announcement
        desk.webhook_url, desk.webhook_secret = f"{url}/hooks/rest", REST_HOOK_SECRET
        RestActor(desk, "andi").comment(key, "Mohon diproses.")
        deadline = time.monotonic() + 30
        while not desk.hooks.deliveries and time.monotonic() < deadline:
            time.sleep(0.05)
        assert desk.hooks.deliveries == [(key, 202)]
        ticket_id = app.desks.records.ticket_for("rest", key)
        assert ticket_id is not None
        kinds = [a.kind for a in app.tickets.get(ticket_id).attachments]
        assert kinds == ["surat_permohonan", "dokumen_persetujuan_aplikasi"]
        polled = app.desks.get("rest").poller.poll_once()
        assert all(not o.outcomes for o in polled.issues if o.issue_key == key)  # taken by the webhook
        desk.webhook_secret = "kunci-yang-salah-sekali"  # noqa: S105 - a wrong key on purpose
        RestActor(desk, "andi").comment(key, "Tambahan.")
        while len(desk.hooks.deliveries) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert desk.hooks.deliveries[-1] == (key, 401)  # a wrong key is refused
    finally:
        server.stop()
        app.close()
