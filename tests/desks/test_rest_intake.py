"""The reference "Aplikasi Helpdesk SPBE" drives spbe through the ``rest`` desk, as Redmine does through its own.

Opened, checked and approved in the reference desk by the right accounts, a Pusat Data request becomes a ticket
whose approval enqueues the provisioning, and spbe's notes come back to the desk issue once. The requester
approving his own request is refused with a note on the issue. Records written in one second are all taken,
however the polls fall."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.reference_desk import ReferenceDesk
from tests.integrations.desks.rest_rig import MAPPING, RestActor
from toolkit.bootstrap import App
from toolkit.desks.mirror import DeskMirror
from toolkit.domain.tickets.models import EventKind
from toolkit.settings import Settings, load_settings
from toolkit.web.server import WebServer

FIELDS = {"Layanan": "pusat-data", "Instansi": "Dinas Kesehatan", "Perihal": "Permohonan hosting SIMPUS",
          "Produk": "hosting-aplikasi", "Nama aplikasi": "simpus", "Nama host": "simpus-app", "Jumlah vCPU": "2",
          "Memori (GB)": "4", "Penyimpanan (GB)": "40", "Backup": "ya", "UAT": "ya",
          "Email kontak": "it@dinkes.example.go.id"}
HOOK_SECRET = "rahasia-webhook-uji-rest"  # noqa: S105 - the test desk's webhook key
LETTER = b"%PDF-1.4\n% Surat permohonan Dinas Kesehatan\n%%EOF\n"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(clock: Clock) -> Iterator[ReferenceDesk]:
    started = ReferenceDesk(clock=clock).start()
    yield started
    started.stop()


def desk_settings(desk: ReferenceDesk, tmp_path: Path, **overrides: Any) -> Settings:
    folder = tmp_path / "desks"
    folder.mkdir()
    mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    mapping["options"]["base_url"] = desk.url
    mapping["poll_overlap_s"] = 0  # the same-second case must hold on the cursor alone
    (folder / "rest.yml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    (tmp_path / "token").write_text(desk.tokens["spbe"], encoding="utf-8")
    (tmp_path / "hook").write_text(HOOK_SECRET, encoding="utf-8")
    return load_settings(state_dir=tmp_path / "state", desks_dir=folder, secrets={
        "desk-rest": {"ref": f"file:{tmp_path / 'token'}"}, "desk-rest-webhook": {"ref": f"file:{tmp_path / 'hook'}"},
        "backup_password": {"ref": "env:SPBE_BACKUP_PASSWORD"}}, **overrides)


@pytest.fixture
def app(desk: ReferenceDesk, tmp_path: Path) -> Iterator[App]:
    built = App(desk_settings(desk, tmp_path))
    yield built
    built.close()


def open_request(desk: ReferenceDesk, login: str, **fields: str) -> str:
    key = RestActor(desk, login).open("Hosting SIMPUS", FIELDS | fields, "Untuk puskesmas.")
    desk.add_file(desk.tickets[int(key)], login, "surat-permohonan.pdf", "application/pdf", LETTER)
    return key


def poll(app: App) -> None:
    result = app.desks.get("rest").poller.poll_once()
    assert not result.failed, result.failed


def ticket_of(app: App, key: str) -> str:
    ticket_id = app.desks.records.ticket_for("rest", key)
    assert ticket_id is not None, f"issue {key} opened no ticket"
    return ticket_id


def spbe_notes(desk: ReferenceDesk, key: str) -> list[str]:
    return [h["catatan"] for h in desk.tickets[int(key)].history if h["oleh"]["login"] == "spbe" and h["catatan"]]


def test_opened_checked_and_approved_in_the_desk_the_request_enqueues_its_work(app: App, desk: ReferenceDesk,
                                                                               clock: Clock) -> None:
    key = open_request(desk, "andi")
    poll(app)
    ticket_id = ticket_of(app, key)
    ticket = app.tickets.get(ticket_id)
    assert ticket.requester == "andi" and ticket.service_id == "pusat-data"
    assert ticket.fields["hostname"] == "simpus-app" and ticket.fields["vcpu"] == 2
    assert [a.kind for a in ticket.attachments] == ["surat_permohonan"]

    clock.now += timedelta(seconds=1)
    RestActor(desk, "sari").move(key, "Diperiksa", "Berkas lengkap.")
    RestActor(desk, "kadis").move(key, "Disetujui", "Disetujui sesuai rekomendasi.")
    poll(app)
    kinds = [e.kind for e in app.tickets.timeline(ticket_id)]
    assert EventKind.CHECKED in kinds and EventKind.APPROVED in kinds
    assert app.queue.list_jobs(ticket_id=ticket_id), "the approval enqueued no work"
    poll(app)  # the same changes seen again are acted on once
    assert [e.kind for e in app.tickets.timeline(ticket_id)].count(EventKind.APPROVED) == 1

    mirrored = DeskMirror(app, app.desks).run_desk(app.desks.get("rest"))
    assert mirrored.waiting is None and mirrored.written
    notes = spbe_notes(desk, key)
    assert notes and all(n.splitlines()[-1].startswith("[spbe:") for n in notes)
    assert not DeskMirror(app, app.desks).run_desk(app.desks.get("rest")).written  # nothing written twice
    assert len(spbe_notes(desk, key)) == len(notes)
    poll(app)  # spbe's own notes are not read back as decisions or comments
    assert [e.kind for e in app.tickets.timeline(ticket_id)].count(EventKind.APPROVED) == 1


def test_the_requester_approving_his_own_request_is_refused(app: App, desk: ReferenceDesk, clock: Clock) -> None:
    key = open_request(desk, "kadis2", **{"Instansi": "Diskominfo", "Nama host": "dkf-app"})
    poll(app)
    ticket_id = ticket_of(app, key)
    clock.now += timedelta(seconds=1)
    RestActor(desk, "sari").move(key, "Diperiksa")
    RestActor(desk, "kadis2").move(key, "Disetujui", "Saya setujui sendiri.")
    poll(app)
    assert EventKind.APPROVED not in [e.kind for e in app.tickets.timeline(ticket_id)]
    assert not app.queue.list_jobs(ticket_id=ticket_id)
    assert any("tidak dijalankan" in n and "kadis2" in n for n in spbe_notes(desk, key))
    assert desk.tickets[int(key)].status == "Diperiksa"  # the refused approval is moved back in the desk
    poll(app)  # spbe's own move back is not read as a decision
    assert EventKind.APPROVED not in [e.kind for e in app.tickets.timeline(ticket_id)]


def test_records_of_the_polls_own_second_are_all_taken(app: App, desk: ReferenceDesk) -> None:
    """The clock never moves: every record of this test shares one second with the poll before it."""
    first = open_request(desk, "andi")
    poll(app)
    second = open_request(desk, "andi", **{"Nama host": "simpus-db"})  # same second as the cursor
    RestActor(desk, "sari").move(first, "Diperiksa", "Berkas lengkap.")
    poll(app)
    assert app.desks.records.ticket_for("rest", second) is not None
    assert EventKind.CHECKED in [e.kind for e in app.tickets.timeline(ticket_of(app, first))]


def test_the_desks_signed_webhook_acts_at_once(desk: ReferenceDesk, tmp_path: Path) -> None:
    settings = desk_settings(desk, tmp_path, http={"bind": "127.0.0.1:0"})
    app = App(settings)
    server = WebServer(app, settings, "127.0.0.1", 0)
    url = server.start()
    assert server.started.wait(30)
    try:
        key = open_request(desk, "andi", **{"Nama host": "hook-app"})  # with its letter, before any announcement
        desk.webhook_url, desk.webhook_secret = f"{url}/hooks/rest", HOOK_SECRET
        RestActor(desk, "andi").comment(key, "Mohon diproses.")
        deadline = time.monotonic() + 30
        while not desk.hooks.deliveries and time.monotonic() < deadline:
            time.sleep(0.05)
        assert desk.hooks.deliveries == [(key, 202)]
        ticket_id = app.desks.records.ticket_for("rest", key)
        assert ticket_id is not None
        assert [a.kind for a in app.tickets.get(ticket_id).attachments] == ["surat_permohonan"]
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
