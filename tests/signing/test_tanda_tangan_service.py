"""The *Tanda Tangan Elektronik* service: the automated step enrols through the port, the applicant activates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.signing.conftest import CANARY, render_pdf
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.signing import activate, identity_of, init_ca
from toolkit.domain.tickets.models import AttachmentUpload, EventKind
from toolkit.engine.server import run_ticket
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError
from toolkit.settings import load_settings

SERVICE = "tanda-tangan-elektronik"


@pytest.fixture
def app(state_dir: Path) -> Iterator[App]:
    built = App(load_settings(state_dir=state_dir, deployment="lab", workers={"warm_inventory": False}))
    init_ca(built, as_lab("sari"), "Diskominfo Uji")
    yield built
    built.close()


def _open(app: App, nip: str = "198001012005011001") -> str:
    surat = AttachmentUpload(name="surat.pdf", media_type="application/pdf", content=render_pdf("Surat"),
                             kind="surat_permohonan")
    ticket = desk.open_ticket(app, SERVICE, as_lab("andi"), "Sertifikat elektronik", {
        "instansi": "Dinas Kesehatan", "jabatan": "Pengelola Sistem Informasi", "nip": nip}, [surat])
    desk.check(app, ticket.id, as_lab("agus"))
    desk.approve(app, ticket.id, as_lab("kabid"), "Disetujui.")
    run_ticket(app, ticket.id)
    return ticket.id


def test_enrolment_then_activation_by_the_applicant(app: App, state_dir: Path) -> None:
    with pytest.raises(NotFoundError):  # nothing to activate before the service approved it
        activate(app, as_lab("andi"), SecretStr(CANARY))
    ticket_id = _open(app)
    timeline = app.tickets.timeline(ticket_id)
    assert any("spbe sign activate" in e.text for e in timeline if e.step_id == "penerbitan-sertifikat")
    assert app.signing.status(identity_of(app, "andi")).state == "not_enrolled"  # no key before the applicant
    with pytest.raises(NotFoundError):
        activate(app, as_lab("budi"), SecretStr("budi-rahasia-1"))  # not budi's activation
    with pytest.raises(ConflictError, match="activated the certificate"):  # no skipping it by hand
        desk.record_step(app, ticket_id, as_lab("andi"), "aktivasi-sertifikat", "Sudah.")
    status = activate(app, as_lab("andi"), SecretStr(CANARY))
    assert status.state == "active" and "198001012005011001" in (status.subject or "")
    with pytest.raises(ConflictError, match="already used"):
        activate(app, as_lab("andi"), SecretStr(CANARY))
    done = [e for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.STEP_COMPLETED]
    assert any(e.step_id == "aktivasi-sertifikat" and e.actor == "andi" for e in done)
    desk.close(app, ticket_id, as_lab("kabid"), None)
    for path in state_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("nip", ["12ab", "1980010120050110011", "19800101200501100\n", "$(id)"])
def test_a_malformed_nip_is_refused_when_the_ticket_is_opened(app: App, nip: str) -> None:
    before = len(app.tickets.list_tickets())
    with pytest.raises(InvalidInputError, match="nip"):
        _open(app, nip=nip)
    assert len(app.tickets.list_tickets()) == before
