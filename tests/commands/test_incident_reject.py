"""Gorontalo step 2, "jika laporan terverifikasi": a report the Koordinator Layanan finds is not an incident is
closed with the reason, the reporter is told (without being named), it is audited, and nothing more happens on
the ticket: no approval, decision or job afterwards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.actions.test_incident_workflow import EVIDENCE, GORONTALO, LETTER, SURAKARTA
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.incident import UNVERIFIED, decide, reject
from toolkit.domain.tickets.models import EventKind, TicketStatus
from toolkit.engine.server import run_ticket
from toolkit.errors import ConflictError, InvalidInputError, PermissionDeniedError
from toolkit.settings import load_settings

REASON = "Tampilan berubah karena pemeliharaan terjadwal oleh pengelola aplikasi, bukan peretasan."
SECRETS = ("Siti Pelapor", "siti@example.go.id", "lina", "Lina Marlina")


def _named(text: str) -> list[str]:
    return [s for s in SECRETS if re.search(rf"(?<![A-Za-z]){re.escape(s)}(?![A-Za-z])", text)]


@pytest.fixture
def app(state_dir: Path) -> App:
    return App(load_settings(state_dir=state_dir))


def _report(app: App) -> str:
    return desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Situs Disdik berubah", GORONTALO, EVIDENCE).id


def test_an_unverified_report_is_closed_with_the_reason_and_the_reporter_is_told(app: App) -> None:
    ticket_id = _report(app)
    ticket = reject(app, ticket_id, as_lab("sari"), REASON)
    assert ticket.status == TicketStatus.CLOSED
    events = app.tickets.timeline(ticket_id)
    decision = next(e for e in events if UNVERIFIED in e.data)
    assert (decision.actor, decision.step_id, decision.data[UNVERIFIED]["reason"]) == ("sari", "verifikasi-awal",
                                                                                      REASON)
    assert "**tidak terverifikasi**" in decision.text and "Sari Wulandari" in decision.text and REASON in decision.text
    notice = next(e for e in events if e.kind == EventKind.NOTIFICATION)
    assert notice.text.startswith("Kepada: Pelapor (pelapor)") and "Yth. Bapak/Ibu Pelapor," in notice.text
    assert "tidak terverifikasi sebagai insiden siber" in notice.text and REASON in notice.text
    assert "SP4N Lapor" in notice.text and notice.data["to"] == ["pelapor"]
    assert re.search(r"pukul \d\d:\d\d WITA", notice.text)  # Gorontalo's office time
    for event in events[1:]:
        assert not _named(event.text), event.text  # the reporter's secrecy (seed 000: jaminan keamanan)
    entries = {e.action: e for e in app.audit.entries(ticket_id=ticket_id)}
    entry = entries["ticket.reject_unverified"]
    assert (entry.actor, entry.data["reason"], entry.data["auth"]) == ("sari", REASON, "lab-as")
    assert entries["ticket.notify_unverified"].data["delivered"] == ["pelapor"]
    assert app.audit.verify().ok


def test_nothing_is_approved_decided_or_enqueued_after_it(app: App) -> None:
    ticket_id = _report(app)
    reject(app, ticket_id, as_lab("sari"), REASON)
    before = app.tickets.timeline(ticket_id)
    with pytest.raises(ConflictError, match="closed"):
        desk.approve(app, ticket_id, as_lab("sari"), "Ternyata terverifikasi.")
    with pytest.raises(ConflictError, match="closed"):
        decide(app, ticket_id, as_lab("rina"), {"ada_backup": "tidak"}, "Terlambat.")
    with pytest.raises(ConflictError, match="closed"):
        reject(app, ticket_id, as_lab("sari"), "Sekali lagi.")
    assert run_ticket(app, ticket_id) == []
    assert app.queue.list_jobs(ticket_id=ticket_id) == []
    assert app.tickets.timeline(ticket_id) == before


def test_only_the_verification_role_rejects_and_never_the_reporter(app: App) -> None:
    ticket_id = _report(app)
    for user in ("rina", "kadis", "maya", "lina", "andi"):  # csirt, head of office, humas, the reporter, an applicant
        with pytest.raises(PermissionDeniedError):
            reject(app, ticket_id, as_lab(user), REASON)
    assert app.tickets.get(ticket_id).status == TicketStatus.OPEN
    assert not [e for e in app.tickets.timeline(ticket_id) if UNVERIFIED in e.data]
    assert not [e for e in app.audit.entries(ticket_id=ticket_id) if e.action == "ticket.reject_unverified"]


def test_not_after_the_verification_and_not_where_the_sop_has_no_such_close(app: App) -> None:
    ticket_id = _report(app)
    desk.approve(app, ticket_id, as_lab("sari"), "Laporan terverifikasi.")
    with pytest.raises(ConflictError, match="past its verification step"):
        reject(app, ticket_id, as_lab("sari"), REASON)
    surakarta = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement", SURAKARTA, [LETTER]).id
    with pytest.raises(ConflictError, match="does not close reports as not verified"):
        reject(app, surakarta, as_lab("hendra"), REASON)


def test_a_deferred_report_may_still_be_found_unverified(app: App) -> None:
    ticket_id = _report(app)
    desk.defer(app, ticket_id, as_lab("sari"), "Mohon lengkapi log sistem.")
    assert reject(app, ticket_id, as_lab("sari"), REASON).status == TicketStatus.CLOSED


@pytest.mark.parametrize("reason", ["", "   ", "{{ 7*7 }}", "{% include 'x' %}", "a" * 2001, "alasan\x00", "\u202e"])
def test_bad_reasons_are_refused_and_change_nothing(app: App, reason: str) -> None:
    ticket_id = _report(app)
    with pytest.raises(InvalidInputError):
        reject(app, ticket_id, as_lab("sari"), reason)
    assert app.tickets.get(ticket_id).status == TicketStatus.OPEN
    assert len(app.tickets.timeline(ticket_id)) == 1


def test_shell_and_markdown_in_the_reason_are_printed_literally(app: App) -> None:
    ticket_id = _report(app)
    reason = "Bukan insiden; $(rm -rf /) `id` | **tebal**\n# judul\n[tautan](http://x.example)"
    reject(app, ticket_id, as_lab("sari"), reason)
    notice = next(e for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.NOTIFICATION).text
    # newlines fold to spaces (no heading, no list), code spans, tables, emphasis and links are escaped
    assert "$(rm -rf /) \\`id\\` \\| \\*\\*tebal\\*\\* # judul \\[tautan\\](http://x.example)" in notice
    assert "\n# judul" not in notice
    assert app.audit.entries(ticket_id=ticket_id)[-2].data["reason"] == reason


def test_the_reporter_is_mailed_at_their_own_contact_when_smtp_is_configured(state_dir: Path, smtp) -> None:  # type: ignore[no-untyped-def]
    sink, controller = smtp
    app = App(load_settings(state_dir=state_dir, notifier={"kind": "smtp", "options": {
        "host": "127.0.0.1", "port": controller.port, "sender": "spbe@diskominfo.example.go.id"}}))
    ticket_id = _report(app)
    reject(app, ticket_id, as_lab("sari"), REASON)
    [(rcpt, message)] = sink.messages
    assert rcpt == ["siti@example.go.id"] and message["To"] == "Pelapor <siti@example.go.id>"
    body = message.get_payload(decode=True).decode()
    assert body.startswith("Yth. Bapak/Ibu Pelapor,") and REASON in body and not _named(body)


def test_the_cli(state_dir: Path, app: App) -> None:
    ticket_id = _report(app)
    spbe = Spbe(state_dir=state_dir, catch_exceptions=True)
    refused = spbe("incident", "reject", ticket_id, "--as", "rina", "--reason", REASON)
    assert refused.exit_code == 4, refused.output
    bad = spbe("incident", "reject", ticket_id, "--as", "sari", "--reason", "{{ config }}")
    assert bad.exit_code == 2, bad.output
    done = spbe("incident", "reject", ticket_id, "--as", "sari", "--reason", REASON)
    assert done.exit_code == 0, done.output
    assert "tidak terverifikasi" in done.output
    again = spbe("ticket", "approve", ticket_id, "--as", "sari", "--reason", "Terverifikasi.")
    assert again.exit_code == 5, again.output
    assert app.tickets.get(ticket_id).status == TicketStatus.CLOSED


def test_a_mail_server_that_is_down_does_not_undo_the_decision(state_dir: Path) -> None:
    from tests.support.smtp_sink import free_port

    app = App(load_settings(state_dir=state_dir, notifier={"kind": "smtp", "options": {
        "host": "127.0.0.1", "port": free_port(), "sender": "spbe@diskominfo.example.go.id", "timeout_s": 2}}))
    ticket_id = _report(app)
    assert reject(app, ticket_id, as_lab("sari"), REASON).status == TicketStatus.CLOSED
    entries = {e.action: e for e in app.audit.entries(ticket_id=ticket_id)}
    assert entries["ticket.reject_unverified"].data["reason"] == REASON
    undelivered = entries["ticket.notify_unverified"].data
    assert undelivered["delivered"] == [] and undelivered["channel"] == "smtp" and undelivered["error"]
    assert [e for e in app.tickets.timeline(ticket_id) if UNVERIFIED in e.data]  # the reporter reads it there


def test_an_approval_written_into_the_store_afterwards_starts_nothing(app: App) -> None:
    """The desk mirror or a forger writing straight into the ticket store: the policy would accept sari's
    approval, but a ticket closed before its closing step has no current step, so the engine plans nothing."""
    from toolkit.domain.tickets.models import NewEvent
    from toolkit.engine.progress import progress

    ticket_id = _report(app)
    reject(app, ticket_id, as_lab("sari"), REASON)
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.APPROVED, actor="sari", text="Disetujui.",
                                         step_id="verifikasi-awal"))
    assert run_ticket(app, ticket_id) == [] and app.queue.list_jobs(ticket_id=ticket_id) == []
    ticket = app.tickets.get(ticket_id)
    state = progress(app.catalog.get(ticket.service_id), ticket, app.tickets.timeline(ticket_id), app.queue,
                     app.policy)
    assert state.current is None and state.sla.stopped_at is not None
