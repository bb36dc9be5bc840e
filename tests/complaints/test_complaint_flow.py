"""The complaint's procedure (terima, teruskan, jawab, tutup), its rules at intake, anonymity, the SP4N-LAPOR
reply text and the escalation of a late answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.attachment_samples import pdf_bytes
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import complaints
from toolkit.commands.attachment_files import from_bytes
from toolkit.commands.desk import open_ticket
from toolkit.commands.views import show
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from toolkit.settings import load_settings

HOSTING = {"instansi": "Dinas Kesehatan", "perihal": "VPN", "produk": "vpn", "kontak_email": "a@dinkes.example.go.id",
           "vpn_subnet_lan": "192.168.10.0/24", "vpn_ip_gateway": "203.0.113.10"}
INJECTIONS = ["a\nb; $(reboot)", "{{ 7*7 }}", "{% raw %}", "../../etc/passwd\x00", "\u202eevil", "x" * 6000]


def _letter():  # type: ignore[no-untyped-def]
    return from_bytes("surat_permohonan", "surat.pdf", pdf_bytes())


def _complaint(app: App, user: str = "andi", **fields: object):  # type: ignore[no-untyped-def]
    values = {"jenis": "pengaduan", "isi": "Layanan lambat.", "layanan_terkait": "pusat-data"} | fields
    return complaints.submit(app, as_lab(user), values, [])


def test_the_procedure_and_its_step_ids(app: App) -> None:
    ticket = _complaint(app)
    assert [s.id for s in app.catalog.get("pengaduan").steps] == ["terima", "teruskan", "jawab", "tutup"]
    complaints.forward(app, ticket.id, as_lab("sari"), None, "Mohon ditindaklanjuti")
    assert app.tickets.get(ticket.id).assignee == "sari"
    complaints.answer(app, ticket.id, as_lab("sari"), "Sudah kami perbaiki.")
    done = [e for e in app.tickets.timeline(ticket.id) if e.kind == "step_completed"]
    assert [e.step_id for e in done] == ["teruskan", "jawab"]
    complaints.close(app, ticket.id, as_lab("sari"), None)
    view = complaints.show_complaint(app, ticket.id, as_lab("andi"))
    assert view["status"] == "closed" and view["answer"] == "Sudah kami perbaiki."


def test_the_complainant_neither_forwards_nor_answers(app: App) -> None:
    ticket = _complaint(app)
    with pytest.raises(PermissionDeniedError):
        complaints.forward(app, ticket.id, as_lab("andi"), None, None)
    complaints.forward(app, ticket.id, as_lab("sari"), None, None)
    with pytest.raises(PermissionDeniedError):
        complaints.answer(app, ticket.id, as_lab("andi"), "Saya jawab sendiri")
    with pytest.raises(PermissionDeniedError):
        complaints.forward(app, _complaint(app).id, as_lab("sari"), "andi", None)  # not a koordinator


def test_anonymous_complainant_is_hidden_from_the_koordinator(app: App) -> None:
    ticket = _complaint(app, anonim=True, kontak_pengadu="andi@example.com")
    seen = show(app, ticket.id, as_lab("sari"))
    assert seen.ticket.requester == "[dirahasiakan]"
    assert seen.ticket.fields["kontak_pengadu"] == "[dirahasiakan]"
    assert all(e.actor != "andi" for e in seen.timeline)
    assert seen.ticket.fields["isi"] == "Layanan lambat."  # the complaint itself is seen
    assert complaints.show_complaint(app, ticket.id, as_lab("sari"))["pengadu"] == "[dirahasiakan]"
    assert show(app, ticket.id, as_lab("andi")).ticket.requester == "andi"  # the complainant sees their own
    named = _complaint(app)
    assert show(app, named.id, as_lab("sari")).ticket.requester == "andi"


def test_related_ticket_rules(app: App) -> None:
    own = open_ticket(app, "pusat-data", as_lab("andi"), "VPN", HOSTING, [_letter()])
    theirs = open_ticket(app, "pusat-data", as_lab("budi"), "VPN", HOSTING | {"instansi": "Bakeuda"}, [_letter()])
    ticket = _complaint(app, tiket_terkait=own.id, layanan_terkait=None)
    assert ticket.fields["layanan_terkait"] == "pusat-data"  # taken from the ticket
    with pytest.raises(InvalidInputError) as other:
        _complaint(app, tiket_terkait=theirs.id)
    with pytest.raises(InvalidInputError) as missing:
        _complaint(app, tiket_terkait="SPBE-2026-99999")
    assert "tidak ditemukan" in str(other.value) and "tidak ditemukan" in str(missing.value)  # same answer
    assert _complaint(app, "sari", tiket_terkait=theirs.id).fields["tiket_terkait"] == theirs.id  # staff: any
    with pytest.raises(InvalidInputError):
        _complaint(app, tiket_terkait=own.id, layanan_terkait="splp")  # not the ticket's service


@pytest.mark.parametrize("layanan", ["tidak-ada", "pengaduan", "../pusat-data", "Pusat Data"])
def test_unknown_layanan_terkait(app: App, layanan: str) -> None:
    with pytest.raises(InvalidInputError):
        _complaint(app, layanan_terkait=layanan)


@pytest.mark.parametrize("field", ["isi", "nama_pengadu", "nomor_lapor", "tiket_terkait", "kontak_pengadu",
                                   "layanan_terkait"])
@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_in_every_text_field(app: App, field: str, value: str) -> None:
    """Refused, or (multi-line free text: shell characters are just text there) stored exactly as typed."""
    extra = {"kanal": "sp4n_lapor", "nomor_lapor": "1234567"}
    try:
        ticket = _complaint(app, "sari", **(extra | {field: value}))
    except InvalidInputError:
        return
    assert field == "isi" and ticket.fields["isi"] == value and value == "a\nb; $(reboot)"


def test_oversized_body_and_title(app: App) -> None:
    with pytest.raises(InvalidInputError):
        _complaint(app, isi="a" * 5001)
    assert _complaint(app, isi="a" * 5000).fields["isi"] == "a" * 5000


def test_crafted_attachment_is_refused(app: App) -> None:
    with pytest.raises(InvalidInputError):
        from_bytes("lampiran", "../surat.pdf", pdf_bytes())
    fake = from_bytes("lampiran", "surat.pdf", b"#!/bin/sh\nrm -rf /\n" * 10)  # text/x-shellscript by content
    with pytest.raises(InvalidInputError):
        complaints.submit(app, as_lab("andi"), {"jenis": "saran", "isi": "x"}, [fake])
    good = from_bytes("lampiran", "bukti.pdf", pdf_bytes())
    assert complaints.submit(app, as_lab("andi"), {"jenis": "saran", "isi": "x"}, [good]).attachments


def test_channels_and_staff_only_fields(app: App) -> None:
    with pytest.raises(PermissionDeniedError):
        _complaint(app, kanal="sp4n_lapor", nomor_lapor="1234567")  # an applicant files through the application
    with pytest.raises(PermissionDeniedError):
        _complaint(app, "sari", kanal="email")  # only the mailbox intake
    with pytest.raises(PermissionDeniedError):
        _complaint(app, nama_pengadu="Orang Lain")
    with pytest.raises(InvalidInputError):
        _complaint(app, "sari", kanal="sp4n_lapor")  # the LAPOR number is required
    with pytest.raises(InvalidInputError):
        _complaint(app, "sari", kanal="sp4n_lapor", nomor_lapor="12AB")


def test_the_generic_door_applies_the_same_rules(app: App) -> None:
    with pytest.raises(InvalidInputError):
        open_ticket(app, "pengaduan", as_lab("andi"), "Keluhan", {"jenis": "pengaduan", "isi": "x",
                                                                   "layanan_terkait": "tidak-ada"}, [])
    saran = open_ticket(app, "pengaduan", as_lab("lina"), "Saran", {"jenis": "saran", "isi": "x"}, [])
    assert saran.requester == "lina"


def test_lapor_reply_text(app: App) -> None:
    ticket = _complaint(app, "sari", kanal="sp4n_lapor", nomor_lapor="#7654321", nama_pengadu="Pak Joko")
    with pytest.raises(ConflictError):
        complaints.reply_text(app, ticket.id, as_lab("sari"))  # not answered yet
    complaints.forward(app, ticket.id, as_lab("sari"), "sari", None)
    complaints.answer(app, ticket.id, as_lab("sari"), "Jaringan sudah normal kembali.")
    text = complaints.reply_text(app, ticket.id, as_lab("sari"))
    assert "7654321" in text and ticket.id in text and "Jaringan sudah normal kembali." in text
    assert "WIB" in text and "Yth. Pelapor" in text
    with pytest.raises((PermissionDeniedError, NotFoundError)):
        complaints.reply_text(app, ticket.id, as_lab("andi"))
    plain = _complaint(app)
    complaints.forward(app, plain.id, as_lab("sari"), None, None)
    complaints.answer(app, plain.id, as_lab("sari"), "ok")
    with pytest.raises(ConflictError):
        complaints.reply_text(app, plain.id, as_lab("sari"))  # not a LAPOR complaint


def test_response_days_come_from_settings_and_a_late_answer_escalates(state_dir, clock) -> None:  # type: ignore[no-untyped-def]
    from toolkit.engine.escalation import check_once

    app = App(load_settings(state_dir=state_dir, complaints={"response_days": 2, "sla_days": 4}), clock=clock)
    try:
        assert app.catalog.get("pengaduan").step("jawab").standard_time == timedelta(days=2)
        ticket = _complaint(app)
        complaints.forward(app, ticket.id, as_lab("sari"), None, None)
        view = complaints.show_complaint(app, ticket.id, as_lab("sari"))
        assert view["step"] == "jawab" and not view["answer_late"]
        late = [o.escalation for o in check_once(app, now=clock.now() + timedelta(days=9))]
        assert any(e.ticket_id == ticket.id and e.step_id == "jawab" for e in late)
    finally:
        app.close()


def test_cli_submit_answer_and_reply(spbe, tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = tmp_path / "isi.txt"
    body.write_text("Laporan warga tentang jaringan.", encoding="utf-8")
    created = spbe.json("complaint", "submit", "--as", "sari", "--kanal", "sp4n_lapor", "--nomor-lapor", "1234567",
                        "--file", str(body), "--layanan", "jaringan-intra")
    tid = created["id"]
    assert spbe("complaint", "forward", tid, "--as", "sari").exit_code == 0
    assert spbe("complaint", "answer", tid, "--as", "sari", "--text", "Sudah normal.").exit_code == 0
    reply = spbe("complaint", "reply-text", tid, "--as", "sari")
    assert reply.exit_code == 0 and "1234567" in reply.output and "Sudah normal." in reply.output
    listed = spbe.json("complaint", "list", "--as", "sari")
    assert [c["id"] for c in listed] == [tid]
    refused = spbe("complaint", "submit", "--as", "andi", "--text", "x", "--layanan", "tidak-ada")
    assert refused.exit_code == 2


@pytest.mark.parametrize("value", INJECTIONS[1:5])
def test_injection_in_the_title_answer_and_note(app: App, value: str) -> None:
    with pytest.raises(InvalidInputError):
        complaints.submit(app, as_lab("andi"), {"jenis": "saran", "isi": "x"}, [], title=value)
    ticket = _complaint(app)
    with pytest.raises(InvalidInputError):
        complaints.forward(app, ticket.id, as_lab("sari"), None, value)
    complaints.forward(app, ticket.id, as_lab("sari"), None, None)
    with pytest.raises(InvalidInputError):
        complaints.answer(app, ticket.id, as_lab("sari"), value)
    with pytest.raises(InvalidInputError):
        complaints.answer(app, ticket.id, as_lab("sari"), "a" * (complaints.MAX_ANSWER + 1))
    assert complaints.show_complaint(app, ticket.id, as_lab("sari"))["answer"] is None  # nothing recorded


def test_only_the_koordinator_it_was_forwarded_to_answers(app: App) -> None:
    ticket = _complaint(app)
    complaints.forward(app, ticket.id, as_lab("sari"), "sari", None)
    forged = app.tickets.get(ticket.id)
    assert forged.assignee == "sari"
    with pytest.raises(ConflictError):
        complaints.forward(app, ticket.id, as_lab("sari"), None, None)  # forwarded once
    with pytest.raises(ConflictError):
        complaints.close(app, ticket.id, as_lab("sari"), None)  # not answered yet


def test_the_answer_is_mailed_to_the_address_the_complainant_left(state_dir, smtp) -> None:  # type: ignore[no-untyped-def]
    sink, controller = smtp
    app = App(load_settings(state_dir=state_dir, notifier={"kind": "smtp", "options": {
        "host": "127.0.0.1", "port": controller.port, "sender": "pengaduan@diskominfo.example.go.id"}}))
    try:
        ticket = _complaint(app, anonim=True, kontak_pengadu="warga@example.org")
        complaints.forward(app, ticket.id, as_lab("sari"), None, None)
        complaints.answer(app, ticket.id, as_lab("sari"), "Server sudah kami tambah kapasitasnya.\nTerima kasih.")
        [(recipients, message)] = sink.messages
        assert recipients == ["warga@example.org"]
        assert message["Subject"] == f"[{ticket.id}] Jawaban atas pengaduan"
        body = message.get_payload(decode=True).decode()
        assert "Yth. Pengadu" in body and "Server sudah kami tambah kapasitasnya." in body
        name = app.directory.person("andi").name
        assert name not in body  # addressed as "Pengadu", as the anonymous complaint asked
        [entry] = [e for e in app.audit.entries(ticket_id=ticket.id) if e.action == "complaint.answer_mailed"]
        assert entry.data["delivered"] == ["pengadu"] and "warga@example.org" not in str(entry.data)
        # no address left: nothing mailed; the answer is on the ticket as always
        silent = _complaint(app)
        complaints.forward(app, silent.id, as_lab("sari"), None, None)
        complaints.answer(app, silent.id, as_lab("sari"), "ok")
        assert len(sink.messages) == 1
    finally:
        app.close()


def test_a_mail_server_that_is_down_does_not_undo_the_answer(state_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.support.smtp_sink import free_port

    app = App(load_settings(state_dir=state_dir, notifier={"kind": "smtp", "options": {
        "host": "127.0.0.1", "port": free_port(), "sender": "pengaduan@diskominfo.example.go.id"}}))
    try:
        ticket = _complaint(app, kontak_pengadu="warga@example.org")
        complaints.forward(app, ticket.id, as_lab("sari"), None, None)
        complaints.answer(app, ticket.id, as_lab("sari"), "Sudah normal.")
        assert complaints.show_complaint(app, ticket.id, as_lab("andi"))["answer"] == "Sudah normal."
        [entry] = [e for e in app.audit.entries(ticket_id=ticket.id) if e.action == "complaint.answer_mailed"]
        assert entry.data["delivered"] == [] and entry.data["error"]
    finally:
        app.close()
