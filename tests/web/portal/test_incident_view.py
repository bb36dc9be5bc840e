"""The CSIRT's incident view keeps the reporter's secrecy: only the roles the catalog trusts (koordinator,
CSIRT) see who reported; other staff see "[dirahasiakan]" on the list and on the ticket page; the reporter
sees their own report, and another applicant sees nothing of it."""

from __future__ import annotations

from tests.support.attachment_samples import pdf_bytes, png_bytes
from tests.support.principals import as_lab
from tests.web.portal.conftest import Served
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload


def report(served: Served) -> str:
    uploads = [AttachmentUpload(name="layar.png", media_type="image/png", content=png_bytes(), kind="tangkapan_layar"),
               AttachmentUpload(name="auth.log", media_type="text/plain", content=b"Failed password for root\n",
                                kind="log_sistem"),
               AttachmentUpload(name="ktp.pdf", media_type="application/pdf", content=pdf_bytes("KTP"),
                                kind="kartu_identitas")]
    fields = {"pelapor_nama": "Lina Marlina", "pelapor_kontak": "0812-3456-7890", "objek_terdampak": "web-disdik",
              "deskripsi": "Halaman depan diganti.", "ada_backup": "ya"}
    return desk.open_ticket(served.app, "insiden-siber", as_lab("lina"), "Situs diretas", fields, uploads).id


def test_the_reporter_is_hidden_from_all_but_the_trusted_roles(served: Served) -> None:
    ticket_id = report(served)
    rina = served.login("rina")  # CSIRT
    assert "Lina Marlina" in rina.get(f"/tiket/{ticket_id}").text
    listing = rina.get("/insiden").text
    assert ticket_id in listing and ">lina<" in listing
    kadis = served.login("kadis")  # staff, but not trusted with the reporter
    page = kadis.get(f"/tiket/{ticket_id}").text
    assert "Lina Marlina" not in page and "0812-3456-7890" not in page and "[dirahasiakan]" in page
    assert ">lina<" not in kadis.get("/insiden").text and ticket_id in kadis.get("/insiden").text
    own = served.login("lina").get(f"/tiket/{ticket_id}").text
    assert "Lina Marlina" in own and "[dirahasiakan]" not in own  # the reporter reads their own report whole
    assert served.login("budi").get(f"/tiket/{ticket_id}").status_code == 404
    refused = served.login("andi").get("/insiden")
    assert refused.status_code == 403
    # The page says what the refusal means in Bahasa Indonesia; the command's message is the technical detail.
    assert "Anda tidak berwenang melakukan tindakan ini" in refused.text and "Keterangan teknis" in refused.text
