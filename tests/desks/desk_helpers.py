"""What the desk intake tests share: the Pusat Data request as a desk form holds it, and driving an intake (one
poll, the ticket an issue opened, spbe's notes on the issue, audit entries). The fixtures that build an App on
the lab Redmine or on the reference desk are in tests/desks/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import yaml

from lab.reference_desk import ReferenceDesk
from tests.integrations.desks.rest_rig import MAPPING, RestActor
from tests.support.redmine_desk import TIMEOUT, Person
from toolkit.bootstrap import App
from toolkit.commands import revision
from toolkit.domain.catalog.models import StepPurpose
from toolkit.engine.progress import progress
from toolkit.settings import Settings, load_settings
from toolkit.web.server import WebServer

FIELDS = {"Layanan": "pusat-data", "Instansi": "Dinas Kesehatan", "Perihal": "Permohonan hosting SIMPUS",
          "Produk": "hosting-aplikasi", "Nama aplikasi": "simpus", "Nama host": "simpus-app", "Jumlah vCPU": "2",
          "Memori (GB)": "4", "Penyimpanan (GB)": "40", "Backup": "ya", "UAT": "ya",
          "Email kontak": "it@dinkes.example.go.id"}
LETTER_PDF = b"%PDF-1.4\n% Surat permohonan Dinas Kesehatan\n%%EOF\n"
APPROVAL_PDF = b"%PDF-1.4\n% Persetujuan aplikasi SIMPUS\n%%EOF\n"  # hosting needs it (SOP 002 step 4)
LETTER = {"surat-permohonan.pdf": LETTER_PDF, "persetujuan-aplikasi.pdf": APPROVAL_PDF}
REST_HOOK_SECRET = "rahasia-webhook-uji-rest"  # noqa: S105 - the test desk's webhook key


@contextmanager
def serving(app: App) -> Iterator[str]:
    """The app's HTTP listener (``POST /hooks/<desk>``) on a free loopback port, for a test's webhooks; the app
    is the caller's to close."""
    server = WebServer(app, app.settings, "127.0.0.1", 0)
    url = server.start()
    assert server.started.wait(30)
    try:
        yield url
    finally:
        server.stop()


def poll(app: App, desk: str) -> None:
    result = app.desks.get(desk).poller.poll_once()
    assert not result.failed, result.failed


def ticket_of(app: App, desk: str, key: str) -> str:
    ticket_id = app.desks.records.ticket_for(desk, key)
    assert ticket_id is not None, f"issue {key} opened no ticket"
    return ticket_id


def audit_entries(app: App, action: str) -> list[dict[str, object]]:
    return [e.data | {"actor": e.actor} for e in app.audit.entries() if e.action == action]


# -- the lab Redmine ---------------------------------------------------------------------------------------
def redmine_notes(person: Person, key: str) -> list[str]:
    """spbe's notes on a Redmine issue, as ``person`` sees them."""
    return [j["notes"] for j in person.issue(key)["journals"]
            if j["user"]["id"] == person.redmine.users["spbe"].id and j.get("notes")]


def redmine_update(person: Person, key: str, *, status: str | None = None, notes: str = "",
                   fields: dict[str, Any] | None = None, files: dict[str, bytes] | None = None) -> None:
    """One edit of a Redmine issue by ``person`` (one journal): a status, a note, custom fields (a list for a
    multi-value field), new files."""
    body: dict[str, Any] = {}
    if status is not None:
        body["status_id"] = person.redmine.statuses[status]
    if notes:
        body["notes"] = notes
    if fields:
        body["custom_fields"] = [{"id": person.redmine.custom_fields[name], "value": value}
                                 for name, value in fields.items()]
    if files:
        body["uploads"] = [person.upload(name, content) for name, content in files.items()]
    response = requests.put(f"{person.redmine.base_url}/issues/{key}.json", json={"issue": body},
                            headers=person.redmine.headers(person.login), timeout=TIMEOUT)
    assert response.status_code == 204, response.text


# -- the reference REST desk -------------------------------------------------------------------------------
class Clock:
    """The reference desk's clock, moved by the test (the desk keeps seconds)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def rest_settings(desk: ReferenceDesk, tmp_path: Path, **overrides: Any) -> Settings:
    folder = tmp_path / "desks"
    folder.mkdir()
    mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    mapping["options"]["base_url"] = desk.url
    mapping["poll_overlap_s"] = 0  # the same-second case must hold on the cursor alone
    (folder / "rest.yml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    (tmp_path / "token").write_text(desk.tokens["spbe"], encoding="utf-8")
    (tmp_path / "hook").write_text(REST_HOOK_SECRET, encoding="utf-8")
    return load_settings(state_dir=tmp_path / "state", desks_dir=folder, secrets={
        "desk-rest": {"ref": f"file:{tmp_path / 'token'}"}, "desk-rest-webhook": {"ref": f"file:{tmp_path / 'hook'}"},
        "backup_password": {"ref": "env:SPBE_BACKUP_PASSWORD"}}, **overrides)


def rest_open(desk: ReferenceDesk, login: str, **fields: str) -> str:
    """A Pusat Data request opened in the reference desk by ``login``, with its letter."""
    key = RestActor(desk, login).open("Hosting SIMPUS", FIELDS | fields, "Untuk puskesmas.")
    desk.add_file(desk.tickets[int(key)], login, "surat-permohonan.pdf", "application/pdf", LETTER_PDF)
    desk.add_file(desk.tickets[int(key)], login, "persetujuan-aplikasi.pdf", "application/pdf", APPROVAL_PDF)
    return key


def rest_notes(desk: ReferenceDesk, key: str) -> list[str]:
    """spbe's notes on a reference desk issue."""
    return [h["catatan"] for h in desk.tickets[int(key)].history if h["oleh"]["login"] == "spbe" and h["catatan"]]


LETTER_LABEL = "Surat permohonan pemanfaatan Pusat Data kepada Kepala Dinas"  # the requirement's catalog label


def marks(app: App, ticket_id: str) -> list[dict[str, object]]:
    """The return and resubmission records of the ticket's timeline, oldest first."""
    return [e.data for e in app.tickets.timeline(ticket_id) if isinstance(e.data, dict)
            and (revision.RETURNED in e.data or revision.RESUBMITTED in e.data)]


def waits_for_check(app: App, ticket_id: str) -> bool:
    """Whether the ticket's current step is the completeness check (again, after a resubmission)."""
    ticket = app.tickets.get(ticket_id)
    state = progress(app.catalog.get(ticket.service_id), ticket, app.tickets.timeline(ticket_id), app.queue,
                     app.policy)
    return state.current is not None and state.current.purpose is StepPurpose.COMPLETENESS_CHECK
