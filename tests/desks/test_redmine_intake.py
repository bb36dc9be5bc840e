"""Redmine drives spbe: what people do in the real Redmine becomes commands that ask spbe's policy.

Opened, checked and approved in Redmine by the right accounts, a Pusat Data request becomes a ticket whose
approval enqueues the provisioning; spbe's notes come back to the Redmine issue. The requester approving his
own request, an account mapped to nobody and injection text in a desk field are refused: a note on the issue
says why, the audit log records it, nothing runs."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from lab.procs import free_port
from lab.redmine_spec import APPROVED, CHECKED, RedmineHandle
from tests.desks.desk_helpers import FIELDS, LETTER, audit_entries, poll, redmine_notes, serving, ticket_of
from tests.support.clock import ManualClock
from tests.support.late_proxy import LateProxy
from tests.support.principals import as_lab
from tests.support.redmine_desk import HOOK_SECRET, Person, desk_settings
from toolkit.bootstrap import App
from toolkit.desks.mirror import DeskMirror
from toolkit.desks.webhook import sign
from toolkit.domain.tickets.models import EventKind

pytestmark = [pytest.mark.redmine]

DESK = "redmine"


@pytest.fixture
def app(redmine_app: App) -> App:
    return redmine_app


def test_opened_checked_and_approved_in_redmine_the_request_enqueues_its_work(app: App,
                                                                            redmine: RedmineHandle) -> None:
    andi, sari, kadis = Person(redmine, "andi"), Person(redmine, "sari"), Person(redmine, "kadis")
    key = andi.open("Hosting SIMPUS", FIELDS, LETTER)
    poll(app, DESK)
    ticket_id = ticket_of(app, DESK, key)
    ticket = app.tickets.get(ticket_id)
    assert ticket.requester == "andi" and ticket.service_id == "pusat-data"
    assert ticket.fields["hostname"] == "simpus-app" and ticket.fields["vcpu"] == 2
    assert sorted(a.kind for a in ticket.attachments) == ["dokumen_persetujuan_aplikasi", "surat_permohonan"]

    sari.status(key, CHECKED, "Berkas lengkap.")
    kadis.status(key, APPROVED, "Disetujui sesuai rekomendasi.")
    poll(app, DESK)
    kinds = [e.kind for e in app.tickets.timeline(ticket_id)]
    assert EventKind.CHECKED in kinds and EventKind.APPROVED in kinds
    assert app.queue.list_jobs(ticket_id=ticket_id), "the approval enqueued no work"
    approvals = [e for e in audit_entries(app, "ticket.approve") if e.get("via") == "ticket-system:redmine:kadis"]
    assert approvals and approvals[0]["actor"] == "kadis" and approvals[0]["auth"] == "ticket-system"

    poll(app, DESK)  # the same changes seen again are acted on once
    assert [e.kind for e in app.tickets.timeline(ticket_id)].count(EventKind.APPROVED) == 1

    mirrored = DeskMirror(app, app.desks).run_desk(app.desks.get("redmine"))
    assert mirrored.waiting is None and mirrored.written
    notes = redmine_notes(andi, key)
    assert any("Persetujuan" in n or "disetujui" in n.lower() for n in notes), notes
    again = DeskMirror(app, app.desks).run_desk(app.desks.get("redmine"))
    assert not again.written  # nothing new: nothing written twice
    assert len(redmine_notes(andi, key)) == len(notes)


def test_the_requester_approving_his_own_request_in_redmine_is_refused(app: App, redmine: RedmineHandle) -> None:
    kadis2, sari = Person(redmine, "kadis2"), Person(redmine, "sari")
    key = kadis2.open("Hosting aplikasi Diskominfo", FIELDS | {"Instansi": "Diskominfo", "Nama host": "dkf-app"},
                      LETTER)
    poll(app, DESK)
    ticket_id = ticket_of(app, DESK, key)
    sari.status(key, CHECKED)
    poll(app, DESK)
    kadis2.status(key, APPROVED, "Saya setujui sendiri.")
    poll(app, DESK)
    timeline = app.tickets.timeline(ticket_id)
    assert EventKind.APPROVED not in [e.kind for e in timeline]
    assert not app.queue.list_jobs(ticket_id=ticket_id)
    refused = [e for e in audit_entries(app, "desk.refused") if e.get("issue") == key]
    assert refused and refused[0]["decision"] == "approve" and refused[0]["via"] == "ticket-system:redmine:kadis2"
    assert any("tidak dijalankan" in n and "kadis2" in n for n in redmine_notes(sari, key))
    assert sari.issue(key)["status"]["name"] == CHECKED  # the desk does not show a decision spbe did not take


def test_an_account_mapped_to_nobody_is_refused_and_said_so_once(app: App, redmine: RedmineHandle) -> None:
    andi, tamu = Person(redmine, "andi"), Person(redmine, "tamu")
    key = tamu.open("Permohonan dari akun tak dikenal", FIELDS | {"Nama host": "tamu-app"}, LETTER)
    poll(app, DESK)
    poll(app, DESK)
    assert app.desks.records.ticket_for("redmine", key) is None
    notes = [n for n in redmine_notes(Person(redmine, "spbe"), key) if "tidak terdaftar" in n]
    assert len(notes) == 1, notes
    assert andi  # the applicant of another request sees nothing of it (Redmine's own visibility)


@pytest.mark.parametrize(("field", "value", "named"), [
    ("Nama host", "simpus;reboot", "hostname"),
    ("Nama aplikasi", "simpus$(id)", "nama_aplikasi"),
    ("Perihal", "baris satu\nbaris dua {{ 7*7 }}", "perihal"),
])
def test_injection_text_in_a_desk_field_is_refused_naming_the_field(app: App, redmine: RedmineHandle, field: str,
                                                                   value: str, named: str) -> None:
    andi = Person(redmine, "andi")
    key = andi.open("Hosting dengan isian aneh", FIELDS | {field: value}, LETTER)
    poll(app, DESK)
    assert app.desks.records.ticket_for("redmine", key) is None
    notes = [n for n in redmine_notes(andi, key) if "tidak valid" in n]
    assert notes and named in notes[0], notes


def test_a_signed_webhook_acts_at_once_and_the_poll_then_finds_nothing_new(redmine: RedmineHandle, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    settings = desk_settings(redmine, tmp_path, monkeypatch, http={"bind": "127.0.0.1:0"})
    app = App(settings)
    try:
        with serving(app) as url:
            andi = Person(redmine, "andi")
            key = andi.open("Hosting lewat webhook", FIELDS | {"Nama host": "hook-app"}, LETTER)
            body = json.dumps({"payload": {"issue": {"id": int(key)}, "action": "opened"}}).encode()
            stamp = str(int(time.time()))
            headers = {"X-Spbe-Signature": "sha256=" + sign(HOOK_SECRET, stamp, body), "X-Spbe-Timestamp": stamp,
                       "X-Spbe-Delivery": f"uji-{key}", "Content-Type": "application/json"}
            unsigned = httpx.post(f"{url}/hooks/redmine", content=body, headers={"X-Spbe-Delivery": "x"}, timeout=30)
            assert unsigned.status_code == 401 and app.desks.records.ticket_for("redmine", key) is None
            answer = httpx.post(f"{url}/hooks/redmine", content=body, headers=headers, timeout=60)
            assert answer.status_code == 202, answer.text
            ticket_id = answer.json()["ticket"]
            assert ticket_id and app.desks.records.ticket_for("redmine", key) == ticket_id
            replay = httpx.post(f"{url}/hooks/redmine", content=body, headers=headers, timeout=30)
            assert replay.status_code == 200 and replay.json() == {"status": "replay"}
            assert app.desks.records.status("redmine").replays == 1
            polled = app.desks.get("redmine").poller.poll_once()
            assert all(not o.outcomes for o in polled.issues if o.issue_key == key)  # taken once, by the webhook
            assert len([t for t in app.tickets.list_tickets() if t.title == "Hosting lewat webhook"]) == 1
    finally:
        app.close()


def test_a_desk_down_for_an_hour_loses_nothing_and_gets_nothing_twice(redmine: RedmineHandle, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The mirror waits with backoff while Redmine cannot be reached, then writes everything once."""
    port = free_port()
    upstream = urlsplit(redmine.base_url)
    via_proxy = replace(redmine, base_url=f"http://127.0.0.1:{port}")
    clock = ManualClock()
    app = App(desk_settings(via_proxy, tmp_path, monkeypatch), clock=clock)
    andi, sari = Person(redmine, "andi"), Person(redmine, "sari")
    key = andi.open("Hosting saat desk mati", FIELDS | {"Nama host": "down-app"}, LETTER)
    desk_ = app.desks.get("redmine")
    mirror = DeskMirror(app, app.desks)
    with LateProxy(str(upstream.hostname), int(upstream.port or 80), 0.0, port=port):
        poll(app, DESK)
        ticket_id = ticket_of(app, DESK, key)
        assert mirror.run_desk(desk_).waiting is None
    before = len(redmine_notes(sari, key))

    # Redmine is away: the koordinator checks in spbe itself, and asks the applicant a question.
    from toolkit.commands import desk as commands

    commands.check(app, ticket_id, as_lab("sari"))
    commands.comment(app, ticket_id, as_lab("sari"), "Mohon lampirkan surat tugas pengelola aplikasi.")
    first = mirror.run_desk(desk_)
    assert first.waiting and not first.written
    assert (mirror.run_desk(desk_).waiting or "").startswith("backing off")  # no hammering the desk meanwhile
    for _ in range(8):  # an hour of tries, backing off
        clock.advance(timedelta(minutes=8))
        assert mirror.run_desk(desk_).waiting
    assert app.desks.records.mirror_state("redmine")[1] >= 5

    with LateProxy(str(upstream.hostname), int(upstream.port or 80), 0.0, port=port):
        clock.advance(timedelta(minutes=11))
        back = mirror.run_desk(desk_)
        assert back.waiting is None and back.written
        assert not mirror.run_desk(desk_).written
    notes = redmine_notes(sari, key)
    assert len(notes) == before + len(back.written)
    assert sum("surat tugas" in n for n in notes) == 1
    assert app.desks.records.mirror_state("redmine")[1] == 0
    app.close()
