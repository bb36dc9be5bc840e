"""The private Redmine the service-desk adapter is tested against (tests/fixtures/redmine.py): what the
provisioning promises, checked over Redmine's REST API with nothing of ours in between.

The adapter relies on these: the project is private and refuses anyone without a valid key (Redmine answers
200 to anonymous requests on a public project when login is not required), every person acts with their
own key, custom fields travel with an issue, a status moves only along the role's workflow, notes and
status changes come back as journals, and an uploaded file is attached and downloads unchanged.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import requests

from lab.redmine_spec import (
    APPROVED,
    CHECKED,
    INSTANSI,
    LAYANAN,
    NEW,
    PEOPLE,
    SPESIFIKASI,
    RedmineHandle,
)

pytestmark = [pytest.mark.redmine, pytest.mark.slow]
TIMEOUT = 30


def _issue(redmine: RedmineHandle, issue_id: int, login: str = "spbe", include: str = "") -> dict[str, Any]:
    params = {"include": include} if include else {}
    response = requests.get(f"{redmine.base_url}/issues/{issue_id}.json", params=params,
                            headers=redmine.headers(login), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    issue: dict[str, Any] = response.json()["issue"]
    return issue


def _update(redmine: RedmineHandle, issue_id: int, login: str, **fields: Any) -> requests.Response:
    return requests.put(f"{redmine.base_url}/issues/{issue_id}.json", json={"issue": fields},
                        headers=redmine.headers(login), timeout=TIMEOUT)


def _create(redmine: RedmineHandle, login: str, subject: str, **fields: Any) -> int:
    body = {"project_id": redmine.project_id, "tracker_id": redmine.trackers["Support"], "subject": subject, **fields}
    response = requests.post(f"{redmine.base_url}/issues.json", json={"issue": body},
                             headers=redmine.headers(login), timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return int(response.json()["issue"]["id"])


def test_every_key_acts_as_its_own_person(redmine: RedmineHandle) -> None:
    assert set(redmine.users) == {login for login, *_ in PEOPLE} | {"admin"}
    assert len({user.api_key for user in redmine.users.values()}) == len(redmine.users)
    for login, user in redmine.users.items():
        response = requests.get(f"{redmine.base_url}/users/current.json", headers=redmine.headers(login),
                                timeout=TIMEOUT)
        assert response.status_code == 200
        assert (response.json()["user"]["login"], response.json()["user"]["id"]) == (login, user.id)
    assert redmine.api_key("andi") not in repr(redmine)  # keys stay out of reprs (and so out of test reports)


@pytest.mark.parametrize("headers", [{}, {"X-Redmine-API-Key": "0" * 40}], ids=["anonymous", "bad-key"])
@pytest.mark.parametrize("path", ["/projects/spbe-uji.json", "/issues.json?project_id=spbe-uji",
                                  "/users/current.json", "/projects.json"])
def test_the_private_project_refuses_anyone_without_a_valid_key(redmine: RedmineHandle, headers: dict[str, str],
                                                                path: str) -> None:
    response = requests.get(redmine.base_url + path, headers=headers, timeout=TIMEOUT)
    assert response.status_code in {401, 403}, (response.status_code, response.text[:200])


def test_the_project_is_private_and_everyone_is_a_member(redmine: RedmineHandle) -> None:
    project = requests.get(f"{redmine.base_url}/projects/{redmine.project_identifier}.json",
                           params={"include": "trackers"}, headers=redmine.headers("admin"), timeout=TIMEOUT)
    assert project.status_code == 200
    assert project.json()["project"]["is_public"] is False
    assert {t["id"] for t in project.json()["project"]["trackers"]} == set(redmine.trackers.values())
    members = requests.get(f"{redmine.base_url}/projects/{redmine.project_id}/memberships.json",
                           headers=redmine.headers("admin"), timeout=TIMEOUT).json()["memberships"]
    roles = {m["user"]["name"].split()[0].lower(): {r["name"] for r in m["roles"]} for m in members}
    assert roles["andi"] == {"Pemohon"} and roles["sari"] == {"Koordinator Layanan"}
    assert roles["bambang"] == {"Kepala Dinas"} and roles["bot"] == {"Bot SPBE"}


def test_an_issue_goes_through_the_sop_with_notes_status_changes_and_an_attachment(redmine: RedmineHandle) -> None:
    fields = redmine.custom_fields
    custom = [{"id": fields[LAYANAN], "value": "pusat-data"}, {"id": fields[INSTANSI], "value": "Dinas Kesehatan"},
              {"id": fields[SPESIFIKASI], "value": "2 vCPU, 4 GB RAM\nDebian 12"}]
    issue_id = _create(redmine, "andi", "Permohonan server aplikasi SIMPUS", description="Untuk puskesmas.",
                       custom_fields=custom)
    created = _issue(redmine, issue_id)
    assert created["author"]["id"] == redmine.users["andi"].id and created["status"]["id"] == redmine.statuses[NEW]
    assert {f["name"]: f["value"] for f in created["custom_fields"] if f["value"]} == {
        LAYANAN: "pusat-data", INSTANSI: "Dinas Kesehatan", SPESIFIKASI: "2 vCPU, 4 GB RAM\nDebian 12"}

    # The applicant cannot approve: not on Pemohon's workflow, so Redmine leaves the status as it was.
    refused = _update(redmine, issue_id, "andi", status_id=redmine.statuses[APPROVED])
    assert refused.status_code in {204, 422}, refused.text
    assert _issue(redmine, issue_id)["status"]["id"] == redmine.statuses[NEW]

    checked = _update(redmine, issue_id, "sari", notes="Berkas lengkap, diteruskan ke Kepala Dinas.",
                      status_id=redmine.statuses[CHECKED])
    assert checked.status_code == 204, checked.text
    approved = _update(redmine, issue_id, "kadis", status_id=redmine.statuses[APPROVED], notes="Disetujui.")
    assert approved.status_code == 204, approved.text

    content = b"%PDF-1.4\n% berita acara uji\n" + secrets.token_bytes(64)
    upload = requests.post(f"{redmine.base_url}/uploads.json", params={"filename": "berita-acara.pdf"},
                           data=content, timeout=TIMEOUT,
                           headers={**redmine.headers("spbe"), "Content-Type": "application/octet-stream"})
    assert upload.status_code == 201, upload.text
    token = upload.json()["upload"]["token"]
    attached = _update(redmine, issue_id, "spbe", notes="Berita acara terlampir.", uploads=[
        {"token": token, "filename": "berita-acara.pdf", "content_type": "application/pdf"}])
    assert attached.status_code == 204, attached.text

    issue = _issue(redmine, issue_id, include="journals,attachments")
    assert issue["status"]["id"] == redmine.statuses[APPROVED]
    journals = [(j["user"]["id"], j["notes"], [(d["name"], d.get("old_value"), d.get("new_value"))
                                               for d in j["details"] if d["property"] == "attr"])
                for j in issue["journals"]]
    status = str
    assert journals == [
        (redmine.users["sari"].id, "Berkas lengkap, diteruskan ke Kepala Dinas.",
         [("status_id", status(redmine.statuses[NEW]), status(redmine.statuses[CHECKED]))]),
        (redmine.users["kadis"].id, "Disetujui.",
         [("status_id", status(redmine.statuses[CHECKED]), status(redmine.statuses[APPROVED]))]),
        (redmine.users["spbe"].id, "Berita acara terlampir.", []),
    ]
    assert [d["property"] for d in issue["journals"][-1]["details"]] == ["attachment"]
    [attachment] = issue["attachments"]
    assert (attachment["filename"], attachment["filesize"], attachment["author"]["id"]) == (
        "berita-acara.pdf", len(content), redmine.users["spbe"].id)
    download = requests.get(attachment["content_url"], headers=redmine.headers("sari"), timeout=TIMEOUT)
    assert download.status_code == 200 and download.content == content
    anonymous = requests.get(attachment["content_url"], timeout=TIMEOUT, allow_redirects=False)
    assert anonymous.status_code in {302, 401, 403} and content not in anonymous.content  # 302: to the login page


def test_an_applicant_sees_only_their_own_issues(redmine: RedmineHandle) -> None:
    """Pemohon's issue visibility is ``own``: andi cannot read what tamu filed; the koordinator can."""
    issue_id = _create(redmine, "tamu", "Permohonan dari orang yang tidak dikenal spbe")
    hidden = requests.get(f"{redmine.base_url}/issues/{issue_id}.json", headers=redmine.headers("andi"),
                          timeout=TIMEOUT)
    assert hidden.status_code in {403, 404}
    assert _issue(redmine, issue_id, login="sari")["author"]["id"] == redmine.users["tamu"].id
