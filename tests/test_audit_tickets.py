"""The audit log against the tickets, on the real embedded ticket store: every decision on a ticket
needs its audit entry, and checkpoints posted to the tickets survive a local rewrite of everything
in the state directory and of the checkpoint file."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.engine.helpers import approved_ticket
from tests.support.principals import as_lab
from toolkit.audit.reconcile import CHECKPOINT_DATA, verify_with_tickets
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.incident import decide
from toolkit.domain.tickets.models import AttachmentUpload, EventKind, NewEvent
from toolkit.engine.audit_checkpoints import publish_checkpoint
from toolkit.errors import ConfigurationError
from toolkit.settings import load_settings

LETTER = AttachmentUpload(name="surat.pdf", media_type="application/pdf", content=b"%PDF-1.4\n%%EOF\n",
                          kind="surat_permohonan")
SURAKARTA = {"pelapor_nama": "Siti Pelapor", "pelapor_kontak": "0812-3456-7890", "instansi": "Dinas Kesehatan",
             "objek_terdampak": "pd-app-01", "deskripsi": "Situs berubah tampilan."}


def _forge_event(state_dir: Path, ticket_id: str, kind: str, actor: str, step_id: str | None,
                 data: dict[str, object] | None = None) -> None:
    """Straight into the ticket store's database, as someone with write access to the state dir."""
    with sqlite3.connect(state_dir / "tickets.db") as db:
        db.execute("INSERT INTO events (ticket_id, at, kind, actor, text, step_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (ticket_id, datetime.now(UTC).isoformat(), kind, actor, "Disetujui.", step_id,
                    json.dumps(data or {})))
    db.close()


def test_honest_decisions_match_and_a_forged_approval_is_reported(engine_app: App, state_dir: Path) -> None:
    ticket_id = approved_ticket(engine_app)
    result = verify_with_tickets(engine_app.audit, engine_app.tickets)
    assert result.ok and result.decisions == 2, result.problems
    approval = next(e for e in engine_app.tickets.timeline(ticket_id) if e.kind == EventKind.APPROVED)
    _forge_event(state_dir, ticket_id, "approved", "kadis", approval.step_id)
    result = verify_with_tickets(engine_app.audit, engine_app.tickets)
    assert not result.ok and result.decisions == 3
    assert [(p.where, p.ticket_id) for p in result.problems] == [("ticket", ticket_id)]
    assert f"approval by kadis (step {approval.step_id}" in result.problems[0].problem
    assert engine_app.audit.verify().ok  # the chain alone cannot see it: it was never in the chain


def test_a_branch_decision_matches_and_a_forged_one_is_reported(state_dir: Path) -> None:
    app = App(load_settings(state_dir=state_dir))
    ticket = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement situs Dinkes", SURAKARTA,
                              [LETTER])
    desk.record_step(app, ticket.id, as_lab("hendra"), "tindak-lanjut-laporan", "Didisposisikan ke analis.")
    decide(app, ticket.id, as_lab("hendra"), {"jenis_insiden": "keamanan"}, "Ada indikasi akses tidak sah.")
    assert verify_with_tickets(app.audit, app.tickets).ok
    _forge_event(state_dir, ticket.id, "comment", "hendra", None,
                 {"decisions": {"jenis_insiden": "umum"}, "reason": "palsu"})
    problems = verify_with_tickets(app.audit, app.tickets).problems
    assert len(problems) == 1 and problems[0].ticket_id == ticket.id and "decision by hendra" in problems[0].problem


def test_a_changed_approver_is_reported_on_the_ticket_too(engine_app: App, state_dir: Path) -> None:
    """Rewriting who approved in the ticket store leaves the audit entry without its decision."""
    ticket_id = approved_ticket(engine_app)
    with sqlite3.connect(state_dir / "tickets.db") as db:
        db.execute("UPDATE events SET actor = 'sari' WHERE kind = 'approved' AND ticket_id = ?", (ticket_id,))
    db.close()
    problems = verify_with_tickets(engine_app.audit, engine_app.tickets).problems
    assert [p.problem.split(" (")[0] for p in problems] == ["approval by sari"]


def test_checkpoints_on_the_ticket_survive_a_rewritten_state_dir_and_checkpoint_file(
        engine_app: App, state_dir: Path) -> None:
    """Delete the approval and everything after it, put back the head anchor saved when the chain
    was that short (validly signed), cut the checkpoint file to match: the chain and the file agree,
    and only the tickets can tell."""
    audit = engine_app.audit
    ticket = desk.open_ticket(engine_app, "uji-mesin", as_lab("andi"), "Uji mesin", {"instansi": "Dinas Uji"}, [])
    desk.check(engine_app, ticket.id, as_lab("sari"))
    saved_anchor = audit.anchor_path.read_bytes()
    kept = audit.head()[0]
    desk.approve(engine_app, ticket.id, as_lab("kadis"), "Disetujui untuk pengujian.")
    published = publish_checkpoint(engine_app)
    assert published.tickets == [ticket.id] and published.seq > kept
    comment = engine_app.tickets.timeline(ticket.id)[-1]
    assert comment.kind == EventKind.COMMENT and comment.actor == "spbe"
    assert comment.text.startswith(f"**Titik periksa log audit #{published.seq}**: hash `{published.hash}`")
    assert verify_with_tickets(audit, engine_app.tickets).ok

    with sqlite3.connect(audit.path) as db:
        db.execute("DELETE FROM audit WHERE seq > ?", (kept,))
    db.close()
    audit.anchor_path.write_bytes(saved_anchor)
    checkpoint_file = engine_app.settings.audit.checkpoint_file
    checkpoint_file.write_text("".join(line + "\n" for line in checkpoint_file.read_text().splitlines()[:kept]))
    assert audit.verify().ok  # everything local agrees

    problems = verify_with_tickets(audit, engine_app.tickets).problems
    ahead = [p for p in problems if "checkpoint at" in p.problem]
    assert [(p.where, p.ticket_id, p.seq) for p in ahead] == [("ticket", ticket.id, published.seq)]
    assert f"entries after {kept} missing" in ahead[0].problem
    assert any(p.problem.startswith("approval by kadis") for p in problems)


def test_a_checkpoint_comment_not_signed_with_the_key_is_reported(engine_app: App) -> None:
    ticket_id = approved_ticket(engine_app)
    seq, digest = engine_app.audit.head()
    engine_app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor="spbe", text="palsu", data={
        CHECKPOINT_DATA: {"seq": seq, "hash": digest, "at": "2026-01-01T00:00:00+00:00", "mac": "0" * 64}}))
    problems = verify_with_tickets(engine_app.audit, engine_app.tickets).problems
    assert [(p.where, "not signed" in p.problem) for p in problems] == [("ticket", True)]


def test_publishing_twice_posts_once_and_skips_unknown_tickets(engine_app: App) -> None:
    ticket_id = approved_ticket(engine_app)
    engine_app.audit.append("rina", "api.revoke", "T-9", {"consumer": "x", "auth": "lab-as"})  # no such ticket here
    first = publish_checkpoint(engine_app)
    assert first.tickets == [ticket_id]
    again = publish_checkpoint(engine_app)
    assert again.tickets == [] and again.seq == first.seq
    assert sum(CHECKPOINT_DATA in e.data for e in engine_app.tickets.timeline(ticket_id)) == 1
    assert verify_with_tickets(engine_app.audit, engine_app.tickets).ok


def test_no_key_no_audit_log(state_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SPBE_AUDIT_KEY")
    with pytest.raises(ConfigurationError, match=r"set SPBE_AUDIT_KEY \(settings.audit.key.*spbe audit keygen"):
        App(load_settings(state_dir=state_dir)).audit  # noqa: B018
    monkeypatch.setenv("SPBE_AUDIT_KEY", "kurang-panjang")
    with pytest.raises(ConfigurationError, match="32 random bytes") as info:
        App(load_settings(state_dir=state_dir)).audit  # noqa: B018
    assert "kurang-panjang" not in str(info.value)
    inside = state_dir / "audit.key"
    inside.write_text("x")
    with pytest.raises(ConfigurationError, match="inside state_dir"):
        App(load_settings(state_dir=state_dir, audit={"key": {"ref": f"file:{inside}"}})).audit  # noqa: B018
    with pytest.raises(ConfigurationError, match=r"settings\.audit\.checkpoint_file"):
        App(load_settings(state_dir=state_dir, audit={"checkpoint_file": state_dir / "cp.jsonl"})).audit  # noqa: B018
    assert not (state_dir / "audit.db").exists()


def test_a_checkpoint_prints_its_time_in_each_tickets_office_zone(state_dir: Path) -> None:
    app = App(load_settings(state_dir=state_dir))
    surakarta = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement situs Dinkes", SURAKARTA,
                                 [LETTER])
    gorontalo = desk.open_ticket(app, "splp", as_lab("andi"), "API kependudukan", {
        "instansi": "Dinas Kesehatan", "api_id": "kependudukan", "aplikasi_konsumen": "simpus",
        "kebutuhan_data": "NIK pasien", "rate_limit_per_menit": 60, "kontak_email": "it@dinkes.example.go.id",
    }, [LETTER])
    published = publish_checkpoint(app)
    assert set(published.tickets) == {surakarta.id, gorontalo.id}
    utc = datetime.fromisoformat(published.at).astimezone(UTC)

    def said(ticket_id: str) -> str:
        return next(e.text for e in app.tickets.timeline(ticket_id) if CHECKPOINT_DATA in e.data)

    wib, wita = f"{(utc.hour + 7) % 24:02d}:{utc.minute:02d} WIB", f"{(utc.hour + 8) % 24:02d}:{utc.minute:02d} WITA"
    assert wib in said(surakarta.id) and wita in said(gorontalo.id), (said(surakarta.id), said(gorontalo.id))
