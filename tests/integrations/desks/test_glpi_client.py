"""`GlpiDesk` against the fake GLPI (`lab.glpi_fake`, which follows GLPI's documented REST API; GLPI itself is
not installable here). People act through the API with their own user tokens; the client logs in as ``spbe``.

The behaviours are the DeskClient contract's (issue read, ordered changes with accounts, same-second
``updated_since`` not lost, idempotent writes by marker, errors by meaning), written against the ``desk`` and
``glpi`` fixtures only so they can move into the shared contract suite; the GLPI specifics (session re-init,
Content-Range paging, error arrays, forged markers) stay here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from integrations.desks.glpi import GlpiDesk, GlpiOptions
from lab.glpi_fake import GlpiFake
from tests.toolkit.test_settings_secrets import leaks
from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError, UnavailableError
from toolkit.ports.desk import DeskClient
from toolkit.settings import Settings, load_settings

USER_CANARY = "CANARY-glpi-user-token-7d41c2"  # noqa: S105 - canaries, searched for everywhere below
APP_CANARY = "CANARY-glpi-app-token-e09a5b"  # noqa: S105
DISKOMINFO, PENDIDIKAN = "Root entity > Diskominfo", "Root entity > Dinas Pendidikan"
KADIS_ID = 7


@pytest.fixture
def glpi() -> Iterator[GlpiFake]:
    with GlpiFake() as fake:
        fake.store.app_token = APP_CANARY
        fake.store.user_by_login("spbe")["api_token"] = USER_CANARY
        yield fake


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "user").write_text(USER_CANARY, encoding="utf-8")
    (tmp_path / "app").write_text(APP_CANARY, encoding="utf-8")
    return load_settings(state_dir=tmp_path / "state", secrets={
        "glpi_user_token": {"ref": f"file:{tmp_path / 'user'}"}, "glpi_app_token": {"ref": f"file:{tmp_path / 'app'}"}})


def make_desk(glpi: GlpiFake, settings: Settings, **options: object) -> GlpiDesk:
    """Built the way the desk hub builds a client: every option through the schema, then the constructor."""
    raw = {"base_url": glpi.url, "user_token_secret": "glpi_user_token", "app_token_secret": "glpi_app_token",
           **options}
    return GlpiDesk(settings, name="glpi", **dict(GlpiOptions.model_validate(raw)))


@pytest.fixture
def desk(glpi: GlpiFake, settings: Settings) -> Iterator[GlpiDesk]:
    client = make_desk(glpi, settings)
    yield client
    client.close()


def open_request(glpi: GlpiFake, name: str = "Permohonan VM", entity: int = 1) -> str:
    return str(glpi.person("andi").create_ticket(name, "<p>Mohon <b>VM</b> 2 vCPU &amp; 4 GB</p>", entity=entity))


def paths(glpi: GlpiFake, method: str = "GET") -> list[str]:
    return [path for m, path, _ in glpi.calls if m == method]


# ---------------------------------------------------------------------- the port's behaviours


def test_issue_is_read_with_glpi_names(desk: GlpiDesk, glpi: GlpiFake) -> None:
    assert isinstance(desk, DeskClient)
    key = open_request(glpi)
    glpi.person("andi").upload(int(key), "spesifikasi.txt", b"cpu=2")
    issue = desk.issue(key)
    assert (issue.key, issue.project, issue.tracker, issue.subject) == (key, DISKOMINFO, "Pusat Data", "Permohonan VM")
    assert issue.description == "Mohon VM 2 vCPU & 4 GB"  # rich text as plain text
    assert (issue.author, issue.status, issue.attachments) == ("andi", "new", ("spesifikasi.txt",))
    assert issue.fields["type"] == "request" and issue.fields["entity"] == DISKOMINFO
    assert issue.url is not None and issue.url.endswith(f"/front/ticket.form.php?id={key}")
    assert issue.updated_at.tzinfo is not None


def test_unknown_issue_is_not_found(desk: GlpiDesk) -> None:
    for key in ("999", "abc"):
        with pytest.raises(NotFoundError):
            desk.issue(key)
    with pytest.raises(NotFoundError):
        desk.changes("999")


def test_changes_are_ordered_with_accounts(desk: GlpiDesk, glpi: GlpiFake) -> None:
    glpi.clock.freeze(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    key = open_request(glpi)
    andi, sari, kadis = glpi.person("andi"), glpi.person("sari"), glpi.person("kadis")
    glpi.clock.tick()
    andi.add_followup(int(key), "Lampiran menyusul")
    glpi.clock.tick()
    sari.set_status(int(key), "processing")
    glpi.clock.tick()
    first = sari.request_validation(int(key), KADIS_ID, "Mohon persetujuan")
    glpi.clock.tick()
    kadis.answer_validation(first, accepted=False, comment="Lengkapi spesifikasi")
    glpi.clock.tick()
    second = sari.request_validation(int(key), KADIS_ID)
    glpi.clock.tick()
    kadis.answer_validation(second, accepted=True)
    changes = desk.changes(key)
    assert [(c.id, c.account) for c in changes] == [
        ("f1", "andi"), ("s1002", "sari"), (f"v{first}:waiting", "sari"), (f"v{first}:refused", "kadis"),
        (f"v{second}:waiting", "sari"), (f"v{second}:accepted", "kadis")]
    assert changes[0].note == "Lampiran menyusul"
    assert (changes[1].status_from, changes[1].status_to) == ("new", "processing")
    assert changes[2].field_changes == {"validator": (None, "kadis")}
    assert [c.validation for c in changes[2:]] == ["waiting", "refused", "waiting", "accepted"]
    assert changes[3].note == "Lengkapi spesifikasi"
    assert all(c.marker is None for c in changes)  # people wrote these, not spbe
    assert [c.at for c in changes] == sorted(c.at for c in changes)


def test_updated_since_sees_the_same_second_again(desk: GlpiDesk, glpi: GlpiFake) -> None:
    """The lost-record bug (servicenow.itsm#502): a record written in the second of the last poll."""
    second = glpi.clock.freeze(datetime(2026, 3, 2, 8, 0, 5)).replace(tzinfo=UTC)
    glpi.clock.tick(-1)
    before = open_request(glpi, "Sebelumnya")
    glpi.clock.freeze(second)
    first = open_request(glpi, "Pertama")
    seen = desk.updated_since(second, (DISKOMINFO,))
    assert [i.key for i in seen] == [first]
    cursor = max(i.updated_at for i in seen)
    late = open_request(glpi, "Terlambat, detik yang sama")
    assert [i.key for i in desk.updated_since(cursor, (DISKOMINFO,))] == [first, late]
    assert before not in [i.key for i in desk.updated_since(cursor, (DISKOMINFO,))]


def test_updated_since_is_oldest_first_limited_and_per_project(desk: GlpiDesk, glpi: GlpiFake) -> None:
    glpi.clock.freeze(datetime(2026, 3, 2, 9, 0))
    keys = []
    for n in range(4):
        keys.append(open_request(glpi, f"T{n}"))
        glpi.clock.tick()
    other = open_request(glpi, "Dinas lain", entity=2)
    glpi.clock.tick()
    glpi.person("andi").add_followup(int(keys[0]), "naik ke atas")  # keys[0] becomes the newest
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert [i.key for i in desk.updated_since(start, (DISKOMINFO,))] == keys[1:] + keys[:1]
    assert [i.key for i in desk.updated_since(start, (DISKOMINFO,), limit=2)] == keys[1:3]
    assert [i.key for i in desk.updated_since(start, (PENDIDIKAN,))] == [other]
    assert len(desk.updated_since(start, (DISKOMINFO, PENDIDIKAN))) == 5
    assert desk.updated_since(start, ()) == []  # no project named, none read
    with pytest.raises(ConfigurationError, match="no entity"):
        desk.updated_since(start, ("Dinas Tidak Ada",))


def test_writes_are_idempotent_by_marker(desk: GlpiDesk, glpi: GlpiFake) -> None:
    glpi.clock.freeze()  # one second apart: GLPI orders nothing across its tables within one second
    key = open_request(glpi)
    note = desk.add_note(key, "Permohonan diterima.\nSedang diperiksa.", marker="ob-1")
    assert desk.add_note(key, "Permohonan diterima.", marker="ob-1") == note
    glpi.clock.tick()
    doc = desk.attach(key, "berita-acara.pdf", "application/pdf", b"%PDF-1.4 ba", marker="ob-2")
    assert desk.attach(key, "berita-acara.pdf", "application/pdf", b"%PDF-1.4 ba", marker="ob-2") == doc
    glpi.clock.tick()
    status = desk.set_status(key, "solved", marker="ob-3", note="Selesai.")
    assert desk.set_status(key, "solved", marker="ob-3") == status
    assert (desk.find_marker(key, "ob-1"), desk.find_marker(key, "ob-2"), desk.find_marker(key, "ob-3")) == (
        note, doc, status)
    assert desk.find_marker(key, "ob-4") is None
    assert len(glpi.store.items["ITILFollowup"]) == 2 and len(glpi.store.items["Document"]) == 1
    mine = [c for c in desk.changes(key) if c.marker]
    assert [(c.id, c.account, c.marker) for c in mine] == [
        (note, "spbe", "ob-1"), (doc, "spbe", "ob-2"), (status, "spbe", "ob-3")]
    assert mine[0].note == "Permohonan diterima.\nSedang diperiksa."  # the marker line is not part of the note
    assert (mine[2].status_from, mine[2].status_to, mine[2].note) == ("new", "solved", "Selesai.")
    assert not [c for c in desk.changes(key) if c.id.startswith("s")]  # spbe's status and its note: one change
    assert desk.issue(key).status == "solved"
    assert desk.read_attachment(key, "berita-acara.pdf") == b"%PDF-1.4 ba"
    with pytest.raises(NotFoundError):
        desk.read_attachment(key, "tidak-ada.pdf")


def test_a_late_answer_is_not_posted_twice(glpi: GlpiFake, settings: Settings) -> None:
    desk = make_desk(glpi, settings, timeout_s=1.0)
    key = open_request(glpi)
    glpi.fail_next("POST", "/ITILFollowup", status=0, stall_s=2.5)  # GLPI writes it, the answer comes too late
    with pytest.raises(UnavailableError, match="timed out"):
        desk.add_note(key, "Catatan", marker="ob-late")
    found = desk.find_marker(key, "ob-late")
    assert found is not None
    assert desk.add_note(key, "Catatan", marker="ob-late") == found
    assert len(glpi.store.items["ITILFollowup"]) == 1
    desk.close()


def test_a_forged_marker_is_not_spbes(desk: GlpiDesk, glpi: GlpiFake) -> None:
    key = open_request(glpi)
    glpi.person("andi").add_followup(int(key), "Setuju\n[spbe:ob-9]")
    assert desk.find_marker(key, "ob-9") is None
    assert desk.changes(key)[0].marker is None
    assert desk.add_note(key, "Catatan spbe", marker="ob-9").startswith("f")
    with pytest.raises(InvalidInputError):
        desk.add_note(key, "x", marker="bad marker\n")


# ---------------------------------------------------------------------- GLPI specifics: session, paging, errors


def test_session_opens_lazily_once_and_every_call_carries_both_tokens(desk: GlpiDesk, glpi: GlpiFake) -> None:
    assert glpi.calls == []  # nothing before the first read
    key = open_request(glpi)
    glpi.calls.clear()
    desk.issue(key)
    desk.changes(key)
    assert paths(glpi).count("/apirest.php/initSession") == 1 and desk.api.session_starts == 1
    for _, path, headers in glpi.calls:
        assert headers.get("App-Token") == APP_CANARY
        if not path.endswith("/initSession"):
            assert headers.get("Session-Token") and "Authorization" not in headers
    desk.close()
    assert paths(glpi)[-1] == "/apirest.php/killSession"
    assert not [s for s in glpi.store.sessions.values() if s.user_id == 2]


def test_an_expired_session_is_opened_again_once(desk: GlpiDesk, glpi: GlpiFake) -> None:
    key = open_request(glpi)
    desk.issue(key)
    glpi.store.expire_sessions()
    assert desk.issue(key).key == key
    assert desk.api.session_starts == 2
    glpi.store.user_by_login("spbe")["api_token"] = "revoked-in-glpi"  # noqa: S105
    glpi.store.expire_sessions()
    with pytest.raises(ConfigurationError, match="ERROR_GLPI_LOGIN_USER_TOKEN"):
        desk.issue(key)


def test_listings_are_read_page_by_page(desk: GlpiDesk, glpi: GlpiFake) -> None:
    key = open_request(glpi)
    andi = glpi.person("andi")
    for n in range(120):
        andi.add_followup(int(key), f"catatan {n}")
    glpi.calls.clear()
    notes = [c for c in desk.changes(key) if c.id.startswith("f")]
    assert [c.note for c in notes] == [f"catatan {n}" for n in range(120)]
    followup_calls = [p for p in paths(glpi) if p.endswith("/ITILFollowup")]
    assert len(followup_calls) == 3  # 0-49 (206), 50-99 (206), 100-149 (200, Content-Range 100-119/120)

    def purge_the_rest() -> None:  # rows that go away between two pages end the listing, not the read
        for followup in list(glpi.store.items["ITILFollowup"])[40:]:
            del glpi.store.items["ITILFollowup"][followup]

    glpi.fail_next("GET", f"/Ticket/{key}/ITILFollowup", status=0, then=purge_the_rest)
    assert len(desk.api.pages(f"/Ticket/{key}/ITILFollowup")) == 50


def test_updated_since_pages_past_fifty(desk: GlpiDesk, glpi: GlpiFake) -> None:
    glpi.clock.freeze(datetime(2026, 3, 3, 7, 0))
    sari = glpi.person("sari")
    for n in range(130):
        sari.create_ticket(f"T{n}", entity=1)
        if n % 7 == 0:
            glpi.clock.tick()
    found = desk.updated_since(datetime(2026, 3, 3, 7, 0, tzinfo=UTC), (DISKOMINFO,), limit=120)
    assert [int(i.key) for i in found] == list(range(1, 121))
    answer = requests.get(f"{glpi.url}/search/Ticket", params={"range": "0-49"}, timeout=5, headers={
        "App-Token": APP_CANARY, "Session-Token": sari.http.headers["Session-Token"]})
    assert answer.status_code == 206 and answer.headers["Content-Range"] == "0-49/130"


@pytest.mark.parametrize(("method", "path"), [("GET", "/Ticket/"), ("GET", "/initSession"), ("POST", "/ITILFollowup")])
def test_a_5xx_is_unavailable_and_the_retry_works(desk: GlpiDesk, glpi: GlpiFake, method: str, path: str) -> None:
    key = open_request(glpi)
    glpi.fail_next(method, path, status=503)
    with pytest.raises(UnavailableError, match="503"):
        desk.add_note(key, "Catatan", marker="ob-5xx") if method == "POST" else desk.issue(key)
    assert desk.add_note(key, "Catatan", marker="ob-5xx").startswith("f")
    assert len(glpi.store.items["ITILFollowup"]) == 1


def test_a_timeout_and_a_closed_port_are_unavailable(glpi: GlpiFake, settings: Settings) -> None:
    desk = make_desk(glpi, settings, timeout_s=1.0)
    key = open_request(glpi)
    glpi.fail_next("GET", f"/Ticket/{key}", status=500, stall_s=2.5)
    with pytest.raises(UnavailableError, match=r"timed out after 1 s on GET /Ticket/"):
        desk.issue(key)
    gone = GlpiFake()
    gone.stop()
    with pytest.raises(UnavailableError, match="unreachable"):
        make_desk(gone, settings).issue("1")


def test_rights_and_app_token_problems_are_configuration_errors(glpi: GlpiFake, settings: Settings) -> None:
    key = open_request(glpi)
    tamu = GlpiDesk(settings, base_url=glpi.url, user_token=glpi.user_token("tamu"), app_token=SecretStr(APP_CANARY))
    with pytest.raises(ConfigurationError, match=r"403 .*ERROR_RIGHT_MISSING"):
        tamu.issue(key)
    own = str(glpi.person("tamu").create_ticket("Tiket tamu"))
    with pytest.raises(ConfigurationError, match=r"account 'tamu' may not move ticket .* to 'closed'"):
        tamu.set_status(own, "closed", marker="ob-t")
    assert tamu.find_marker(own, "ob-t") is None
    missing = tamu.capabilities().missing_rights  # a Self-Service profile: `desk check` names what it lacks
    assert "profile Self-Service: user READ (know which account acted)" in missing
    assert "profile Self-Service: ticket READALL (see every request, not only its own)" in missing
    assert "profile Self-Service: followup ADDALLTICKET (add a followup to any ticket)" in missing
    without_app = GlpiDesk(settings, base_url=glpi.url, user_token_secret="glpi_user_token")  # noqa: S106 - a name
    with pytest.raises(ConfigurationError, match="ERROR_APP_TOKEN_PARAMETERS_MISSING"):
        without_app.issue(key)
    with pytest.raises(ConfigurationError, match="no status"):
        make_desk(glpi, settings).set_status(key, "done", marker="ob-x")


def test_options_type_every_credential() -> None:
    """What tests/toolkit/test_settings_secrets.py checks for every registered adapter, until ``spbe.desks`` is
    wired: no option that may hold a credential is a plain string."""
    assert leaks(GlpiOptions) == []
    parsed = GlpiOptions.model_validate({"base_url": "https://glpi:CANARY-pw@helpdesk.example.go.id/apirest.php",
                                         "user_token": USER_CANARY, "user_token_secret": "glpi_user_token"})
    assert USER_CANARY not in repr(parsed) and "CANARY-pw" not in repr(parsed) + parsed.model_dump_json()
    with pytest.raises(ValueError, match="user_token_secret"):
        GlpiOptions.model_validate({"base_url": "https://x/apirest.php", "user_token_secret": "not a name!"})


def test_capabilities(desk: GlpiDesk) -> None:
    caps = desk.capabilities()
    assert caps.account == "spbe" and DISKOMINFO in caps.projects and "Pusat Data" in caps.trackers
    assert caps.statuses == ("new", "processing", "planned", "waiting", "solved", "closed")
    assert {"andi", "sari", "kadis", "tamu", "spbe"} <= {a.login for a in caps.accounts}
    assert caps.missing_rights == ()


def test_no_token_leaks(glpi: GlpiFake, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    desk = make_desk(glpi, settings, timeout_s=1.0)
    key = open_request(glpi)
    seen: list[str] = [repr(GlpiOptions(base_url=glpi.url, user_token=SecretStr(USER_CANARY)))]
    desk.attach(key, "ba.pdf", "application/pdf", b"%PDF", marker="ob-c")
    desk.set_status(key, "processing", marker="ob-s")
    seen += [desk.issue(key).model_dump_json()] + [c.model_dump_json() for c in desk.changes(key)]
    glpi.store.expire_sessions()
    glpi.fail_next("GET", "/Ticket/", status=0, stall_s=2.5)
    glpi.store.app_token = "rotated"  # noqa: S105
    for call in (lambda: desk.issue(key), lambda: desk.issue(key), lambda: desk.add_note(key, "x", "ob-y")):
        with pytest.raises((UnavailableError, ConfigurationError)) as caught:
            call()
        seen += [str(caught.value), repr(caught.value.details)]
    stored = [str(row) for rows in glpi.store.items.values() for row in rows.values() if "api_token" not in row]
    for text in seen + stored + [caplog.text]:
        assert USER_CANARY not in text and APP_CANARY not in text
    desk.close()


def test_the_fake_answers_glpi_errors_as_arrays(glpi: GlpiFake) -> None:
    base = {"App-Token": APP_CANARY}
    no_app = requests.get(f"{glpi.url}/initSession", headers={"Authorization": "user_token x"}, timeout=5)
    assert (no_app.status_code, no_app.json()[0]) == (400, "ERROR_APP_TOKEN_PARAMETERS_MISSING")
    bad_user = requests.get(f"{glpi.url}/initSession", headers={**base, "Authorization": "user_token x"}, timeout=5)
    assert (bad_user.status_code, bad_user.json()[0]) == (401, "ERROR_GLPI_LOGIN_USER_TOKEN")
    bad_session = requests.get(f"{glpi.url}/Ticket/1", headers={**base, "Session-Token": "nope"}, timeout=5)
    assert (bad_session.status_code, bad_session.json()[0]) == (401, "ERROR_SESSION_TOKEN_INVALID")
    token = glpi.person("sari").http.headers["Session-Token"]
    session = {**base, "Session-Token": token}
    with_body = requests.get(f"{glpi.url}/Ticket/", headers=session, data=b'{"a": 1}', timeout=5)
    assert with_body.json()[0] == "ERROR_JSON_PAYLOAD_FORBIDDEN"
    missing = requests.get(f"{glpi.url}/Ticket/5", headers=session, timeout=5)
    assert (missing.status_code, missing.json()[0]) == (404, "ERROR_ITEM_NOT_FOUND")
    past = requests.get(f"{glpi.url}/Entity/", headers=session, params={"range": "10-20"}, timeout=5)
    assert (past.status_code, past.json()[0]) == (400, "ERROR_RANGE_EXCEED_TOTAL")
    key = open_request(glpi, "A <b>tag</b>")
    sanitized = requests.get(f"{glpi.url}/Ticket/{key}", headers=session, timeout=5).json()
    assert sanitized["name"] == "A &lt;b&gt;tag&lt;/b&gt;"  # GLPI's default: "Sanitized content"
    assert (datetime.strptime(sanitized["date_mod"], "%Y-%m-%d %H:%M:%S") - datetime(2000, 1, 1)) > timedelta(0)
