"""`spbe config show`, `spbe audit verify|list` and `spbe jobs ...` through the real CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.engine.helpers import approved_ticket
from tests.support.cli import Spbe

CANARY = "CANARY-cfg-secret-5d1c9a"  # noqa: S105 - searched for in the output


@pytest.fixture
def env(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("SPBE_CATALOG_DIR", str(TEST_CATALOG))
    monkeypatch.setenv("SPBE_EXTRA_ACTIONS", json.dumps(list(TEST_ACTIONS)))
    return {}


def spbe(state_dir: Path, *args: str):  # type: ignore[no-untyped-def]
    return Spbe(state_dir=state_dir)(*args)


def test_config_show_masks_secrets_and_shows_references(state_dir, monkeypatch, tmp_path):
    config = tmp_path / "spbe.toml"
    config.write_text(
        '[tickets]\nkind = "embedded"\n[tickets.options]\napi_password = "' + CANARY + '"\n'
        '[secrets.backup_password]\nref = "env:SPBE_BACKUP_PASSWORD"\n'
    )
    monkeypatch.setenv("SPBE_BACKUP_PASSWORD", CANARY)
    result = Spbe(state_dir=state_dir, catch_exceptions=True)("--config", str(config), "config", "show", "--json")
    assert result.exit_code == 0, result.output
    assert CANARY not in result.output
    data = json.loads(result.output)
    assert data["tickets"]["options"]["api_password"] == "********"  # noqa: S105 - the mask
    assert data["secrets"]["backup_password"] == "env:SPBE_BACKUP_PASSWORD"  # noqa: S105 - a reference
    assert data["state_dir"] == str(state_dir)


def test_config_show_masks_nested_options_and_url_credentials(state_dir, monkeypatch):
    monkeypatch.setenv("SPBE_TICKETS", json.dumps({"kind": "embedded", "options": {
        "url": f"https://admin:{CANARY}@desk.example.go.id/api", "auth": {"password": CANARY},
        "credentials": CANARY, "nested": [{"api_token": CANARY}]}}))
    result = spbe(state_dir, "config", "show", "--json")
    assert result.exit_code == 0, result.output
    assert CANARY not in result.output and "admin" not in result.output
    options = json.loads(result.output)["tickets"]["options"]
    assert options["url"] == "https://********@desk.example.go.id/api"


def test_config_error_names_the_key(state_dir, monkeypatch):
    monkeypatch.setenv("SPBE_WORKERS__COUNT", "0")
    result = spbe(state_dir, "config", "show")
    assert result.exit_code == 8
    assert "workers.count" in result.output


def test_audit_verify_detects_an_edited_and_a_deleted_entry(state_dir, env):
    from toolkit.bootstrap import App
    from toolkit.settings import load_settings

    app = App(load_settings(state_dir=state_dir, catalog_dir=TEST_CATALOG, extra_actions=TEST_ACTIONS))
    approved_ticket(app)
    assert spbe(state_dir, "audit", "verify").exit_code == 0
    entries = json.loads(spbe(state_dir, "audit", "list", "--json").output)
    assert [e["action"] for e in entries][:3] == ["ticket.open", "ticket.check", "ticket.approve"]
    with sqlite3.connect(state_dir / "audit.db") as db:
        db.execute("UPDATE audit SET data = ? WHERE seq = 3", (json.dumps({"reason": "ditolak"}),))
    result = spbe(state_dir, "audit", "verify")
    assert result.exit_code == 9
    assert "3" in result.output
    with sqlite3.connect(state_dir / "audit.db") as db:
        db.execute("UPDATE audit SET data = ? WHERE seq = 3", (entries[2]["data"] and json.dumps(
            entries[2]["data"], sort_keys=True, separators=(",", ":")),))
    assert spbe(state_dir, "audit", "verify").exit_code == 0
    with sqlite3.connect(state_dir / "audit.db") as db:
        db.execute("DELETE FROM audit WHERE seq = 2")
    assert spbe(state_dir, "audit", "verify").exit_code == 9


def test_jobs_list_show_logs_cancel_retry(state_dir, env):
    from toolkit.bootstrap import App
    from toolkit.settings import load_settings

    app = App(load_settings(state_dir=state_dir, catalog_dir=TEST_CATALOG, extra_actions=TEST_ACTIONS))
    ticket_id = approved_ticket(app)
    jobs = json.loads(spbe(state_dir, "jobs", "list", "--json").output)
    assert [(j["step_id"], j["state"]) for j in jobs] == [("aksi-pertama", "queued")]
    job_id = str(jobs[0]["id"])
    shown = json.loads(spbe(state_dir, "jobs", "show", job_id, "--json").output)
    assert shown["action"] == "test.counter"
    assert shown["plan"] == {"action": "test.counter", "sleep": 0, "step": "aksi-pertama"}
    assert "plan" in spbe(state_dir, "jobs", "show", job_id).output
    assert spbe(state_dir, "jobs", "cancel", job_id, "--as", "andi").exit_code == 4  # the applicant may not
    result = spbe(state_dir, "jobs", "cancel", job_id, "--as", "rudi")
    assert result.exit_code == 0 and "canceled" in result.output
    assert spbe(state_dir, "jobs", "cancel", job_id, "--as", "rudi").exit_code == 5  # already canceled
    assert spbe(state_dir, "jobs", "retry", job_id, "--as", "budi").exit_code == 4
    assert spbe(state_dir, "jobs", "retry", job_id, "--as", "sari").exit_code == 0
    audit = json.loads(spbe(state_dir, "audit", "list", "--json").output)
    assert [(e["actor"], e["action"]) for e in audit if (e["action"].startswith("job.") and "cancel" in e["action"])
            or e["action"] == "job.retry"] == [("rudi", "job.cancel"), ("sari", "job.retry")]
    result = spbe(state_dir, "run", ticket_id, "--json")
    assert result.exit_code == 0, result.output
    ran = json.loads(result.stdout)["jobs"]
    assert [(j["step_id"], j["state"], j["attempt"]) for j in ran] == [
        ("aksi-pertama", "succeeded", 1), ("aksi-kedua", "succeeded", 1)]
    logs = spbe(state_dir, "jobs", "logs", job_id).output
    assert "counted aksi-pertama" in logs
    assert spbe(state_dir, "jobs", "show", "9999").exit_code == 3
    assert spbe(state_dir, "jobs", "retry", job_id, "--as", "rudi").exit_code == 5  # succeeded: not retried


def test_audit_verify_reports_a_forged_approval_and_a_truncation_as_a_table_and_json(state_dir, env):
    from toolkit.bootstrap import App
    from toolkit.settings import load_settings

    app = App(load_settings(state_dir=state_dir, catalog_dir=TEST_CATALOG, extra_actions=TEST_ACTIONS))
    ticket_id = approved_ticket(app)
    posted = json.loads(spbe(state_dir, "audit", "checkpoint", "--json").output)
    assert posted["tickets"] == [ticket_id]
    ok = spbe(state_dir, "audit", "verify")
    assert ok.exit_code == 0 and "2 ticket decisions matched" in ok.output
    with sqlite3.connect(state_dir / "tickets.db") as db:
        db.execute("INSERT INTO events (ticket_id, at, kind, actor, text, step_id, data) "
                   "VALUES (?, '2026-01-05T10:00:00+00:00', 'approved', 'kadis', 'Disetujui.', 'lain', '{}')",
                   (ticket_id,))
    with sqlite3.connect(state_dir / "audit.db") as db:
        db.execute("DELETE FROM audit WHERE seq >= 3")
    (state_dir / "audit.db.head").write_text(json.dumps({"seq": 2, "hash": "0" * 64}))
    result = spbe(state_dir, "audit", "verify")
    assert result.exit_code == 9
    assert "Problem" in result.output and ticket_id in result.output and "approval by kadis" in result.output
    problems = json.loads(spbe(state_dir, "audit", "verify", "--json").output)["problems"]
    assert {p["where"] for p in problems} == {"anchor", "checkpoint", "ticket"}
    assert any(p["where"] == "ticket" and p["seq"] == posted["seq"] and "missing" in p["problem"] for p in problems)


def test_audit_keygen_writes_a_private_file_and_never_prints_the_key(state_dir, tmp_path, monkeypatch):
    target = tmp_path / "keys" / "audit.key"
    result = spbe(state_dir, "audit", "keygen", "--output", str(target))
    assert result.exit_code == 0, result.output
    key = target.read_text().strip()
    assert len(key) == 44 and key not in result.output and str(target) in result.output
    assert target.stat().st_mode & 0o777 == 0o600
    again = spbe(state_dir, "audit", "keygen", "--output", str(target))
    assert again.exit_code == 8 and target.read_text().strip() == key  # never overwritten
    assert spbe(state_dir, "audit", "keygen", "--output", str(state_dir / "audit.key")).exit_code == 8
    monkeypatch.delenv("SPBE_AUDIT_KEY")
    monkeypatch.setenv("SPBE_AUDIT__KEY__REF", f"file:{target}")
    assert spbe(state_dir, "audit", "verify").exit_code == 0
    assert key not in spbe(state_dir, "config", "show", "--json").output


def test_serve_refuses_to_start_without_an_audit_key(state_dir, env, monkeypatch):
    monkeypatch.delenv("SPBE_AUDIT_KEY")
    result = spbe(state_dir, "serve", "--duration", "0.1")
    assert result.exit_code == 8
    assert "settings.audit.key" in result.output and "SPBE_AUDIT_KEY" in result.output
    assert not (state_dir / "audit.db").exists()
