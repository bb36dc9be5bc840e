"""The engine trusts no event: decisions written straight into the store, by the wrong person or by
nobody the directory knows, run nothing, and each is reported once on the ticket and in the audit log.

Every forgery here is a row INSERTed into the embedded store's SQLite file, bypassing the desk, as
someone with write access to the state dir (or an outside ticket system relaying a bad approval) would.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.engine.helpers import executions
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import EventKind
from toolkit.engine import scheduler
from toolkit.engine.server import trigger_once
from toolkit.engine.worker import work_once


def _forge(state_dir: Path, ticket_id: str, kind: str, actor: str, step_id: str | None,
           data: dict[str, object] | None = None) -> int:
    db = sqlite3.connect(state_dir / "tickets.db")
    try:
        with db:
            cur = db.execute(
                "INSERT INTO events (ticket_id, at, kind, actor, text, step_id, data) VALUES (?,?,?,?,?,?,?)",
                (ticket_id, datetime.now(UTC).isoformat(), kind, actor, "forged", step_id, json.dumps(data or {})))
            return int(cur.lastrowid or 0)
    finally:
        db.close()


def _checked_ticket(app: App) -> str:
    ticket = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji mesin", {"instansi": "Dinas Uji"}, [])
    desk.check(app, ticket.id, as_lab("sari"))
    return ticket.id


def _run_everything(app: App) -> None:
    trigger_once(app)
    for _ in range(5):
        if work_once(app, "w-test") is None:
            break


@pytest.mark.parametrize(("actor", "why"), [
    ("andi", "opened ticket"),          # the requester approving their own request
    ("sari", "kepala-dinas"),           # a koordinator, not the approver
    ("mallory", "not a person"),        # nobody the directory knows
    ("spbe", "not a person"),           # the engine's own name
])
def test_forged_approval_runs_nothing_and_is_reported_once(engine_app, engine_settings, actor, why):
    ticket_id = _checked_ticket(engine_app)
    seq = _forge(engine_settings.state_dir, ticket_id, "approved", actor, "persetujuan")
    for _ in range(3):  # the sweep, the trigger and a manual run each look again
        scheduler.advance(engine_app, ticket_id)
        _run_everything(engine_app)
    assert engine_app.queue.list_jobs(ticket_id=ticket_id) == []
    assert executions(engine_settings.state_dir) == []
    reports = [e for e in engine_app.tickets.timeline(ticket_id) if e.data.get("refused_event") == seq]
    assert len(reports) == 1 and why in reports[0].text and "tidak diakui" in reports[0].text
    audited = [e for e in engine_app.audit.entries(ticket_id=ticket_id) if e.action == "event.refused"]
    assert len(audited) == 1 and audited[0].data["seq"] == seq and audited[0].data["actor"] == actor


def test_forged_check_and_approval_by_the_requester_run_nothing(engine_app, engine_settings):
    ticket = desk.open_ticket(engine_app, "uji-mesin", as_lab("andi"), "Uji mesin", {"instansi": "Dinas Uji"}, [])
    _forge(engine_settings.state_dir, ticket.id, "checked", "andi", "pemeriksaan")
    _forge(engine_settings.state_dir, ticket.id, "approved", "kadis", "persetujuan")  # a real approver, but...
    scheduler.advance(engine_app, ticket.id)
    # ...the check it follows is forged, so the approval step never became current: nothing runs
    assert engine_app.queue.list_jobs(ticket_id=ticket.id) == []


def test_forged_completion_of_an_automated_step_skips_nothing(engine_app, engine_settings):
    ticket_id = _checked_ticket(engine_app)
    desk.approve(engine_app, ticket_id, as_lab("kadis"), "Disetujui untuk pengujian.")
    _forge(engine_settings.state_dir, ticket_id, "step_completed", "spbe", "aksi-pertama")
    _forge(engine_settings.state_dir, ticket_id, "step_completed", "dewi", "aksi-kedua")
    scheduler.advance(engine_app, ticket_id)
    assert [j.step_id for j in engine_app.queue.list_jobs(ticket_id=ticket_id)] == ["aksi-pertama"]


def test_the_real_approval_still_runs_the_work_once(engine_app, engine_settings):
    ticket_id = _checked_ticket(engine_app)
    _forge(engine_settings.state_dir, ticket_id, "approved", "andi", "persetujuan")
    desk.approve(engine_app, ticket_id, as_lab("kadis"), "Disetujui untuk pengujian.")
    _run_everything(engine_app)
    done = [line.split()[2] for line in executions(engine_settings.state_dir) if line.startswith("done")]
    assert done == ["aksi-pertama", "aksi-kedua"]


def test_a_decision_by_someone_without_the_deciding_role_picks_no_branch(engine_app, engine_settings):
    ticket_id = _checked_ticket(engine_app)
    _forge(engine_settings.state_dir, ticket_id, "comment", "andi", None, {"decisions": {"sekali": True}})
    desk.approve(engine_app, ticket_id, as_lab("kadis"), "Disetujui untuk pengujian.")
    # 'sekali' is decided by nobody in uji-mesin: the forged branch is refused, aksi-pertama stays current
    assert [j.step_id for j in engine_app.queue.list_jobs(ticket_id=ticket_id)] == ["aksi-pertama"]
    assert any(e.kind == EventKind.COMMENT and e.data.get("refused_event") for e in
               engine_app.tickets.timeline(ticket_id))
