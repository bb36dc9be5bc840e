"""A return (dikembalikan) and a resubmission (diajukan ulang) made in the reference REST desk become spbe's own
revision commands, asking the same policy: the koordinator returns with what is missing (the Kekurangan field or
the note's bullets), the applicant attaches it and resubmits, and the koordinator checks it anew. A return that
names nothing known, a return by someone else than the koordinator, a resubmission by someone else than the
applicant and a resubmission that changed a field are refused with a note; nothing changes in spbe."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lab.reference_desk import ReferenceDesk
from tests.desks.desk_helpers import (
    LETTER_LABEL,
    LETTER_PDF,
    Clock,
    audit_entries,
    marks,
    poll,
    rest_notes,
    rest_open,
    ticket_of,
    waits_for_check,
)
from tests.integrations.desks.rest_rig import RestActor
from toolkit.bootstrap import App
from toolkit.commands.revision import RESUBMITTED, RETURNED
from toolkit.desks.mirror import DeskMirror
from toolkit.domain.tickets.models import EventKind, TicketStatus

DESK = "rest"


@pytest.fixture
def app(rest_app: App) -> App:
    return rest_app


def opened(app: App, desk: ReferenceDesk, clock: Clock, login: str = "andi", **fields: str) -> tuple[str, str]:
    key = rest_open(desk, login, **fields)
    poll(app, DESK)
    clock.now += timedelta(seconds=1)
    return key, ticket_of(app, DESK, key)


def test_returned_with_the_field_then_fixed_and_resubmitted_it_is_checked_anew(app: App, reference_desk: ReferenceDesk,
                                                                               rest_clock: Clock) -> None:
    desk = reference_desk
    key, ticket_id = opened(app, desk, rest_clock)
    RestActor(desk, "sari").set_field(key, "Kekurangan", LETTER_LABEL)
    RestActor(desk, "sari").move(key, "Dikembalikan", "Surat belum ditandatangani Kepala OPD.")
    poll(app, DESK)
    assert app.tickets.get(ticket_id).status is TicketStatus.DEFERRED
    assert marks(app, ticket_id) == [{RETURNED: {"missing": ["surat_permohonan"],
                                                 "note": "Surat belum ditandatangani Kepala OPD."}}]
    returns = [e for e in audit_entries(app, "ticket.return") if e.get("via") == "ticket-system:rest:sari"]
    assert returns and returns[0]["missing"] == ["surat_permohonan"]
    DeskMirror(app, app.desks).run_desk(app.desks.get(DESK))
    back = [n for n in rest_notes(desk, key) if "dikembalikan kepada pemohon" in n]
    assert len(back) == 1 and LETTER_LABEL in back[0], rest_notes(desk, key)

    rest_clock.now += timedelta(seconds=1)
    desk.add_file(desk.tickets[int(key)], "andi", "surat-permohonan-ttd.pdf", "application/pdf", LETTER_PDF)
    RestActor(desk, "andi").move(key, "Diajukan ulang", "Surat yang sudah ditandatangani terlampir.")
    poll(app, DESK)
    ticket = app.tickets.get(ticket_id)
    assert ticket.status is TicketStatus.OPEN and waits_for_check(app, ticket_id)
    assert sorted(a.name for a in ticket.attachments) == ["persetujuan-aplikasi.pdf", "surat-permohonan-ttd.pdf",
                                                          "surat-permohonan.pdf"]
    assert marks(app, ticket_id)[-1] == {RESUBMITTED: {"attachments": ["surat-permohonan-ttd.pdf"],
                                                       "note": "Surat yang sudah ditandatangani terlampir."}}

    rest_clock.now += timedelta(seconds=1)
    RestActor(desk, "sari").move(key, "Diperiksa", "Sekarang lengkap.")
    poll(app, DESK)
    assert EventKind.CHECKED in [e.kind for e in app.tickets.timeline(ticket_id)]
    poll(app, DESK)  # everything seen again is acted on once
    assert len(marks(app, ticket_id)) == 2


def test_returned_with_bullets_in_the_note(app: App, reference_desk: ReferenceDesk, rest_clock: Clock) -> None:
    key, ticket_id = opened(app, reference_desk, rest_clock)
    RestActor(reference_desk, "sari").move(key, "Dikembalikan",
                                           "Mohon diperbaiki:\n- Surat permohonan\n- Nama host\nTerima kasih.")
    poll(app, DESK)
    assert marks(app, ticket_id) == [{RETURNED: {"missing": ["surat_permohonan", "hostname"],
                                                 "note": "Mohon diperbaiki:\nTerima kasih."}}]


@pytest.mark.parametrize(("login", "note", "says"), [
    ("sari", "Kurang lengkap.\n- Fotokopi KTP\n- {{ 7*7 }} $(id)", "tidak ada kekurangan yang dikenali"),
    ("kadis", "- Surat permohonan", "tidak berwenang"),
])
def test_a_return_naming_nothing_known_or_by_someone_else_is_refused(app: App, reference_desk: ReferenceDesk,
                                                                    rest_clock: Clock, login: str, note: str,
                                                                    says: str) -> None:
    key, ticket_id = opened(app, reference_desk, rest_clock)
    RestActor(reference_desk, login).move(key, "Dikembalikan", note)
    poll(app, DESK)
    assert app.tickets.get(ticket_id).status is TicketStatus.OPEN and not marks(app, ticket_id)
    refused = [n for n in rest_notes(reference_desk, key) if "Perubahan tidak dijalankan" in n]
    assert len(refused) == 1 and says in refused[0] and "Pengembalian permohonan" in refused[0], refused
    if login == "sari":
        assert "Surat permohonan pemanfaatan Pusat Data" in refused[0]  # what the service expects
        assert "{{ 7*7 }}" not in refused[0] and "49" not in refused[0]
    entries = [e for e in audit_entries(app, "desk.refused") if e.get("issue") == key]
    assert entries and entries[0]["decision"] == "return" and entries[0]["via"] == f"ticket-system:rest:{login}"
    assert reference_desk.tickets[int(key)].status == "Baru"  # moved back
    poll(app, DESK)
    assert not marks(app, ticket_id)


def test_a_field_item_that_is_no_requirement_refuses_the_return(app: App, reference_desk: ReferenceDesk,
                                                                rest_clock: Clock) -> None:
    key, ticket_id = opened(app, reference_desk, rest_clock)
    RestActor(reference_desk, "sari").set_field(key, "Kekurangan", f"{LETTER_LABEL}\nx; reboot")
    RestActor(reference_desk, "sari").move(key, "Dikembalikan", "Lengkapi.")
    poll(app, DESK)
    assert not marks(app, ticket_id)
    refused = [n for n in rest_notes(reference_desk, key) if "Perubahan tidak dijalankan" in n]
    assert refused and "'x; reboot'" in refused[0] and "Kekurangan" in refused[0]


def returned(app: App, desk: ReferenceDesk, clock: Clock) -> tuple[str, str]:
    key, ticket_id = opened(app, desk, clock)
    RestActor(desk, "sari").move(key, "Dikembalikan", "- Surat permohonan")
    poll(app, DESK)
    assert app.tickets.get(ticket_id).status is TicketStatus.DEFERRED
    clock.now += timedelta(seconds=1)
    return key, ticket_id


def test_a_resubmission_by_someone_else_is_refused(app: App, reference_desk: ReferenceDesk, rest_clock: Clock) -> None:
    key, ticket_id = returned(app, reference_desk, rest_clock)
    RestActor(reference_desk, "sari").move(key, "Diajukan ulang", "Saya ajukan ulang untuk pemohon.")
    poll(app, DESK)
    assert app.tickets.get(ticket_id).status is TicketStatus.DEFERRED and len(marks(app, ticket_id)) == 1
    refused = [n for n in rest_notes(reference_desk, key) if "Perubahan tidak dijalankan" in n]
    assert len(refused) == 1 and "Pengajuan ulang" in refused[0] and "tidak berwenang" in refused[0], refused
    assert reference_desk.tickets[int(key)].status == "Dikembalikan"


@pytest.mark.parametrize(("field", "value", "says"), [
    ("Nama host", "simpus-baru", "'Nama host' berbeda"),
    ("Nama host", "simpus;reboot", "hostname"),
])
def test_a_resubmission_with_a_changed_or_bad_field_is_refused_naming_it(app: App, reference_desk: ReferenceDesk,
                                                                         rest_clock: Clock, field: str, value: str,
                                                                         says: str) -> None:
    key, ticket_id = returned(app, reference_desk, rest_clock)
    RestActor(reference_desk, "andi").set_field(key, field, value)
    RestActor(reference_desk, "andi").move(key, "Diajukan ulang", "Sudah diperbaiki.")
    poll(app, DESK)
    assert app.tickets.get(ticket_id).status is TicketStatus.DEFERRED
    assert app.tickets.get(ticket_id).fields["hostname"] == "simpus-app"
    refused = [n for n in rest_notes(reference_desk, key) if "Perubahan tidak dijalankan" in n]
    assert len(refused) == 1 and says in refused[0], refused
