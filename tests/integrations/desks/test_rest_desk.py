"""`RestDesk` against the reference "Aplikasi Helpdesk SPBE" (lab/reference_desk.py), over loopback HTTP, with the
lab mapping's own endpoints spec (lab/desks/rest.yml): every `DeskClient` method, paging, the same-second poll,
errors mapped by meaning, idempotency by marker (a lost answer is found, not repeated), bad specs refused at
construction naming the option, and the token never shown."""

from __future__ import annotations

import logging
import secrets
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from integrations.desks.rest import RestDesk, RestOptions
from integrations.identity.roles_file import RolesFileDirectory
from lab.reference_desk import ReferenceDesk
from tests.integrations.desks.rest_rig import FIELDS, MAPPING, PROJECT, RestRig, mapping_options, settings_for
from toolkit.desks.mapping import load_mappings
from toolkit.domain.catalog.loader import load_catalog
from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError, ToolkitError, UnavailableError
from toolkit.masking import Masker
from toolkit.ports.desk import DeskClient
from toolkit.registry import Registry
from toolkit.settings import load_settings


class FrozenClock:
    """The desk's clock, held on one second unless moved: records of the same second, on purpose."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 3, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: int = 1) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def rig(tmp_path: Path, clock: FrozenClock) -> Iterator[RestRig]:
    desk = ReferenceDesk(clock=clock, hang_s=3.0).start()
    rig = RestRig(desk, settings_for(desk, tmp_path), tmp_path)
    yield rig
    rig.close()
    desk.stop()


def opened(rig: RestRig, login: str = "andi", **fields: str) -> str:
    values = {FIELDS[0]: "pusat-data", FIELDS[1]: "Dinas Kesehatan", FIELDS[2]: "2 vCPU\nDebian 12", **fields}
    return rig.actor(login).open(f"Permohonan server {secrets.token_hex(3)}", values, "Untuk puskesmas.")


def marker() -> str:
    return f"spbe-T{secrets.token_hex(3)}-1"


# ------------------------------------------------------------------ mapping and registration


def test_the_lab_mapping_loads_against_the_catalog_and_the_directory(tmp_path: Path) -> None:
    (tmp_path / "desks").mkdir()
    shutil.copy(MAPPING, tmp_path / "desks" / "rest.yml")
    directory = RolesFileDirectory(settings=load_settings(state_dir=tmp_path / "state"))
    mapping = load_mappings(tmp_path / "desks", load_catalog(), directory)["rest"]
    assert mapping.kind == "rest" and mapping.bot == "spbe" and "tamu" not in mapping.accounts
    route = mapping.route(PROJECT, "Permintaan", {"Layanan": "pusat-data"})
    assert route is not None and route.service == "pusat-data"
    options = Registry[Any]("spbe.desks").options_schema("rest")
    assert options is RestOptions and RestOptions.model_validate(mapping.options).endpoints.search.page_size == 50


def test_the_registry_builds_it_as_the_hub_does(rig: RestRig) -> None:
    options = dict(RestOptions.model_validate({**mapping_options(), "base_url": rig.desk.url}))
    client = Registry[DeskClient]("spbe.desks").create("rest", settings=rig.settings, name="helpdesk",
                                                       masker=Masker(), **options)
    assert isinstance(client, RestDesk) and isinstance(client, DeskClient) and client.name == "helpdesk"
    assert client.capabilities().account == "spbe"


def test_the_reference_desk_takes_the_tokens_a_demo_gives_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown accounts"):
        ReferenceDesk(tokens={"siapa": "x" * 20})
    desk = ReferenceDesk(tokens={"spbe": "token-demo-spbe-0123456789"}).start()
    try:
        rig = RestRig(desk, settings_for(desk, tmp_path), tmp_path)
        assert desk.tokens["spbe"] == "token-demo-spbe-0123456789"  # noqa: S105 - the demo's own
        assert rig.client.capabilities().account == "spbe"
        rig.close()
    finally:
        desk.stop()


# ------------------------------------------------------------------ reads


def test_capabilities_name_the_account_queues_statuses_fields_and_people(rig: RestRig) -> None:
    caps = rig.client.capabilities()
    assert caps.account == "spbe" and caps.projects == ("spbe-uji", "umum")
    assert {"Baru", "Diperiksa", "Disetujui", "Ditunda", "Selesai", "Ditutup", "Dikembalikan",
            "Diajukan ulang"} == set(caps.statuses)
    assert set(FIELDS) <= set(caps.fields)
    assert {a.login for a in caps.accounts} == {"andi", "sari", "kadis", "kadis2", "tamu", "spbe"}
    assert all(a.active and a.name for a in caps.accounts)


def test_an_issue_reads_with_its_fields_author_status_and_link(rig: RestRig, clock: FrozenClock) -> None:
    key = opened(rig)
    issue = rig.client.issue(key)
    assert (issue.key, issue.project, issue.tracker, issue.author, issue.status) == (
        key, PROJECT, "Permintaan", "andi", "Baru")
    assert issue.subject.startswith("Permohonan server") and issue.description == "Untuk puskesmas."
    assert issue.fields == {"Layanan": "pusat-data", "Instansi": "Dinas Kesehatan", "Keterangan": "2 vCPU\nDebian 12"}
    assert issue.updated_at == clock.now and issue.attachments == ()
    assert issue.url == f"{rig.desk.url}/tiket/{key}"


@pytest.mark.parametrize("key", ["999999", "abc", "1;DROP", "../1", "", "1/riwayat"])
def test_an_unknown_or_malformed_key_is_not_found(rig: RestRig, key: str) -> None:
    opened(rig)
    for read in (rig.client.issue, rig.client.changes, lambda k: rig.client.read_attachment(k, "x.pdf")):
        with pytest.raises(NotFoundError):
            read(key)


def test_changes_come_in_order_with_accounts_statuses_fields_and_notes(rig: RestRig, clock: FrozenClock) -> None:
    key = opened(rig)
    assert rig.client.changes(key) == []  # the creation is not a change
    rig.actor("sari").move(key, "Diperiksa", "Berkas lengkap.")
    clock.tick()
    rig.actor("kadis").move(key, "Disetujui", "Disetujui.")
    rig.actor("andi").comment(key, "Terima kasih.\nBaris kedua.")  # the same second as the approval
    rig.actor("sari").set_field(key, "Instansi", "Dinas Pendidikan")
    changes = rig.client.changes(key)
    assert [(c.account, c.status_from, c.status_to) for c in changes] == [
        ("sari", "Baru", "Diperiksa"), ("kadis", "Diperiksa", "Disetujui"), ("andi", None, None), ("sari", None, None)]
    assert [c.note for c in changes] == ["Berkas lengkap.", "Disetujui.", "Terima kasih.\nBaris kedua.", ""]
    assert changes[3].field_changes == {"Instansi": ("Dinas Kesehatan", "Dinas Pendidikan")}
    assert all(c.issue_key == key and c.marker is None for c in changes)
    assert len({c.id for c in changes}) == 4 and rig.client.changes(key) == changes  # ids are stable


@pytest.mark.parametrize("paging", ["page", "offset"])
def test_updated_since_pages_through_in_update_order(rig: RestRig, clock: FrozenClock, paging: str) -> None:
    search = {**mapping_options()["endpoints"]["search"], "page_size": 3, "paging": paging}
    if paging == "offset":
        search.update(page_param="offset", size_param="limit", first_page=0)
    client = rig.make(endpoints={**mapping_options()["endpoints"], "search": search})
    keys = []
    for _ in range(8):
        keys.append(opened(rig))
        clock.tick()
    rig.actor("sari").comment(keys[0], "Diperbarui.")  # the oldest becomes the newest
    since = datetime(2026, 12, 7, 3, 0, 1, tzinfo=UTC)
    found = client.updated_since(since, (PROJECT,), limit=100)
    assert [i.key for i in found] == keys[1:] + [keys[0]]
    assert [i.updated_at for i in found] == sorted(i.updated_at for i in found)
    assert [i.key for i in client.updated_since(since, (PROJECT,), limit=4)] == keys[1:5]
    assert client.updated_since(since, (), limit=10) == []
    asked = [path for method, path in rig.desk.requests if path == "/api/v1/tiket"]
    assert len(asked) >= 3  # paged: 8 issues at 3 a page


def test_a_listing_newest_first_is_refused_rather_than_cut_wrong(rig: RestRig, clock: FrozenClock) -> None:
    endpoints = mapping_options()["endpoints"]
    newest_first = {**endpoints["search"], "extra": {"urut": "terbaru"}}
    opened(rig)
    clock.tick()
    opened(rig)
    with pytest.raises(ConfigurationError, match="does not list oldest update first"):
        rig.make(endpoints={**endpoints, "search": newest_first}).updated_since(clock.now - timedelta(hours=1),
                                                                                 (PROJECT,))


def test_updated_since_keeps_projects_apart(rig: RestRig) -> None:
    mine = opened(rig)
    other = rig.desk.open("andi", "umum", "Lain", "").id
    since = datetime(2026, 12, 7, tzinfo=UTC)
    assert [i.key for i in rig.client.updated_since(since, (PROJECT,))] == [mine]
    assert {i.key for i in rig.client.updated_since(since, (PROJECT, "umum"))} == {mine, str(other)}


@pytest.mark.parametrize("inclusive", [True, False])
def test_a_record_of_the_cursors_own_second_is_not_lost(rig: RestRig, clock: FrozenClock, inclusive: bool) -> None:
    """servicenow.itsm#502: the cursor is the newest record seen (plus whatever fraction a poller's clock adds);
    a record written later within that same second must still come back. A desk that answers only "after" is
    asked a second earlier."""
    endpoints = mapping_options()["endpoints"]
    client = rig.make(endpoints={**endpoints, "search": {**endpoints["search"], "since_inclusive": inclusive}})
    seen = opened(rig)
    cursor = client.updated_since(datetime(2026, 12, 7, tzinfo=UTC), (PROJECT,))[-1].updated_at
    neighbour = opened(rig)  # same second: the frozen clock did not move
    rig.actor("kadis").comment(seen, "Setuju.")
    keys = [i.key for i in client.updated_since(cursor + timedelta(microseconds=999_000), (PROJECT,))]
    assert set(keys) == {seen, neighbour}
    clock.tick()
    later = opened(rig)
    assert [i.key for i in client.updated_since(clock.now, (PROJECT,))] == [later]


# ------------------------------------------------------------------ writes and markers


def test_add_note_is_idempotent_by_marker_and_carries_it_on_its_last_line(rig: RestRig) -> None:
    key, mark = opened(rig), marker()
    assert rig.client.find_marker(key, mark) is None
    first = rig.client.add_note(key, "Permohonan sedang diproses.", mark)
    assert rig.client.add_note(key, "Permohonan sedang diproses.", mark) == first
    assert rig.client.find_marker(key, mark) == first
    [change] = rig.client.changes(key)
    assert (change.id, change.account, change.note, change.marker) == (first, "spbe", "Permohonan sedang diproses.",
                                                                       mark)
    raw = rig.desk.tickets[int(key)].history[0]["catatan"]
    assert raw.splitlines()[-1] == f"[spbe:{mark}]"


def test_attach_is_idempotent_and_reads_back(rig: RestRig) -> None:
    key, mark = opened(rig), marker()
    content = b"%PDF-1.4\n% berita acara\n" + secrets.token_bytes(256)
    first = rig.client.attach(key, "berita-acara.pdf", "application/pdf", content, mark)
    assert rig.client.attach(key, "berita-acara.pdf", "application/pdf", content, mark) == first
    assert rig.client.find_marker(key, mark) == first
    assert rig.client.issue(key).attachments == ("berita-acara.pdf",)
    assert rig.client.read_attachment(key, "berita-acara.pdf") == content
    assert rig.desk.tickets[int(key)].files[0]["keterangan"] == f"[spbe:{mark}]"
    assert [c.marker for c in rig.client.changes(key)] == [mark]
    with pytest.raises(NotFoundError):
        rig.client.read_attachment(key, "tidak-ada.pdf")


def test_set_status_is_idempotent_and_shows_as_a_change(rig: RestRig) -> None:
    key, mark = opened(rig), marker()
    first = rig.client.set_status(key, "Diperiksa", mark, "Diperiksa oleh spbe.")
    assert rig.client.set_status(key, "Diperiksa", mark, "Diperiksa oleh spbe.") == first
    assert rig.client.issue(key).status == "Diperiksa"
    [change] = rig.client.changes(key)
    assert (change.id, change.account, change.status_from, change.status_to, change.note, change.marker) == (
        first, "spbe", "Baru", "Diperiksa", "Diperiksa oleh spbe.", mark)


@pytest.mark.parametrize("write", ["note", "attach", "status"])
def test_a_write_whose_answer_was_lost_is_found_and_not_repeated(rig: RestRig, write: str) -> None:
    key, mark = opened(rig), marker()

    def send(client: RestDesk) -> str:
        if write == "note":
            return client.add_note(key, "Dokumen sedang disiapkan.", mark)
        if write == "attach":
            return client.attach(key, "laporan.txt", "text/plain", b"isi laporan", mark)
        return client.set_status(key, "Diperiksa", mark)

    with rig.late_client(2.0) as late, pytest.raises(UnavailableError, match="timed out"):
        send(late)
    written = rig.client.find_marker(key, mark)  # the write landed; only its answer was lost
    assert written is not None
    assert send(rig.client) == written  # the outbox's retry
    assert [c.marker for c in rig.client.changes(key)] == [mark]
    posts = [p for m, p in rig.desk.requests if m == "POST" and p.startswith(f"/api/v1/tiket/{key}/")]
    assert len(posts) == 1


def test_a_marker_written_by_someone_else_does_not_count(rig: RestRig) -> None:
    key, mark, forged = opened(rig), marker(), marker()
    rig.client.add_note(key, "Catatan spbe.", mark)
    rig.actor("andi").comment(key, f"Saya menulis penanda.\n\n[spbe:{forged}]")
    rig.desk.add_file(rig.desk.tickets[int(key)], "andi", "palsu.pdf", "application/pdf", b"x", f"[spbe:{forged}]")
    assert rig.client.find_marker(key, forged) is None
    mine, theirs, upload = rig.client.changes(key)
    assert mine.marker == mark and theirs.marker is None and upload.marker is None
    assert theirs.note.endswith(f"[spbe:{forged}]")  # shown as the person wrote it


@pytest.mark.parametrize("bad", ["", "a b", "x\n[spbe:y]", "$(id)", "m" * 129])
def test_a_bad_marker_is_refused_before_any_write(rig: RestRig, bad: str) -> None:
    key = opened(rig)
    for write in (lambda: rig.client.add_note(key, "x", bad), lambda: rig.client.set_status(key, "Diperiksa", bad),
                  lambda: rig.client.attach(key, "a.txt", "text/plain", b"a", bad)):
        with pytest.raises(InvalidInputError):
            write()
    assert rig.client.changes(key) == [] and not [m for m, _ in rig.desk.requests if m == "POST"][1:]


# ------------------------------------------------------------------ errors


def test_errors_are_mapped_by_meaning(rig: RestRig) -> None:
    key = opened(rig)
    client = rig.make(timeout_s=0.5)
    rig.desk.faults.add(f"/api/v1/tiket/{key}", "500", count=1)
    with pytest.raises(UnavailableError, match="answered 500"):
        client.issue(key)
    rig.desk.faults.add(f"/api/v1/tiket/{key}", "hang", count=1, delay_s=2.0)
    with pytest.raises(UnavailableError, match="timed out"):
        client.issue(key)
    rig.desk.faults.add(f"/api/v1/tiket/{key}", "401", count=1)
    with pytest.raises(ConfigurationError, match="answered 401"):
        client.issue(key)
    assert client.issue(key).key == key  # each fault was for one request only
    with pytest.raises(ConfigurationError, match="andi tidak boleh mengubah status menjadi 'Disetujui'"):
        rig.make("andi").set_status(key, "Disetujui", marker())  # 403: the desk's rights
    with pytest.raises(ConfigurationError, match="status 'Tidak Ada' tidak dikenal"):
        client.set_status(key, "Tidak Ada", marker())  # 422 on a status: the mapping names what the desk lacks
    with pytest.raises(InvalidInputError, match="berkas wajib diunggah") as refused:
        client.attach(key, "", "text/plain", b"x", marker())  # 422 elsewhere: the desk's message
    assert isinstance(refused.value, ToolkitError) and refused.value.details["status"] == 422
    with pytest.raises(NotFoundError, match="answered 404"):
        client.add_note("424242", "x", marker())
    assert rig.client.issue(key).status == "Baru" and rig.client.changes(key) == []


def test_a_redirect_is_not_followed_with_the_token(rig: RestRig) -> None:
    key = opened(rig)
    client = rig.make(endpoints={**mapping_options()["endpoints"], "issue": "/api/tiket/{key}"})
    with pytest.raises(ConfigurationError, match="redirected GET /api/tiket/1 elsewhere"):
        client.issue(key)
    assert ("GET", f"/api/v1/tiket/{key}") not in rig.desk.requests


def test_a_desk_that_is_down_is_unavailable(rig: RestRig) -> None:
    with pytest.raises(UnavailableError, match="unreachable"):
        rig.down_client("hd-whatever-token").issue("1")


def test_an_answer_that_does_not_fit_the_spec_is_a_configuration_error(rig: RestRig) -> None:
    key = opened(rig)
    endpoints = mapping_options()["endpoints"]
    client = rig.make(endpoints={**endpoints, "issue_shape": {**endpoints["issue_shape"], "subject": "title"}})
    with pytest.raises(ConfigurationError, match=r"no 'title' \(issue_shape\.subject\)"):
        client.issue(key)


@pytest.mark.parametrize(("where", "value", "named"), [
    (("issue",), "/api/v1/tiket/{id}", "options.endpoints.issue: .*unknown placeholder \\{id\\}"),
    (("changes",), "/api/v1/tiket/riwayat", "options.endpoints.changes: .*\\{key\\} exactly once"),
    (("download",), "/api/v1/tiket/{key}/lampiran", "options.endpoints.download: .*\\{name\\} exactly once"),
    (("note", "path"), "api/v1/tiket/{key}/catatan", "options.endpoints.note.path: .*not a URL path"),
    (("search", "items"), "data[0]", "options.endpoints.search.items: .*not a dotted JSON path"),
    (("issue_shape", "author"), "$.pemohon.login", "options.endpoints.issue_shape.author: .*dotted JSON path"),
    (("change_shape", "account"), "oleh..login", "options.endpoints.change_shape.account: .*dotted JSON path"),
    (("issue_shape", "subject"), "__import__('os')", "options.endpoints.issue_shape.subject"),
])
def test_a_bad_spec_is_refused_at_construction_naming_the_option(
        rig: RestRig, where: tuple[str, ...], value: str, named: str) -> None:
    endpoints = mapping_options()["endpoints"]
    target = endpoints
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = value
    with pytest.raises(ConfigurationError, match=named):
        RestDesk(rig.settings, name="rest", base_url=rig.desk.url, token_secret="desk-rest",  # noqa: S106 - a name
                 endpoints=endpoints)
    with pytest.raises(ValueError, match="endpoints"):  # and by the options schema the hub validates first
        RestOptions.model_validate({**mapping_options(), "endpoints": endpoints})


# ------------------------------------------------------------------ the token


def test_the_token_never_reaches_an_exception_or_a_log_line(rig: RestRig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    canary = "CANARY" + secrets.token_hex(17)
    errors: list[ToolkitError] = []
    for make, call in ((rig.down_client, lambda c: c.issue("1")), (rig.bad_key_client, lambda c: c.issue("1")),
                       (rig.bad_key_client, lambda c: c.capabilities()),
                       (rig.bad_key_client, lambda c: c.add_note("1", "x", "m:1"))):
        with pytest.raises(ToolkitError) as raised:
            call(make(canary))
        errors.append(raised.value)
    key, mark = opened(rig), marker()
    rig.desk.faults.add("/api/v1/", "500", count=1)
    with pytest.raises(UnavailableError) as down:
        rig.client.capabilities()
    errors.append(down.value)
    rig.client.capabilities()
    rig.client.add_note(key, "Catatan.", mark)
    rig.client.attach(key, "a.txt", "text/plain", b"isi", mark + "a")
    rig.client.set_status(key, "Diperiksa", mark + "s")
    rig.client.updated_since(datetime(2026, 12, 7, tzinfo=UTC), (PROJECT,))
    tokens = [canary, *rig.desk.tokens.values()]
    for error in errors:
        shown = f"{error} {error!r} {error.details} {error.__cause__!r} {error.__context__!r}"
        assert not [t for t in tokens if t in shown] and "rest" in str(error)
    assert not [t for t in tokens if t in caplog.text]
    assert rig.masker(f"Bearer {rig.desk.tokens['spbe']}") != f"Bearer {rig.desk.tokens['spbe']}"
