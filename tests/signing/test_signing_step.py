"""Signing as the SOP's human step: parties, turns, versions, the timeline, and the step's completion."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.signing.conftest import CANARY, DEWI_PASS, DOC, render_pdf, uji_ttd_app
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.signing import sign_document, verify_document
from toolkit.domain.tickets.models import AttachmentUpload, EventKind
from toolkit.engine.server import run_ticket
from toolkit.errors import ConflictError, IntegrityError, NotFoundError, PermissionDeniedError
from toolkit.ports.signing import SignerLockedError, WrongPassphraseError
from toolkit.signing.lockout import MAX_FAILURES


@pytest.fixture
def app(state_dir: Path, tmp_path: Path) -> Iterator[App]:
    built = uji_ttd_app(state_dir, tmp_path)
    yield built
    built.close()


@pytest.fixture
def ticket_id(app: App) -> str:
    """A ticket at the signing step, its berita acara attached as a PDF by the document step."""
    ticket = desk.open_ticket(app, "uji-ttd", as_lab("andi"), "Uji tanda tangan", {"instansi": "Dinas Uji"}, [])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui.")
    run_ticket(app, ticket.id)  # the document step renders the berita acara and attaches its PDF
    assert f"{DOC}_{ticket.id}.pdf" in [a.name for a in app.tickets.get(ticket.id).attachments]
    return ticket.id


def _pdf_versions(app: App, ticket_id: str) -> list[str]:
    return [a.name for a in app.tickets.get(ticket_id).attachments if a.kind == DOC and a.name.endswith(".pdf")]


def test_parties_sign_in_the_sops_order_and_the_step_completes(app: App, ticket_id: str) -> None:
    with pytest.raises(ConflictError, match="every party has signed"):  # the step cannot be recorded unsigned
        desk.record_step(app, ticket_id, as_lab("andi"), "penandatanganan", "Sudah ditandatangani.")
    first = sign_document(app, ticket_id, DOC, as_lab("dewi"), SecretStr(DEWI_PASS))
    assert (first.order, first.total, first.step_done) == (1, 2, False)
    second = sign_document(app, ticket_id, DOC, as_lab("andi"), SecretStr(CANARY))
    assert (second.order, second.step_done) == (2, True)
    assert _pdf_versions(app, ticket_id) == [f"{DOC}_{ticket_id}.pdf", f"{DOC}_{ticket_id}_ttd1.pdf",
                                             f"{DOC}_{ticket_id}_ttd2.pdf"]
    signed = app.tickets.read_attachment(ticket_id, second.attachment)
    result = verify_document(app, signed, as_lab("sari"), second.attachment)
    assert [s.signer for s in result.signatures] == ["Dewi Lestari", "Andi Pratama"]
    timeline = app.tickets.timeline(ticket_id)
    said = [e.text for e in timeline if e.kind == EventKind.COMMENT and "ditandatangani secara elektronik" in e.text]
    assert len(said) == 2 and "tanda tangan ke-1 dari 2" in said[0] and "Tim Kerja Pengembangan Aplikasi" in said[0]
    assert any(e.kind == EventKind.STEP_COMPLETED and e.step_id == "penandatanganan" for e in timeline)


def test_not_a_party_and_not_in_turn_are_refused(app: App, ticket_id: str) -> None:
    with pytest.raises(PermissionDeniedError, match="not a party"):
        sign_document(app, ticket_id, DOC, as_lab("budi"), SecretStr("budi-rahasia-1"))  # a pemohon, not this one
    with pytest.raises(PermissionDeniedError, match="not a party"):
        sign_document(app, ticket_id, DOC, as_lab("kadis"), SecretStr("kadis-rahasia-1"))
    with pytest.raises(PermissionDeniedError, match="not andi's turn"):
        sign_document(app, ticket_id, DOC, as_lab("andi"), SecretStr(CANARY))
    sign_document(app, ticket_id, DOC, as_lab("dewi"), SecretStr(DEWI_PASS))
    with pytest.raises(ConflictError, match="already signed"):
        sign_document(app, ticket_id, DOC, as_lab("dewi"), SecretStr(DEWI_PASS))
    assert len(_pdf_versions(app, ticket_id)) == 2


def test_wrong_passphrases_sign_nothing_and_lock(app: App, ticket_id: str) -> None:
    for attempt in range(1, MAX_FAILURES):
        with pytest.raises(WrongPassphraseError, match=f"{MAX_FAILURES - attempt} tries left"):
            sign_document(app, ticket_id, DOC, as_lab("dewi"), SecretStr(f"salah-{attempt}-xx"))
    with pytest.raises(SignerLockedError, match="locked"):
        sign_document(app, ticket_id, DOC, as_lab("dewi"), SecretStr("salah-terakhir"))
    with pytest.raises(SignerLockedError, match="locked until"):  # even the right one, while locked
        sign_document(app, ticket_id, DOC, as_lab("dewi"), SecretStr(DEWI_PASS))
    assert _pdf_versions(app, ticket_id) == [f"{DOC}_{ticket_id}.pdf"]
    refused = [e for e in app.audit.entries() if e.action == "document.sign.refused"]
    assert len(refused) == MAX_FAILURES


def test_a_pdf_attached_by_a_person_is_not_the_document(app: App, state_dir: Path) -> None:
    ticket = desk.open_ticket(app, "uji-ttd", as_lab("andi"), "Uji", {"instansi": "Dinas Uji"}, [])
    app.tickets.attach(ticket.id, AttachmentUpload(name="palsu.pdf", media_type="application/pdf",
                                                   content=render_pdf("Berita acara palsu"), kind=DOC), "andi")
    with pytest.raises(NotFoundError, match="no rendered PDF"):
        sign_document(app, ticket.id, DOC, as_lab("dewi"), SecretStr(DEWI_PASS))


def test_a_document_changed_between_signatures_is_not_signed(app: App, ticket_id: str) -> None:
    first = sign_document(app, ticket_id, DOC, as_lab("dewi"), SecretStr(DEWI_PASS))
    signed = app.tickets.read_attachment(ticket_id, first.attachment)
    at = signed.find(b"Berita")
    changed = signed + b"\n%% diubah\n" if at < 0 else signed[:at] + b"Cerita" + signed[at + 6:]
    app.tickets.attach(ticket_id, AttachmentUpload(name=f"{DOC}_{ticket_id}_ubah.pdf", media_type="application/pdf",
                                                   content=changed, kind=DOC), "andi")
    with pytest.raises(IntegrityError):
        sign_document(app, ticket_id, DOC, as_lab("andi"), SecretStr(CANARY))
    with pytest.raises(IntegrityError) as caught:
        verify_document(app, changed, as_lab("sari"), "ubah.pdf")
    assert caught.value.exit_code == 9


def test_a_signature_lands_in_the_block_the_renderer_laid_out_for_its_signer(app: App, ticket_id: str) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    from toolkit.signing.pdf import field_name_for

    facts = app.queue.step_results(ticket_id)["berita-acara"].result["facts"]  # type: ignore[index]
    block = next(b for b in facts["tanda_tangan"] if b["username"] == "andi")
    sign_document(app, ticket_id, DOC, as_lab("dewi"), SecretStr(DEWI_PASS))
    second = sign_document(app, ticket_id, DOC, as_lab("andi"), SecretStr(CANARY))
    reader = PdfFileReader(io.BytesIO(app.tickets.read_attachment(ticket_id, second.attachment)))
    rects = {str(f.get_object()["/T"]): [float(v) for v in f.get_object()["/Rect"]]
             for f in reader.root["/AcroForm"]["/Fields"]}
    x1, y1, x2, y2 = rects[field_name_for("andi")]
    assert (x1, y1) == pytest.approx((block["x"], block["y"]), abs=1)  # pyHanko writes whole points
    assert (x2 - x1, y2 - y1) == pytest.approx((block["width"], block["height"]), abs=1)
    assert rects[field_name_for("dewi")] != rects[field_name_for("andi")]  # dewi has no block: the fallback box


def test_a_signing_step_completed_straight_in_the_store_does_not_count(app: App, ticket_id: str) -> None:
    """The engine trusts no event: a completion written past the command, or signature records that are
    not the parties' own, leave the signing step current."""
    from toolkit.domain.tickets.models import NewEvent
    from toolkit.engine.progress import progress

    def current() -> str | None:
        ticket = app.tickets.get(ticket_id)
        service = app.catalog.get(ticket.service_id)
        state = progress(service, ticket, app.tickets.timeline(ticket_id), app.queue, app.policy)
        return state.current.id if state.current else None

    app.tickets.post(ticket_id, NewEvent(kind=EventKind.STEP_COMPLETED, actor="andi", step_id="penandatanganan",
                                         text="Sudah ditandatangani."))
    assert current() == "penandatanganan"
    forged = {"document": DOC, "signer": "budi", "order": 1}  # budi is an applicant, not this ticket's requester
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor="budi", text="ttd", data={"signature": forged}))
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor="andi", text="ttd",
                                         data={"signature": {"document": DOC, "signer": "andi", "order": 2}}))
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.STEP_COMPLETED, actor="andi", step_id="penandatanganan",
                                         text="Sudah ditandatangani."))
    assert current() == "penandatanganan"  # budi's record is not a tim-pengembangan-aplikasi's signature

    sign_document(app, ticket_id, DOC, as_lab("dewi"), SecretStr(DEWI_PASS))
    assert current() == "penandatanganan"
    assert sign_document(app, ticket_id, DOC, as_lab("andi"), SecretStr(CANARY)).step_done
    assert current() == "penutupan"
