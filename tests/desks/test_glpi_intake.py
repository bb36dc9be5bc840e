"""GLPI drives spbe the same way (against the fake GLPI of lab/glpi_fake.py: GLPI cannot run here): a request
whose form is in the ticket's description, checked by a status change, approved by the kepala dinas answering
GLPI's validation; a validation answered by an account mapped to nobody is refused and runs nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from lab.glpi_fake import GlpiFake
from tests.desks.desk_helpers import serving
from toolkit.bootstrap import App
from toolkit.desks.mirror import DeskMirror
from toolkit.domain.tickets.models import EventKind
from toolkit.settings import load_settings

LAB_MAPPING = Path(__file__).resolve().parents[2] / "lab" / "desks" / "glpi.yml"
FORM = """Permohonan pemanfaatan Pusat Data.

Instansi: Dinas Kesehatan
Perihal: Permohonan hosting SIMPUS
Produk: hosting-aplikasi
Nama aplikasi: simpus
Nama host: {host}
Jumlah vCPU: 2
Memori (GB): 4
Penyimpanan (GB): 40
Email kontak: it@dinkes.example.go.id
"""
LETTER = b"%PDF-1.4\n% Surat permohonan\n%%EOF\n"
APPROVAL = b"%PDF-1.4\n% Persetujuan aplikasi\n%%EOF\n"  # hosting needs it (SOP 002 step 4)
HOOK_SECRET = "glpi-webhook-canary-51c2"  # noqa: S105 - a test secret


@pytest.fixture
def glpi() -> Iterator[GlpiFake]:
    with GlpiFake() as fake:
        yield fake


@pytest.fixture
def app(glpi: GlpiFake, tmp_path: Path) -> Iterator[App]:
    folder = tmp_path / "desks"
    folder.mkdir()
    mapping = yaml.safe_load(LAB_MAPPING.read_text(encoding="utf-8"))
    mapping["options"]["base_url"] = glpi.url
    (folder / "glpi.yml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    (tmp_path / "user").write_text(glpi.store.user_by_login("spbe")["api_token"], encoding="utf-8")
    (tmp_path / "app").write_text(glpi.store.app_token, encoding="utf-8")
    hook_secret = tmp_path / "hook"
    hook_secret.write_text(HOOK_SECRET, encoding="utf-8")
    built = App(load_settings(state_dir=tmp_path / "state", desks_dir=folder, secrets={
        "desk-glpi-user": {"ref": f"file:{tmp_path / 'user'}"}, "desk-glpi-app": {"ref": f"file:{tmp_path / 'app'}"},
        "desk-glpi-webhook": {"ref": f"file:{hook_secret}"},
        "backup_password": {"ref": "env:SPBE_BACKUP_PASSWORD"}}, http={"bind": "127.0.0.1:0"}))
    yield built
    built.close()


def _poll(app: App) -> None:
    assert not app.desks.get("glpi").poller.poll_once().failed


def _open(glpi: GlpiFake, host: str) -> int:
    andi = glpi.person("andi")
    ticket = andi.create_ticket("Hosting SIMPUS", FORM.format(host=host), entity=1, category=1)
    andi.upload(ticket, "surat-permohonan.pdf", LETTER)
    andi.upload(ticket, "persetujuan-aplikasi.pdf", APPROVAL)
    return ticket


def _user_id(glpi: GlpiFake, login: str) -> int:
    return int(glpi.store.user_by_login(login)["id"])


def test_a_request_in_glpi_is_checked_and_approved_by_validation(glpi: GlpiFake, app: App) -> None:
    number = _open(glpi, "glpi-app")
    _poll(app)
    ticket_id = app.desks.records.ticket_for("glpi", str(number))
    assert ticket_id is not None
    ticket = app.tickets.get(ticket_id)
    assert ticket.requester == "andi" and ticket.fields["hostname"] == "glpi-app"
    assert [a.kind for a in ticket.attachments] == ["surat_permohonan", "dokumen_persetujuan_aplikasi"]

    sari = glpi.person("sari")
    clock = glpi.clock
    clock.freeze()  # each person's act a second after the last: GLPI orders one second's rows by table only
    sari.set_status(number, "processing")
    clock.tick()
    validation = sari.request_validation(number, _user_id(glpi, "kadis"), "Mohon persetujuan.")
    clock.tick()
    glpi.person("kadis").answer_validation(validation, accepted=True, comment="Disetujui.")
    _poll(app)
    kinds = [e.kind for e in app.tickets.timeline(ticket_id)]
    assert EventKind.CHECKED in kinds and EventKind.APPROVED in kinds
    assert app.queue.list_jobs(ticket_id=ticket_id)
    via = {e.data.get("via") for e in app.audit.entries() if e.action == "ticket.approve"}
    assert via == {"ticket-system:glpi:kadis"}
    assert DeskMirror(app, app.desks).run_desk(app.desks.get("glpi")).written


def test_a_validation_answered_by_an_unmapped_account_runs_nothing(glpi: GlpiFake, app: App) -> None:
    number = _open(glpi, "tamu-app")
    _poll(app)
    ticket_id = app.desks.records.ticket_for("glpi", str(number))
    assert ticket_id is not None
    sari = glpi.person("sari")
    clock = glpi.clock
    clock.freeze()
    sari.set_status(number, "processing")
    clock.tick()
    validation = sari.request_validation(number, _user_id(glpi, "tamu"), "Mohon persetujuan.")
    clock.tick()
    glpi.person("tamu").answer_validation(validation, accepted=True, comment="Setuju.")
    _poll(app)
    assert EventKind.APPROVED not in [e.kind for e in app.tickets.timeline(ticket_id)]
    assert not app.queue.list_jobs(ticket_id=ticket_id)
    refused = [e for e in app.audit.entries() if e.action == "desk.refused"]
    assert refused and refused[0].data["via"] == "ticket-system:glpi:tamu"


def test_a_record_stamped_behind_the_cursor_is_still_found(glpi: GlpiFake, app: App) -> None:
    """Clock skew, or a record written in the second of the last poll: the cursor is the newest record seen and
    each poll looks ``poll_overlap_s`` behind it, so the record is taken, once (servicenow.itsm#502)."""
    at = glpi.clock.freeze()
    first = _open(glpi, "skew-one")
    _poll(app)
    cursor = app.desks.records.cursor("glpi")
    assert cursor is not None and app.desks.records.ticket_for("glpi", str(first))
    glpi.clock.freeze(at - timedelta(seconds=30))  # the desk's clock is behind spbe's last look
    late = _open(glpi, "skew-two")
    _poll(app)
    assert app.desks.records.ticket_for("glpi", str(late)) is not None
    assert app.desks.records.cursor("glpi") == cursor  # never moved back, never past what was seen
    _poll(app)
    titles = [t.fields["hostname"] for t in app.tickets.list_tickets()]
    assert sorted(titles) == ["skew-one", "skew-two"]


def test_a_request_for_an_unmapped_category_is_skipped_and_logged_once(glpi: GlpiFake, app: App,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    ticket = glpi.person("andi").create_ticket("Pertanyaan umum", FORM.format(host="lain"), entity=1, category=2)
    with caplog.at_level("INFO", logger="toolkit.desks.intake"):
        _poll(app)
        _poll(app)
    assert app.desks.records.ticket_for("glpi", str(ticket)) is None
    assert sum("not mapped to a service" in r.message for r in caplog.records) == 1
    assert app.tickets.list_tickets() == []


def test_a_validation_answered_by_someone_without_the_approvers_role_is_refused(glpi: GlpiFake, app: App) -> None:
    """The koordinator is a mapped person, but approving is the kepala dinas's step: the policy refuses it."""
    number = _open(glpi, "peran-app")
    _poll(app)
    ticket_id = app.desks.records.ticket_for("glpi", str(number))
    assert ticket_id is not None
    sari = glpi.person("sari")
    glpi.clock.freeze()
    sari.set_status(number, "processing")
    glpi.clock.tick()
    validation = sari.request_validation(number, _user_id(glpi, "sari"), "Saya setujui sendiri.")
    glpi.clock.tick()
    sari.answer_validation(validation, accepted=True, comment="Setuju.")
    _poll(app)
    assert EventKind.APPROVED not in [e.kind for e in app.tickets.timeline(ticket_id)]
    assert not app.queue.list_jobs(ticket_id=ticket_id)
    refused = [e for e in app.audit.entries() if e.action == "desk.refused"]
    assert refused and refused[0].actor == "sari" and "tidak berwenang" in refused[0].data["reason"]


def _glpi_delivery(body: dict[str, object], at: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A delivery as GLPI 11's ``Webhook::raise`` signs it: HMAC-SHA256 over the body followed by the timestamp."""
    raw = json.dumps(body).encode()
    stamp = str(at if at is not None else int(time.time()))
    mac = hmac.new(HOOK_SECRET.encode(), raw + stamp.encode(), hashlib.sha256).hexdigest()
    return raw, {"X-GLPI-signature": mac, "X-GLPI-timestamp": stamp, "Content-Type": "application/json"}


def test_glpi_s_own_webhooks_are_taken_and_a_requeued_one_is_known_again(glpi: GlpiFake, app: App) -> None:
    with serving(app) as url:
        number = _open(glpi, "hook-glpi")
        body, headers = _glpi_delivery({"event": "new", "item": {"id": number, "name": "Hosting SIMPUS"}})
        forged = dict(headers, **{"X-GLPI-signature": "0" * 64})
        assert httpx.post(f"{url}/hooks/glpi", content=body, headers=forged, timeout=30).status_code == 401
        spbe_form = {"X-Spbe-Signature": headers["X-GLPI-signature"], "X-Spbe-Timestamp": headers["X-GLPI-timestamp"],
                     "X-Spbe-Delivery": "d-1"}  # the right MAC under spbe's header names: not GLPI's scheme
        assert httpx.post(f"{url}/hooks/glpi", content=body, headers=spbe_form, timeout=30).status_code == 401
        answer = httpx.post(f"{url}/hooks/glpi", content=body, headers=headers, timeout=60)
        assert answer.status_code == 202, answer.text
        ticket_id = answer.json()["ticket"]
        assert ticket_id and app.desks.records.ticket_for("glpi", str(number)) == ticket_id
        again = httpx.post(f"{url}/hooks/glpi", content=body, headers=headers, timeout=30)  # GLPI's queue re-sends
        assert again.status_code == 200 and again.json() == {"status": "replay"}

        sari = glpi.person("sari")
        followup = sari.add_followup(number, "Berkas lengkap.", status="processing")
        body, headers = _glpi_delivery({"event": "new", "item": {"id": followup, "itemtype": "Ticket",
                                                                  "items_id": number}})
        answer = httpx.post(f"{url}/hooks/glpi", content=body, headers=headers, timeout=60)
        assert answer.status_code == 202 and answer.json()["issue"] == str(number), answer.text
        assert EventKind.CHECKED in [e.kind for e in app.tickets.timeline(ticket_id)]
        stale, stale_headers = _glpi_delivery({"event": "update", "item": {"id": number}}, at=int(time.time()) - 3600)
        assert httpx.post(f"{url}/hooks/glpi", content=stale, headers=stale_headers, timeout=30).status_code == 401
