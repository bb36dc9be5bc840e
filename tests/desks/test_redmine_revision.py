"""A return (dikembalikan) and a resubmission (diajukan ulang) in the real Redmine become spbe's revision
commands, asking the same policy as the CLI.

The koordinator returns an incomplete request with what is missing in the ``Kekurangan`` list field (or as bullet
lines of the note); spbe's ticket then waits on the applicant, and its Bahasa Indonesia "dikembalikan" comment
comes back to the Redmine issue. The applicant attaches what was missing and resubmits; the koordinator checks it
anew. A return naming nothing the service requires, a return by the kepala dinas and a resubmission by another
account are refused: a note on the issue says why, the audit log records it, the status is moved back, nothing
changes in spbe. The same change announced by a webhook and found by a poll is acted on once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from lab.redmine_spec import CHECKED, NEW, RESUBMITTED, RETURNED, RedmineHandle
from tests.desks.desk_helpers import (
    FIELDS,
    LETTER,
    LETTER_LABEL,
    LETTER_PDF,
    audit_entries,
    marks,
    poll,
    redmine_notes,
    redmine_update,
    serving,
    ticket_of,
    waits_for_check,
)
from tests.support.redmine_desk import HOOK_SECRET, Person, desk_settings
from toolkit.bootstrap import App
from toolkit.commands import revision
from toolkit.desks.mirror import DeskMirror
from toolkit.desks.webhook import sign
from toolkit.domain.tickets.models import EventKind, TicketStatus

pytestmark = [pytest.mark.redmine]

DESK = "redmine"


@pytest.fixture
def app(redmine_app: App) -> App:
    return redmine_app


def refusals(person: Person, key: str) -> list[str]:
    return [n for n in redmine_notes(person, key) if "Perubahan tidak dijalankan" in n]


def opened(app: App, redmine: RedmineHandle, host: str, login: str = "andi") -> tuple[str, str]:
    key = Person(redmine, login).open(f"Hosting {host}", FIELDS | {"Nama host": host}, LETTER)
    poll(app, DESK)
    return key, ticket_of(app, DESK, key)


def status_of(person: Person, key: str) -> str:
    return str(person.issue(key)["status"]["name"])


def test_returned_with_the_field_fixed_and_resubmitted_the_request_is_checked_anew(app: App,
                                                                                   redmine: RedmineHandle) -> None:
    andi, sari = Person(redmine, "andi"), Person(redmine, "sari")
    key, ticket_id = opened(app, redmine, "kembali-app")
    redmine_update(sari, key, status=RETURNED, notes="Surat belum ditandatangani Kepala OPD.",
                   fields={"Kekurangan": [LETTER_LABEL]})
    poll(app, DESK)
    assert app.tickets.get(ticket_id).status is TicketStatus.DEFERRED
    assert marks(app, ticket_id) == [{revision.RETURNED: {"missing": ["surat_permohonan"],
                                                          "note": "Surat belum ditandatangani Kepala OPD."}}]
    returns = [e for e in audit_entries(app, "ticket.return") if e.get("via") == "ticket-system:redmine:sari"]
    assert returns and returns[0]["actor"] == "sari" and returns[0]["auth"] == "ticket-system"
    DeskMirror(app, app.desks).run_desk(app.desks.get(DESK))
    back = [n for n in redmine_notes(andi, key) if "dikembalikan kepada pemohon" in n]
    assert len(back) == 1 and LETTER_LABEL in back[0] and "ditandatangani" in back[0], redmine_notes(andi, key)
    assert status_of(andi, key) == RETURNED  # deferred in spbe, and the desk already says so: not moved to Ditunda

    redmine_update(andi, key, files={"surat-permohonan-ttd.pdf": LETTER_PDF})
    redmine_update(andi, key, status=RESUBMITTED, notes="Surat yang sudah ditandatangani terlampir.")
    assert status_of(andi, key) == RESUBMITTED  # Redmine's workflow let the applicant move it
    poll(app, DESK)
    ticket = app.tickets.get(ticket_id)
    assert ticket.status is TicketStatus.OPEN and waits_for_check(app, ticket_id)
    DeskMirror(app, app.desks).run_desk(app.desks.get(DESK))
    assert status_of(andi, key) == RESUBMITTED  # open again in spbe: the mirror leaves the desk's own word
    assert sorted(a.name for a in ticket.attachments) == ["persetujuan-aplikasi.pdf", "surat-permohonan-ttd.pdf",
                                                          "surat-permohonan.pdf"]
    assert marks(app, ticket_id)[-1] == {revision.RESUBMITTED: {
        "attachments": ["surat-permohonan-ttd.pdf"], "note": "Surat yang sudah ditandatangani terlampir."}}

    redmine_update(sari, key, status=CHECKED, notes="Sekarang lengkap.")
    poll(app, DESK)
    assert EventKind.CHECKED in [e.kind for e in app.tickets.timeline(ticket_id)]
    poll(app, DESK)  # the same changes seen again are acted on once
    assert len(marks(app, ticket_id)) == 2


def test_returned_with_bullet_lines_in_the_note(app: App, redmine: RedmineHandle) -> None:
    key, ticket_id = opened(app, redmine, "butir-app")
    redmine_update(Person(redmine, "sari"), key, status=RETURNED,
                   notes="Mohon diperbaiki:\n- Surat permohonan\n- Nama host\nTerima kasih.")
    poll(app, DESK)
    assert marks(app, ticket_id) == [{revision.RETURNED: {"missing": ["surat_permohonan", "hostname"],
                                                          "note": "Mohon diperbaiki:\nTerima kasih."}}]


@pytest.mark.parametrize(("login", "note", "says"), [
    ("sari", "Kurang lengkap.\n- Fotokopi KTP\n- {{ 7*7 }} $(id)", "tidak ada kekurangan yang dikenali"),
    ("kadis", "- Surat permohonan", "tidak berwenang"),
])
def test_a_return_naming_nothing_known_or_by_someone_else_is_refused_and_changes_nothing(
        app: App, redmine: RedmineHandle, login: str, note: str, says: str) -> None:
    person = Person(redmine, login)
    key, ticket_id = opened(app, redmine, f"tolak-{login}")
    redmine_update(person, key, status=RETURNED, notes=note)
    assert status_of(person, key) == RETURNED
    poll(app, DESK)
    assert app.tickets.get(ticket_id).status is TicketStatus.OPEN and not marks(app, ticket_id)
    notes = refusals(person, key)
    assert len(notes) == 1 and says in notes[0] and "Pengembalian permohonan" in notes[0], notes
    if login == "sari":
        assert LETTER_LABEL in notes[0]  # what the service expects
    refused = [e for e in audit_entries(app, "desk.refused") if e.get("issue") == key]
    assert refused and refused[0]["decision"] == "return" and refused[0]["via"] == f"ticket-system:redmine:{login}"
    assert status_of(person, key) == NEW  # the desk does not show a return spbe did not make
    poll(app, DESK)
    assert not marks(app, ticket_id) and len(refusals(person, key)) == 1


def test_a_resubmission_by_another_account_is_refused(app: App, redmine: RedmineHandle) -> None:
    sari, kadis2 = Person(redmine, "sari"), Person(redmine, "kadis2")
    key, ticket_id = opened(app, redmine, "ulang-lain")
    redmine_update(sari, key, status=RETURNED, notes="- Surat permohonan")
    poll(app, DESK)
    assert app.tickets.get(ticket_id).status is TicketStatus.DEFERRED
    redmine_update(kadis2, key, status=RESUBMITTED, notes="Saya ajukan ulang untuk pemohon.")
    assert status_of(kadis2, key) == RESUBMITTED
    poll(app, DESK)
    assert app.tickets.get(ticket_id).status is TicketStatus.DEFERRED and len(marks(app, ticket_id)) == 1
    notes = refusals(sari, key)
    assert len(notes) == 1 and "Pengajuan ulang" in notes[0] and "kadis2" in notes[0], notes
    refused = [e for e in audit_entries(app, "desk.refused") if e.get("issue") == key]
    assert refused and refused[0]["decision"] == "resubmit"
    assert status_of(sari, key) == RETURNED


def test_a_return_announced_by_webhook_and_found_by_the_poll_is_acted_on_once(redmine: RedmineHandle,
                                                                             tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    settings = desk_settings(redmine, tmp_path, monkeypatch, http={"bind": "127.0.0.1:0"})
    app = App(settings)
    try:
        with serving(app) as url:
            key, ticket_id = opened(app, redmine, "hook-kembali")
            redmine_update(Person(redmine, "sari"), key, status=RETURNED, notes="Lengkapi.",
                           fields={"Kekurangan": [LETTER_LABEL, "Nama host server"]})
            body = json.dumps({"payload": {"issue": {"id": int(key)}, "action": "updated"}}).encode()
            stamp = str(int(time.time()))
            headers = {"X-Spbe-Signature": "sha256=" + sign(HOOK_SECRET, stamp, body), "X-Spbe-Timestamp": stamp,
                       "X-Spbe-Delivery": f"uji-kembali-{key}", "Content-Type": "application/json"}
            answer = httpx.post(f"{url}/hooks/redmine", content=body, headers=headers, timeout=60)
            assert answer.status_code == 202, answer.text
            assert marks(app, ticket_id) == [{revision.RETURNED: {"missing": ["surat_permohonan", "hostname"],
                                                                  "note": "Lengkapi."}}]
            polled = app.desks.get(DESK).poller.poll_once()
            assert all(not o.outcomes for o in polled.issues if o.issue_key == key)  # taken once, by the webhook
            assert len(marks(app, ticket_id)) == 1
            returns = [e for e in app.audit.entries() if e.action == "ticket.return" and e.ticket_id == ticket_id]
            assert len(returns) == 1
    finally:
        app.close()
