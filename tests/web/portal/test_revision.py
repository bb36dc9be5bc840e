"""The koordinator returns a request with a note; the applicant resubmits it from the portal.

Returning is the completeness check's role (the same policy call as `desk.check`), needs a note and
pauses the SLA (the ticket is deferred); only the requester resubmits, and only a returned ticket.
"""

from __future__ import annotations

import pytest

from tests.support.principals import as_lab
from tests.web.portal.conftest import PDF, Served, csrf_of
from tests.web.portal.test_security import open_ticket
from toolkit.commands import revision
from toolkit.errors import ConflictError, InvalidInputError, PermissionDeniedError


def test_return_with_a_note_and_resubmit_through_the_portal(served: Served) -> None:
    ticket_id = open_ticket(served)
    sari = served.login("sari")
    token = csrf_of(sari.get(f"/tiket/{ticket_id}").text)
    assert sari.post(f"/tiket/{ticket_id}/kembalikan",
                     data={"csrf": token, "kurang": "surat_permohonan", "catatan": ""}).status_code == 400
    assert sari.post(f"/tiket/{ticket_id}/kembalikan",  # what is missing must be named
                     data={"csrf": token, "catatan": "Surat belum bertanda tangan."}).status_code == 400
    assert served.app.tickets.get(ticket_id).status.value == "open"
    response = sari.post(f"/tiket/{ticket_id}/kembalikan",
                         data={"csrf": token, "kurang": "surat_permohonan", "catatan": "Surat belum bertanda tangan."})
    assert response.status_code == 303
    assert served.app.tickets.get(ticket_id).status.value == "deferred"
    andi = served.login("andi")
    page = andi.get(f"/tiket/{ticket_id}").text
    assert "Surat belum bertanda tangan." in page and "Ajukan kembali" in page
    response = andi.post(f"/tiket/{ticket_id}/ajukan-ulang", data={"csrf": csrf_of(page), "catatan": "Sudah."},
                         files={"surat_permohonan": ("surat-ttd.pdf", PDF, "application/pdf")})
    assert response.status_code == 303
    ticket = served.app.tickets.get(ticket_id)
    assert ticket.status.value == "open" and {a.name for a in ticket.attachments} == {"surat.pdf", "surat-ttd.pdf"}
    assert ticket_id in sari.get("/antrean").text  # back in the koordinator's queue


def test_only_the_checker_returns_and_only_the_requester_resubmits(served: Served) -> None:
    ticket_id = open_ticket(served)
    with pytest.raises(PermissionDeniedError):
        revision.return_for_revision(served.app, ticket_id, as_lab("kadis"), ["surat_permohonan"], "bukan tugas saya")
    with pytest.raises(ConflictError):
        revision.resubmit(served.app, ticket_id, as_lab("andi"), "belum dikembalikan", [])
    revision.return_for_revision(served.app, ticket_id, as_lab("sari"), ["surat_permohonan"], "Lengkapi surat.")
    with pytest.raises(PermissionDeniedError):
        revision.resubmit(served.app, ticket_id, as_lab("budi"), "bukan tiket saya", [])
    with pytest.raises(InvalidInputError):
        revision.resubmit(served.app, ticket_id, as_lab("andi"), "  ", [])
    assert served.app.tickets.get(ticket_id).status.value == "deferred"
