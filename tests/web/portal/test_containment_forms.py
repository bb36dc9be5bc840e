"""The CSIRT's containment page without the lab: every field is judged by the same request models as
``spbe contain`` (the error next to its input, the refusal audited, nothing touched), and the service's
own refusals (not the CSIRT, an unverified incident, an incident forwarded to another member) are shown
on the page with their status. The full isolation against the lab is `test_containment_lab`."""

from __future__ import annotations

from tests.support.principals import as_lab
from tests.web.portal.conftest import Served, add_accounts, csrf_of
from tests.web.portal.test_incident_view import report
from tests.web.portal.test_steps import error_of
from toolkit.commands import desk
from toolkit.containment.service import ContainmentService


def refusals(served: Served, ticket_id: str) -> list[str]:
    return [e.action for e in served.app.audit.entries(ticket_id) if e.action.endswith(".refused")]


def test_fields_are_validated_by_the_request_models_and_errors_sit_next_to_them(served: Served) -> None:
    ticket_id = report(served)
    rina = served.login("rina")
    page = rina.get(f"/tiket/{ticket_id}/penahanan")
    assert page.status_code == 200 and "Isolasi host" in page.text and "Karantina port switch" in page.text
    token = csrf_of(page.text)
    url = f"/tiket/{ticket_id}/penahanan"
    bad_host = rina.post(f"{url}/host", data={"csrf": token, "host": "web disdik;reboot",
                                              "management_cidrs": "10.0.0.300/24", "reason": "uji"})
    assert bad_host.status_code == 400
    assert "not a valid inventory host name" in error_of(bad_host.text, "h-host-nama")
    assert "not a network address" in error_of(bad_host.text, "h-host-cidr")
    assert 'value="web disdik;reboot"' in bad_host.text  # what was typed is kept (escaped)
    bad_port = rina.post(f"{url}/port", data={"csrf": token, "device": "sw-core", "interface": "Gi0/1;shutdown",
                                              "mode": "hapus", "vlan": "9999"})
    assert bad_port.status_code == 400
    for input_id in ("p-antarmuka", "p-mode", "p-vlan"):
        assert error_of(bad_port.text, input_id)
    bad_access = rina.post(f"{url}/akses", data={"csrf": token, "accounts": "root, Budi!"})
    assert bad_access.status_code == 400 and "local account name" in error_of(bad_access.text, "a-akun")
    assert refusals(served, ticket_id) == ["containment.isolate_host.refused", "containment.quarantine_port.refused",
                                           "containment.access.refused"]
    assert ContainmentService(served.app).list(ticket_id) == []  # nothing touched


def test_the_service_refuses_what_the_policy_does_not_allow(served: Served) -> None:
    ticket_id = report(served)
    add_accounts(served.app, served.accounts, ("hendra",))
    lina, andi, rina = served.login("lina"), served.login("andi"), served.login("rina")
    assert lina.get(f"/tiket/{ticket_id}/penahanan").status_code == 403  # the reporter is not the CSIRT
    forged = lina.post(f"/tiket/{ticket_id}/penahanan/host", data={"csrf": csrf_of(lina.get("/tiket").text),
                                                                   "host": "web-disdik"})
    assert forged.status_code == 403
    assert andi.get(f"/tiket/{ticket_id}/penahanan").status_code == 404  # another applicant: not even seen
    token = csrf_of(rina.get(f"/tiket/{ticket_id}/penahanan").text)
    unverified = rina.post(f"/tiket/{ticket_id}/penahanan/host", data={"csrf": token, "host": "web-disdik"})
    assert unverified.status_code == 409 and "not verified as an incident" in unverified.text
    desk.assign(served.app, ticket_id, as_lab("sari"), "hendra")
    forwarded = rina.post(f"/tiket/{ticket_id}/penahanan/host", data={"csrf": token, "host": "web-disdik"})
    assert forwarded.status_code == 403 and "forwarded to hendra" in forwarded.text
    assert ContainmentService(served.app).list(ticket_id) == []


def test_the_containment_link_is_only_for_the_csirt(served: Served) -> None:
    ticket_id = report(served)
    link = f"/tiket/{ticket_id}/penahanan"
    assert link in served.login("rina").get(f"/tiket/{ticket_id}").text
    assert link not in served.login("sari").get(f"/tiket/{ticket_id}").text
    assert link not in served.login("lina").get(f"/tiket/{ticket_id}").text
