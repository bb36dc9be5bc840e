"""The koordinator finds a report is not an incident from the portal's decision page (seed 000 step 2): the form
is there only for the verification step's role, another role's post is refused, a blank or template-laden
reason changes nothing, and the ticket is closed with the reporter told."""

from __future__ import annotations

from tests.web.portal.conftest import Served, csrf_of
from tests.web.portal.test_incident_view import report
from toolkit.commands.incident import UNVERIFIED


def test_the_decision_page_closes_a_report_as_not_verified(served: Served) -> None:
    ticket_id = report(served)
    sari, rina = served.login("sari"), served.login("rina")
    page = sari.get(f"/persetujuan/{ticket_id}").text
    assert "Tidak terverifikasi" in page and "/tidak-terverifikasi" in page
    assert "/tidak-terverifikasi" not in rina.get(f"/persetujuan/{ticket_id}").text
    url = f"/tiket/{ticket_id}/tidak-terverifikasi"
    before = len(served.app.tickets.timeline(ticket_id))
    forged = rina.post(url, data={"csrf": csrf_of(rina.get("/tiket").text), "alasan": "Bukan insiden."})
    assert forged.status_code == 403
    for bad in ("   ", "{{ 7*7 }}"):
        refused = sari.post(url, data={"csrf": csrf_of(page), "alasan": bad})
        assert refused.status_code == 400
    assert len(served.app.tickets.timeline(ticket_id)) == before
    done = sari.post(url, data={"csrf": csrf_of(page), "alasan": "Pemeliharaan terjadwal, bukan peretasan."})
    assert done.status_code == 303 and done.headers["location"].endswith("?ok=tidak-terverifikasi")
    assert served.app.tickets.get(ticket_id).status.value == "closed"
    assert [e for e in served.app.tickets.timeline(ticket_id) if UNVERIFIED in e.data]
    assert "/tidak-terverifikasi" not in sari.get(f"/persetujuan/{ticket_id}").text
