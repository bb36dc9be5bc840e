"""Escalation of late steps and breached SLAs: once (also across a restart and a second process),
to the step's supervisor, on the ticket and through the notifier; SMTP against a real aiosmtpd sink
on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import ValidationError

from tests.actions.test_incident_workflow import LETTER, SURAKARTA
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from tests.support.smtp_sink import Sink
from tests.support.smtp_sink import free_port as _free_port
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import EventKind
from toolkit.engine.escalation import check_once
from toolkit.engine.server import Server, run_ticket
from toolkit.ports.notifier import Notification, Recipient
from toolkit.settings import load_settings
from toolkit.worktime.calendars import calendars_for


def _open(app: App) -> tuple[str, datetime]:
    ticket = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement situs Dinkes", SURAKARTA,
                              [LETTER])
    return ticket.id, ticket.created_at


def _escalations(app: App, ticket_id: str) -> list[Any]:
    return [e for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.ESCALATED]


def test_a_late_step_escalates_once_to_its_supervisor(state_dir: Path) -> None:
    app = App(load_settings(state_dir=state_dir))
    ticket_id, opened = _open(app)
    assert check_once(app, now=opened + timedelta(minutes=14)) == []  # row 3 allows 15 minutes
    outcomes = check_once(app, now=opened + timedelta(minutes=16))
    assert [(o.escalation.key, o.escalation.roles) for o in outcomes] == [("step:tindak-lanjut-laporan",
                                                                            ("kepala-bidang-ti",))]
    assert outcomes[0].delivery.delivered == ("kabid",)
    [event] = _escalations(app, ticket_id)
    assert event.step_id == "tindak-lanjut-laporan" and "15 menit" in event.text and "Siti Rahmawati" in event.text
    notices = [e for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.NOTIFICATION]
    assert len(notices) == 1 and notices[0].data["to"] == ["kabid"]
    # again, after a restart (a new App on the same state), and from a second process: nothing more
    assert check_once(app, now=opened + timedelta(minutes=30)) == []
    assert check_once(App(load_settings(state_dir=state_dir)), now=opened + timedelta(hours=2)) == []
    runner = Spbe(env={"SPBE_STATE_DIR": str(state_dir)}, catch_exceptions=True)("escalate", "--once")
    assert runner.exit_code == 0, runner.output
    assert len(_escalations(app, ticket_id)) == 1
    assert [e.action for e in app.audit.entries(ticket_id=ticket_id)].count("ticket.escalate") == 1
    # the next step has its own clock and its own single escalation
    desk.record_step(app, ticket_id, as_lab("hendra"), "tindak-lanjut-laporan", "Ditindaklanjuti.")
    run_ticket(app, ticket_id)  # the Disposisi document (no standard time of its own)
    done_at = app.queue.step_results(ticket_id)["dokumen-disposisi"].finished_at
    outcomes = check_once(app, now=done_at + timedelta(minutes=11))
    assert [o.escalation.key for o in outcomes] == ["step:penentuan-jenis-insiden"]


def test_a_breached_sla_goes_to_the_coordinator_and_the_head(state_dir: Path) -> None:
    app = App(load_settings(state_dir=state_dir))
    ticket_id, opened = _open(app)
    # "1 Hari kerja": one working day on Surakarta's calendar, whatever day the test runs on
    deadline = calendars_for(app.settings.worktime).for_zone("Asia/Jakarta").add_working_days(opened, 1)
    assert [o.escalation.key for o in check_once(app, now=deadline - timedelta(minutes=1))] == [
        "step:tindak-lanjut-laporan"]  # the SLA not yet: a minute of the working day is left
    outcomes = check_once(app, now=deadline + timedelta(minutes=1))
    keys = {o.escalation.key: o for o in outcomes}
    assert set(keys) == {"sla:standar"}
    assert set(keys["sla:standar"].delivery.delivered) == {"sari", "kadis", "kadis2"}
    assert "telah terlampaui" in _escalations(app, ticket_id)[-1].text


def test_smtp_notifier_mails_the_supervisor(state_dir: Path, smtp) -> None:  # type: ignore[no-untyped-def]
    sink, controller = smtp
    app = App(load_settings(state_dir=state_dir, notifier={"kind": "smtp", "options": {
        "host": "127.0.0.1", "port": controller.port, "sender": "spbe@diskominfo.example.go.id"}}))
    ticket_id, opened = _open(app)
    check_once(app, now=opened + timedelta(minutes=20))
    check_once(app, now=opened + timedelta(minutes=40))
    assert len(sink.messages) == 1
    recipients, message = sink.messages[0]
    assert recipients == ["siti.rahmawati@diskominfo.example.go.id"]
    assert message["Subject"] == f"[{ticket_id}] Eskalasi: langkah melewati waktu baku"
    assert message["X-SPBE-Ticket"] == ticket_id
    body = message.get_payload(decode=True).decode()
    assert "Menindaklanjuti Laporan" in body and "Siti Pelapor" not in body and "0812" not in body


def test_smtp_down_is_retried_and_delivered_once(state_dir: Path) -> None:
    sink = Sink()
    port = _free_port()
    app = App(load_settings(state_dir=state_dir, notifier={"kind": "smtp", "options": {
        "host": "127.0.0.1", "port": port, "sender": "spbe@diskominfo.example.go.id", "timeout_s": 2}}))
    ticket_id, opened = _open(app)
    assert check_once(app, now=opened + timedelta(minutes=16)) == []
    assert len(_escalations(app, ticket_id)) == 1  # on the ticket already; the mail is owed
    again = Controller(sink, hostname="127.0.0.1", port=port)  # a stopped controller cannot restart
    again.start()
    try:
        assert check_once(app, now=opened + timedelta(minutes=17)) == []  # within the claim's lease
        outcomes = check_once(app, now=opened + timedelta(minutes=20))
        assert len(outcomes) == 1 and len(sink.messages) == 1
        assert check_once(app, now=opened + timedelta(minutes=40)) == [] and len(sink.messages) == 1
        assert len(_escalations(app, ticket_id)) == 1
    finally:
        again.stop()


def test_mail_headers_cannot_be_injected(state_dir: Path) -> None:
    with pytest.raises(ValidationError):
        Recipient(username="x", name="Budi\r\nBcc: attacker@example.com", email="x@example.go.id")
    with pytest.raises(ValidationError):
        Notification(ticket_id="T", key="k", subject="Eskalasi\nBcc: a@b.c", body="x",
                     recipients=(Recipient(username="x", name="X"),))


# An unreachable SMTP server raises UnavailableError: the Notifier contract suite (tests/contracts/test_notifier.py).


def test_spbe_serve_runs_the_escalation_check(state_dir: Path) -> None:
    """The ticket is opened with the store's clock an hour back, so its first step is late in real time."""
    past = App(load_settings(state_dir=state_dir, tickets={"kind": "embedded", "options": {
        "clock": lambda: datetime.now(UTC) - timedelta(hours=1)}}))
    ticket_id, _ = _open(past)
    app = App(load_settings(state_dir=state_dir, escalation_interval_s=0.1,
                            workers={"poll_interval": 0.02}))
    Server(app, workers=1, shutdown_grace=5).run(duration=1.5)
    assert [e.step_id for e in _escalations(app, ticket_id)] == ["tindak-lanjut-laporan"]


def test_notify_steps_are_mailed_when_smtp_is_configured(state_dir: Path, smtp) -> None:  # type: ignore[no-untyped-def]
    """The notice to the asset owner goes to the OPD's people; the closing notice to the reporter's own
    e-mail contact, addressed as "Pelapor" (their name is in no header and no body)."""
    from toolkit.commands.incident import decide

    sink, controller = smtp
    app = App(load_settings(state_dir=state_dir, notifier={"kind": "smtp", "options": {
        "host": "127.0.0.1", "port": controller.port, "sender": "spbe@diskominfo.example.go.id"}}))
    fields = SURAKARTA | {"pelapor_kontak": "siti.pelapor@example.go.id"}
    ticket = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Gangguan situs", fields, [LETTER])
    desk.record_step(app, ticket.id, as_lab("hendra"), "tindak-lanjut-laporan", "Ditindaklanjuti.")
    run_ticket(app, ticket.id)  # the Disposisi document
    decide(app, ticket.id, as_lab("hendra"), {"jenis_insiden": "umum"}, "Gangguan biasa.")
    desk.record_step(app, ticket.id, as_lab("hendra"), "penentuan-jenis-insiden", "Insiden umum.")
    desk.record_step(app, ticket.id, as_lab("wati"), "penanganan-insiden", "Diperbaiki.")
    desk.record_step(app, ticket.id, as_lab("kabid"), "pemeriksaan-hasil-penanganan", "Sesuai.")
    run_ticket(app, ticket.id)
    desk.record_step(app, ticket.id, as_lab("hendra"), "penutupan-laporan", "Ditutup.")
    run_ticket(app, ticket.id)
    assert [rcpt for rcpt, _ in sink.messages] == [["hartono@dinkes.example.go.id"], ["siti.pelapor@example.go.id"]]
    owner, reporter = (message for _, message in sink.messages)
    assert "Status Penyelesaian Insiden" in owner.get_payload(decode=True).decode()
    assert reporter["To"] == "Pelapor <siti.pelapor@example.go.id>"
    body = reporter.get_payload(decode=True).decode()
    assert body.startswith("Yth. Bapak/Ibu Pelapor") and "Siti Pelapor" not in body
    job = app.queue.step_results(ticket.id)["notifikasi-pelapor"]
    assert job.result["facts"]["delivery"] == {"channel": "smtp", "delivered": ["pelapor"], "skipped": []}
