"""E-mail intake against a real Dovecot: each message a complaint once; malformed ones refused, nothing half-made."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import pytest

from tests.complaints.conftest import MAIL_PASSWORD, Dovecot
from tests.support.attachment_samples import pdf_bytes
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands.complaints import fetch_mail
from toolkit.domain.principal import Principal
from toolkit.errors import PermissionDeniedError


def _mail(subject: str = "Keluhan hosting", body: str = "Website dinas tidak bisa diakses.", *,
          sender: str | None = "warga@example.com", message_id: str | None = "<abc-1@example.com>") -> EmailMessage:
    msg = EmailMessage()
    if sender:
        msg["From"] = f"Warga Kota <{sender}>"
    msg["To"] = "pengaduan@example.go.id"
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg


def _complaints(app: App) -> list:  # type: ignore[type-arg]
    return app.tickets.list_tickets(service_id="pengaduan")


def test_a_message_becomes_one_complaint_once(mail_app: App, mailbox: Dovecot) -> None:
    mailbox.deliver(bytes(_mail()))
    first = fetch_mail(mail_app, as_lab("sari"))
    assert [o.result for o in first] == ["created"]
    ticket = mail_app.tickets.get(str(first[0].ticket_id))
    assert ticket.requester == "spbe"
    assert ticket.fields["kanal"] == "email"
    assert ticket.fields["kontak_pengadu"] == "warga@example.com"
    assert ticket.fields["isi"] == "Website dinas tidak bisa diakses."
    assert ticket.title == "Keluhan hosting"
    assert mailbox.unseen() == 0
    # The same message again (re-sent, or unmarked by another client): no second ticket.
    mailbox.deliver(bytes(_mail()))
    again = fetch_mail(mail_app, Principal.engine())
    assert [o.result for o in again] == ["duplicate"]
    assert again[0].ticket_id == ticket.id
    assert len(_complaints(mail_app)) == 1


def test_only_the_desk_reads_the_mailbox(mail_app: App) -> None:
    with pytest.raises(PermissionDeniedError):
        fetch_mail(mail_app, as_lab("andi"))


def test_html_only_body_is_stored_as_text_without_scripts(mail_app: App, mailbox: Dovecot) -> None:
    msg = _mail(message_id="<html-1@example.com>")
    msg.set_content("<html><head><style>p{color:red}</style><script>alert('x')</script></head><body>"
                    "<p>Aplikasi <b>SIMPEG</b> error</p><script>document.cookie</script>"
                    "<p>&lt;script&gt;tetap teks&lt;/script&gt; {{ 7*7 }}</p></body></html>", subtype="html")
    mailbox.deliver(bytes(msg))
    [outcome] = fetch_mail(mail_app, as_lab("sari"))
    isi = mail_app.tickets.get(str(outcome.ticket_id)).fields["isi"]
    assert "Aplikasi SIMPEG error" in isi
    assert "alert" not in isi and "document.cookie" not in isi and "color:red" not in isi
    assert "{{" not in isi
    # The escaped markup the sender wrote as text stays text (shown escaped by the portal, never run).
    assert "<script>tetap teks</script>" in isi


@pytest.mark.parametrize("case", ["no_sender", "bad_sender", "huge_headers", "long_header", "oversized_body",
                                  "crafted_attachment"])
def test_malformed_mail_is_refused_whole(mail_app: App, mailbox: Dovecot, case: str,
                                         caplog: pytest.LogCaptureFixture) -> None:
    msg = _mail(message_id=f"<{case}@example.com>")
    if case == "no_sender":
        del msg["From"]
    elif case == "bad_sender":
        msg.replace_header("From", "bukan alamat; $(reboot)")
    elif case == "huge_headers":
        for n in range(300):
            msg[f"X-Filler-{n}"] = "x" * 200
    elif case == "long_header":
        msg["X-Long"] = "y " * 6000
    elif case == "oversized_body":
        msg.set_content("a" * 5001)
    else:  # an executable posing as a PDF, with a path in its name
        msg.add_attachment(b"\x7fELF\x02\x01\x01" + b"\x00" * 200, maintype="application", subtype="pdf",
                           filename="../../etc/surat.pdf")
    mailbox.deliver(bytes(msg))
    with caplog.at_level(logging.WARNING, logger="spbe.complaints.mail"):
        [outcome] = fetch_mail(mail_app, as_lab("sari"))
    assert outcome.result == "refused" and outcome.reason
    assert outcome.reason in caplog.text
    assert _complaints(mail_app) == []  # nothing half-created
    assert mailbox.unseen() == 0  # not read again every round
    assert MAIL_PASSWORD not in caplog.text


def test_a_valid_attachment_is_kept(mail_app: App, mailbox: Dovecot) -> None:
    msg = _mail(message_id="<att-1@example.com>")
    msg.add_attachment(pdf_bytes("Bukti"), maintype="application", subtype="pdf", filename="bukti.pdf")
    mailbox.deliver(bytes(msg))
    [outcome] = fetch_mail(mail_app, as_lab("sari"))
    ticket = mail_app.tickets.get(str(outcome.ticket_id))
    assert [(a.name, a.kind, a.media_type) for a in ticket.attachments] == [("bukti.pdf", "lampiran",
                                                                             "application/pdf")]


def test_a_message_without_message_id_is_still_taken_once(mail_app: App, mailbox: Dovecot) -> None:
    raw = bytes(_mail(message_id=None))
    mailbox.deliver(raw)
    mailbox.deliver(raw)
    outcomes = fetch_mail(mail_app, as_lab("sari"))
    assert sorted(o.result for o in outcomes) == ["created", "duplicate"]


def test_wrong_password_is_reported_without_the_password(state_dir, mailbox: Dovecot,  # type: ignore[no-untyped-def]
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from toolkit.errors import UnavailableError
    from toolkit.settings import load_settings

    monkeypatch.setenv("SPBE_TEST_IMAP_WRONG", "CANARY-wrong-5c2a")
    app = App(load_settings(state_dir=state_dir, secrets={"imap_password": {"ref": "env:SPBE_TEST_IMAP_WRONG"}},
                            mailbox={"kind": "imap", "options": {
                                "host": "127.0.0.1", "port": mailbox.port, "security": "plain",
                                "username": "pengaduan", "password_secret": "imap_password"}}))
    try:
        with pytest.raises(UnavailableError) as caught:
            fetch_mail(app, as_lab("sari"))
        assert "CANARY-wrong-5c2a" not in str(caught.value) and "login refused" in str(caught.value)
    finally:
        app.close()


def test_cli_fetch_mail(mail_app: App, mailbox: Dovecot, spbe, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    mailbox.deliver(bytes(_mail(message_id="<cli-1@example.com>")))
    import json

    env = {"SPBE_SECRETS": '{"imap_password": {"ref": "env:SPBE_TEST_IMAP_PASSWORD"}}',
           "SPBE_MAILBOX": json.dumps({"kind": "imap", "options": {
               "host": "127.0.0.1", "port": mailbox.port, "security": "plain", "username": "pengaduan",
               "password_secret": "imap_password"}})}
    result = spbe("complaint", "fetch-mail", "--as", "sari", env=env)
    assert result.exit_code == 0, result.output
    assert "created" in result.output and MAIL_PASSWORD not in result.output


def test_serve_polls_the_mailbox(mail_app: App, mailbox: Dovecot) -> None:
    """The side loop `spbe serve` runs: a delivered message becomes a complaint without anyone asking."""
    import threading
    import time

    from toolkit.complaints.loop import mail_loops

    [poll] = mail_loops(mail_app)
    mailbox.deliver(bytes(_mail(message_id="<serve-1@example.com>")))
    stop = threading.Event()
    thread = threading.Thread(target=poll, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not _complaints(mail_app) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert len(_complaints(mail_app)) == 1


def test_no_mailbox_no_loop(app: App) -> None:
    from toolkit.complaints.loop import mail_loops

    assert mail_loops(app) == ()


def test_a_message_over_the_size_limit_is_not_downloaded(state_dir, mailbox: Dovecot,  # type: ignore[no-untyped-def]
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from toolkit.settings import load_settings

    monkeypatch.setenv("SPBE_TEST_IMAP_PASSWORD", MAIL_PASSWORD)
    app = App(load_settings(state_dir=state_dir, secrets={"imap_password": {"ref": "env:SPBE_TEST_IMAP_PASSWORD"}},
                            mailbox={"kind": "imap", "options": {
                                "host": "127.0.0.1", "port": mailbox.port, "security": "plain",
                                "username": "pengaduan", "password_secret": "imap_password",
                                "max_message_bytes": 2048}}))
    try:
        mailbox.deliver(bytes(_mail(body="panjang " * 500, message_id="<big-1@example.com>")))
        [outcome] = fetch_mail(app, as_lab("sari"))
        assert outcome.result == "refused" and "larger than the mailbox limit" in str(outcome.reason)
        assert _complaints(app) == [] and mailbox.unseen() == 0
    finally:
        app.close()


def test_the_answer_recorded_as_a_step_note_counts(app: App) -> None:
    from toolkit.commands import complaints
    from toolkit.commands.desk import record_step

    ticket = complaints.submit(app, as_lab("sari"), {"jenis": "pengaduan", "isi": "x", "kanal": "sp4n_lapor",
                                                     "nomor_lapor": "1234567"}, [])
    complaints.forward(app, ticket.id, as_lab("sari"), None, None)
    record_step(app, ticket.id, as_lab("sari"), "jawab", "Dijawab lewat langkah.")
    assert "Dijawab lewat langkah." in complaints.reply_text(app, ticket.id, as_lab("sari"))


def test_plain_login_only_on_loopback(state_dir) -> None:  # type: ignore[no-untyped-def]
    from toolkit.errors import ConfigurationError
    from toolkit.settings import load_settings

    with pytest.raises(ConfigurationError, match="loopback"):
        load_settings(state_dir=state_dir, mailbox={"kind": "imap", "options": {
            "host": "mail.example.go.id", "port": 143, "security": "plain", "username": "u",
            "password_secret": "imap_password"}})
