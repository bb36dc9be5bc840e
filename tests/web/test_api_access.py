"""What each person may do and see through the API: the SOP's roles (403, audited), never approving one's
own ticket whatever the credential, one applicant never reaching another's ticket or files (IDOR), the
confidential reporter hidden, and the return / resubmit / cancel commands. Real server, real HTTP."""

from __future__ import annotations

import json

import httpx

from tests.support.attachment_samples import pdf_bytes, png_bytes
from tests.web.conftest import Front
from toolkit.domain.confidentiality import HIDDEN


def _checked(front: Front, opener: str = "andi", **fields: str) -> str:
    ticket = front.open_ticket(opener, **fields)
    with front.client("sari") as c:
        assert c.post(f"/tickets/{ticket['id']}/check").status_code == 200
    return str(ticket["id"])


def test_wrong_role_is_refused_audited_and_changes_nothing(front: Front) -> None:
    ticket_id = _checked(front)
    with front.client("rudi") as c:  # tim-pusat-data: sees the service's tickets, does not approve them
        response = c.post(f"/tickets/{ticket_id}/approve", json={"reason": "saya setujui"})
        assert response.status_code == 403 and response.json()["error"] == "permission_denied"
        assert "kepala-dinas" in response.json()["message"]
        assert c.get(f"/tickets/{ticket_id}").json()["current_step"] == "persetujuan"
    refusals = [e for e in front.audit("api.refused") if e.ticket_id == ticket_id]
    assert [(e.actor, e.data["auth"], e.data["route"]) for e in refusals] == [
        ("rudi", "token", "/tickets/{ticket_id}/approve")]
    assert not [e for e in front.audit("ticket.approve") if e.ticket_id == ticket_id]


def test_the_requester_never_approves_their_own_ticket_by_any_credential(front: Front) -> None:
    # kadis2 is both an applicant and an acting kepala dinas: only the own-ticket rule stops this.
    ticket_id = _checked(front, "kadis2")
    from tests.web.test_api_auth import _jwt

    credentials = {"token": {"Authorization": f"Bearer {front.token('kadis2')}"},
                   "oidc": {"Authorization": f"Bearer {_jwt(front, preferred_username='kadis2')}"}}
    for how, headers in credentials.items():
        response = httpx.post(f"{front.api}/tickets/{ticket_id}/approve", json={"reason": "setuju"}, headers=headers)
        assert response.status_code == 403, (how, response.text)
        assert "may not decide" in response.json()["message"]
    refusals = [e.data["auth"] for e in front.audit("api.refused") if e.ticket_id == ticket_id]
    assert sorted(refusals) == ["oidc", "token"]
    with front.client("kadis") as c:
        assert c.post(f"/tickets/{ticket_id}/approve", json={"reason": "setuju"}).status_code == 200


def test_one_applicant_never_reaches_anothers_ticket_or_files(front: Front) -> None:
    ticket_id = _checked(front, "andi")
    with front.client("andi") as c:
        own = c.get(f"/tickets/{ticket_id}").json()
        assert [a["name"] for a in own["attachments"]] == ["surat.pdf"]
        assert c.get(f"/tickets/{ticket_id}/attachments/surat.pdf").content == pdf_bytes()
    with front.client("budi") as c:
        for path in ("", "/attachments/surat.pdf", "/documents/surat.pdf", "/secrets"):
            response = c.get(f"/tickets/{ticket_id}{path}")
            assert response.status_code == 404, (path, response.text)
            assert response.json()["message"].startswith(f"no ticket {ticket_id}")
        for verb, body in (("comments", {"text": "halo"}), ("cancel", {"reason": "batal"})):
            assert c.post(f"/tickets/{ticket_id}/{verb}", json=body).status_code == 404
        assert ticket_id not in {t["id"] for t in c.get("/tickets", params={"limit": 500}).json()["items"]}
        assert c.get("/jobs").status_code == 403  # an applicant reads no jobs
        assert c.get("/tickets", params={"text": ticket_id}).json()["total"] == 0
        missing = c.get("/tickets/SPBE-2099-99999")
        assert missing.status_code == 404  # absent and forbidden answer alike
    assert [e.actor for e in front.audit("ticket.view_refused") if e.ticket_id == ticket_id][:1] == ["budi"]


def test_the_confidential_reporter_stays_hidden_from_others(front: Front) -> None:
    ticket_id = _checked(front, "andi", pelapor_nama="Andi Pelapor Rahasia")
    with front.client("kadis") as c:  # approves it, but the SOP does not trust the kepala dinas with the reporter
        seen = c.get(f"/tickets/{ticket_id}")
        assert seen.status_code == 200
        assert "Andi Pelapor Rahasia" not in seen.text and '"andi"' not in seen.text
        body = seen.json()
        assert body["ticket"]["requester"] == HIDDEN and body["fields"]["pelapor_nama"] == HIDDEN
        assert body["attachments"] == []  # the reporter's upload would name them
        assert c.get(f"/tickets/{ticket_id}/attachments/surat.pdf").status_code == 404
        listed = c.get("/tickets", params={"text": ticket_id}).json()["items"]
        assert [t["requester"] for t in listed] == [HIDDEN]
    with front.client("sari") as c:  # the koordinator sees confidential reports
        assert c.get(f"/tickets/{ticket_id}").json()["fields"]["pelapor_nama"] == "Andi Pelapor Rahasia"


def test_return_for_revision_then_resubmit_then_check(front: Front) -> None:
    ticket = front.open_ticket("andi")
    url = f"/tickets/{ticket['id']}"
    with front.client("sari") as c:
        bad = c.post(url + "/return", json={"missing": ["tidak_ada"], "note": "lengkapi"})
        assert bad.status_code == 400 and bad.json()["fields"][0]["field"] == "missing"
        returned = c.post(url + "/return", json={"missing": ["surat_permohonan"], "note": "Surat belum ditandatangani"})
        assert returned.status_code == 200 and returned.json()["status"] == "deferred"
    with front.client("budi") as c:
        assert c.post(url + "/resubmit", data={"note": "x"}).status_code == 404
    with front.client("andi") as c:
        wrong = c.post(url + "/resubmit", data={"note": "sudah", "kinds": ["surat_permohonan"]},
                       files=[("files", ("surat2.pdf", png_bytes(), "application/pdf"))])
        assert wrong.status_code == 400 and wrong.json()["fields"][0]["field"] == "surat_permohonan"
        assert c.get(url).json()["ticket"]["status"] == "deferred"
        done = c.post(url + "/resubmit", data={"note": "Surat sudah ditandatangani", "kinds": ["surat_permohonan"]},
                      files=[("files", ("surat2.pdf", pdf_bytes(), "application/pdf"))])
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "open"
        assert c.post(url + "/resubmit", data={"note": "lagi"}).status_code == 409
        shown = c.get(url).json()
        assert {a["name"] for a in shown["attachments"]} == {"surat.pdf", "surat2.pdf"}
        assert any("dikembalikan" in e["text"] for e in shown["timeline"])
    with front.client("sari") as c:
        assert c.post(url + "/check").status_code == 200


def test_cancel_before_approval_only(front: Front) -> None:
    ticket = front.open_ticket("andi")
    with front.client("andi") as c:
        assert c.post(f"/tickets/{ticket['id']}/cancel", json={"reason": " "}).status_code == 400
        cancelled = c.post(f"/tickets/{ticket['id']}/cancel", json={"reason": "Tidak jadi"})
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "closed"
    approved = _checked(front, "andi")
    with front.client("kadis") as c:
        assert c.post(f"/tickets/{approved}/approve", json={"reason": "setuju"}).status_code == 200
    with front.client("andi") as c:
        late = c.post(f"/tickets/{approved}/cancel", json={"reason": "Tidak jadi"})
        assert late.status_code == 409 and late.json()["error"] == "conflict"


def test_approval_starts_the_work_and_staff_see_the_job(front: Front) -> None:
    ticket_id = _checked(front)
    with front.client("kadis") as c:
        assert c.post(f"/tickets/{ticket_id}/approve", json={"reason": "setuju"}).status_code == 200
    with front.client("sari") as c:
        jobs = c.get("/jobs", params={"ticket": ticket_id}).json()
        assert [(j["step_id"], j["state"]) for j in jobs] == [("aksi-pertama", "queued")]
        assert c.get(f"/jobs/{jobs[0]['id']}/logs").status_code == 200
    with front.client("andi") as c:
        assert c.get(f"/jobs/{jobs[0]['id']}").status_code == 403


def test_invalid_input_names_the_field(front: Front) -> None:
    with front.client("andi") as c:
        response = c.post("/tickets", data={"service": "uji-web", "title": "x", "fields": json.dumps({"instansi": ""}),
                                            "kinds": ["surat_permohonan"]},
                          files=[("files", ("surat.pdf", pdf_bytes(), "application/pdf"))])
        assert response.status_code == 400 and any("instansi" in f["field"] for f in response.json()["fields"])
        assert c.post("/tickets/X/approve", json={"reason": 5}).status_code == 400
        assert c.post("/tickets/X/approve", json={"reason": "a", "extra": 1}).json()["fields"][0]["field"] == "extra"
