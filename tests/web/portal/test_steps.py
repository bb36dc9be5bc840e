"""The human steps that were CLI-only, as portal forms over real HTTP: record a step with a note, a branch
decision, close at the closing step, forward, cancel.

Each form is drawn only for whom the policy allows, but the server never relies on that: a forged POST by
the wrong role is refused by the command (403) and the ticket is unchanged. Bad input comes back as the
ticket's page (400) with the problem next to its input and what was typed kept.
"""

from __future__ import annotations

import re

from tests.support.principals import as_lab
from tests.web.portal.conftest import PDF, Served, add_accounts, csrf_of
from tests.web.portal.test_incident_view import report
from tests.web.portal.test_security import open_ticket
from toolkit.commands import desk
from toolkit.domain import decisions
from toolkit.domain.tickets.models import AttachmentUpload


def error_of(html: str, input_id: str) -> str:
    """The text of the error paragraph an input points at (``aria-describedby``)."""
    match = re.search(rf'id="{re.escape(input_id)}"[^>]*aria-invalid="true" aria-describedby="([^"]+)"', html)
    assert match, f"{input_id} is not marked invalid"
    found = re.search(rf'id="{match.group(1)}">([^<]*)<', html)
    assert found
    return found.group(1)


def security_report(served: Served) -> str:
    """A Keamanan Informasi report, received by the Kepala Bidang (the SOP's first step is theirs)."""
    add_accounts(served.app, served.accounts, ("kabid", "hendra"))
    fields = {"pelapor_nama": "Lina Marlina", "pelapor_kontak": "0812-1", "instansi": "Dinas Pendidikan",
              "objek_terdampak": "web-disdik", "deskripsi": "Login admin dicoba berulang."}
    pdf = AttachmentUpload(name="surat.pdf", media_type="application/pdf", content=PDF, kind="surat_permohonan")
    return desk.open_ticket(served.app, "keamanan-informasi", as_lab("kabid"), "Percobaan login", fields, [pdf]).id


def approved(served: Served) -> str:
    ticket_id = open_ticket(served)
    desk.check(served.app, ticket_id, as_lab("sari"))
    desk.approve(served.app, ticket_id, as_lab("kadis"), "Disetujui.")
    served.run_engine(ticket_id)
    return ticket_id


def test_record_a_human_step_with_a_note_only_by_its_role(served: Served) -> None:
    ticket_id = security_report(served)  # opening is row 2; row 3 (the Analis's) is current
    kabid, hendra = served.login("kabid"), served.login("hendra")
    page = hendra.get(f"/tiket/{ticket_id}").text
    assert "Catat langkah selesai" in page
    assert "Catat langkah selesai" not in kabid.get(f"/tiket/{ticket_id}").text
    before = len(served.app.tickets.timeline(ticket_id))
    forged = kabid.post(f"/tiket/{ticket_id}/langkah", data={"csrf": csrf_of(kabid.get("/tiket").text),
                                                             "step": "tindak-lanjut-laporan", "note": "Bukan saya."})
    assert forged.status_code == 403
    blank = hendra.post(f"/tiket/{ticket_id}/langkah", data={"csrf": csrf_of(page), "step": "tindak-lanjut-laporan",
                                                             "note": "   "})
    assert blank.status_code == 400 and error_of(blank.text, "catatan-langkah") == "Wajib diisi."
    assert len(served.app.tickets.timeline(ticket_id)) == before  # nothing recorded
    done = hendra.post(f"/tiket/{ticket_id}/langkah", data={"csrf": csrf_of(page), "step": "tindak-lanjut-laporan",
                                                            "note": "Log server diperiksa bersama Sandiman."})
    assert done.status_code == 303 and done.headers["location"].endswith("?ok=langkah-selesai")
    last = served.app.tickets.timeline(ticket_id)[-1]
    assert last.kind.value == "step_completed" and last.step_id == "tindak-lanjut-laporan" and last.actor == "hendra"
    again = hendra.post(f"/tiket/{ticket_id}/langkah", data={"csrf": csrf_of(page), "step": "tindak-lanjut-laporan",
                                                             "note": "Dua kali."})
    assert again.status_code == 409  # no longer the current step


def test_a_branch_decision_from_the_catalog_fields(served: Served) -> None:
    ticket_id = security_report(served)
    hendra, kabid = served.login("hendra"), served.login("kabid")
    page = hendra.get(f"/tiket/{ticket_id}").text
    assert "Keputusan: Menentukan apakah laporan merupakan insiden security" in page
    assert '<option value="keamanan" selected>' in page  # the effective value is preselected
    url = f"/tiket/{ticket_id}/putuskan/penentuan-jenis-insiden"
    bad = hendra.post(url, data={"csrf": csrf_of(page), "jenis_insiden": "rahasia", "reason": "Cek."})
    assert bad.status_code == 400 and "keamanan" in error_of(bad.text, "putuskan-penentuan-jenis-insiden-jenis_insiden")
    no_reason = hendra.post(url, data={"csrf": csrf_of(page), "jenis_insiden": "umum", "reason": ""})
    assert no_reason.status_code == 400
    assert error_of(no_reason.text, "putuskan-penentuan-jenis-insiden-alasan") == "Wajib diisi."
    assert '<option value="umum" selected>' in no_reason.text  # what was chosen is kept
    forged = kabid.post(url, data={"csrf": csrf_of(kabid.get("/tiket").text), "jenis_insiden": "umum",
                                   "reason": "Saya yang memutuskan."})
    assert forged.status_code == 403
    timeline = served.app.tickets.timeline(ticket_id)
    assert decisions.effective_fields(served.app.tickets.get(ticket_id).fields, timeline)["jenis_insiden"] == "keamanan"
    ok = hendra.post(url, data={"csrf": csrf_of(page), "jenis_insiden": "umum", "reason": "Bukan serangan."})
    assert ok.status_code == 303
    timeline = served.app.tickets.timeline(ticket_id)
    assert decisions.effective_fields(served.app.tickets.get(ticket_id).fields, timeline)["jenis_insiden"] == "umum"


def test_the_koordinator_closes_at_the_closing_step(served: Served) -> None:
    ticket_id = open_ticket(served)
    sari = served.login("sari")
    assert "Tutup tiket" not in sari.get(f"/tiket/{ticket_id}").text  # not the closing step yet
    early = sari.post(f"/tiket/{ticket_id}/tutup", data={"csrf": csrf_of(sari.get("/tiket").text), "note": "x"})
    assert early.status_code == 409 and served.app.tickets.get(ticket_id).status.value == "open"
    ticket_id = approved(served)
    andi = served.login("andi")
    assert "Tutup tiket" not in andi.get(f"/tiket/{ticket_id}").text
    forged = andi.post(f"/tiket/{ticket_id}/tutup", data={"csrf": csrf_of(andi.get("/tiket").text), "note": "x"})
    assert forged.status_code == 403 and served.app.tickets.get(ticket_id).status.value != "closed"
    page = sari.get(f"/tiket/{ticket_id}").text
    assert "Tutup tiket" in page
    done = sari.post(f"/tiket/{ticket_id}/tutup", data={"csrf": csrf_of(page), "note": "Server sudah dipakai."})
    assert done.status_code == 303 and served.app.tickets.get(ticket_id).status.value == "closed"


def test_forward_an_incident_to_a_csirt_member(served: Served) -> None:
    ticket_id = report(served)
    add_accounts(served.app, served.accounts, ("hendra",))
    sari, lina = served.login("sari"), served.login("lina")
    page = sari.get(f"/tiket/{ticket_id}").text
    assert "Teruskan kepada petugas" in page and 'value="rina"' in page and 'value="andi"' not in page
    unknown = sari.post(f"/tiket/{ticket_id}/tugaskan", data={"csrf": csrf_of(page), "assignee": "siapa"})
    assert unknown.status_code == 400 and error_of(unknown.text, "petugas") == "Bukan pengguna terdaftar."
    forged = lina.post(f"/tiket/{ticket_id}/tugaskan", data={"csrf": csrf_of(lina.get("/tiket").text),
                                                             "assignee": "rina"})
    assert forged.status_code == 403 and served.app.tickets.get(ticket_id).assignee is None
    assert sari.post(f"/tiket/{ticket_id}/tugaskan",
                     data={"csrf": csrf_of(page), "assignee": "hendra"}).status_code == 303
    assert served.app.tickets.get(ticket_id).assignee == "hendra"


def test_cancel_before_the_approval_only(served: Served) -> None:
    ticket_id = open_ticket(served)
    andi, budi = served.login("andi"), served.login("budi")
    page = andi.get(f"/tiket/{ticket_id}").text
    assert "Batalkan permohonan" in page
    assert budi.post(f"/tiket/{ticket_id}/batalkan", data={"csrf": csrf_of(budi.get("/tiket").text),
                                                           "reason": "x"}).status_code == 404
    blank = andi.post(f"/tiket/{ticket_id}/batalkan", data={"csrf": csrf_of(page), "reason": ""})
    assert blank.status_code == 400 and error_of(blank.text, "alasan-batal") == "Wajib diisi."
    assert andi.post(f"/tiket/{ticket_id}/batalkan",
                     data={"csrf": csrf_of(page), "reason": "Tidak jadi."}).status_code == 303
    assert served.app.tickets.get(ticket_id).status.value == "closed"
    later = approved(served)
    assert "Batalkan permohonan" not in andi.get(f"/tiket/{later}").text
    assert andi.post(f"/tiket/{later}/batalkan", data={"csrf": csrf_of(page), "reason": "x"}).status_code == 409
