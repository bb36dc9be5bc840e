"""`spbe api list|revoke|rotate|expire` against the lab's REAL Express Gateway.

Each credential is issued by the real engine (the SPLP ticket's steps 5-6), and every claim about the
gateway is proved by a real call through its proxy: a revoked, rotated-out or expired key is refused
(401), the new one passes (200). The secret never appears in the CLI output, the ticket or the audit log.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from lab.models import LabState
from tests.fixtures.lab import config_env
from tests.splp.helpers import call, comments, facts, issue
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.engine.server import Server
from toolkit.errors import ConflictError
from toolkit.ports.jobs import JobState
from toolkit.settings import load_settings
from toolkit.splp.lifecycle import expire_due
from toolkit.vault import generate_key

pytestmark = [pytest.mark.lab]


@pytest.fixture
def app(lab: LabState, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    assert lab.gateway is not None, lab.warnings
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    for key, value in config_env(lab).items():  # the CLI commands below read the same settings file
        monkeypatch.setenv(key, value)
    return App(load_settings(state_dir=state_dir))


def spbe(app: App, *args: str) -> Result:
    return Spbe(state_dir=app.settings.state_dir, env={"COLUMNS": "220"})("--json-errors", *args)


def unique(prefix: str = "app") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def issued_with_secret(app: App, consumer: str) -> tuple[str, dict[str, str], str]:
    ticket, jobs = issue(app, consumer)
    assert [j.state for j in jobs] == [JobState.SUCCEEDED, JobState.SUCCEEDED], [j.error for j in jobs]
    secret = app.vault.reveal(ticket.id, "api-key", as_lab("andi")).get_secret_value()
    return ticket.id, facts(jobs), secret


def test_list_shows_every_issued_credential_masked(app: App) -> None:
    ticket_id, issued, secret = issued_with_secret(app, unique())
    out = spbe(app, "api", "list", "--json")
    assert out.exit_code == 0, out.output
    row = next(r for r in json.loads(out.stdout) if r["ticket_id"] == ticket_id)
    assert (row["api"], row["consumer"], row["per_minute"], row["status"]) == (
        "kependudukan", issued["consumer"], 5, "active")
    assert row["masked_key"].endswith(secret[-4:]) and row["key_id"] == issued["key_id"]
    issued_at, expires_at = datetime.fromisoformat(row["issued_at"]), datetime.fromisoformat(row["expires_at"])
    assert timedelta(days=364) < expires_at - issued_at <= timedelta(days=366)
    table = spbe(app, "api", "list")
    assert issued["consumer"] in table.stdout and "active" in table.stdout
    assert secret not in out.output + table.output


def test_revoke_by_ticket_stops_the_key_at_the_proxy(app: App) -> None:
    ticket_id, issued, secret = issued_with_secret(app, unique())
    assert call(issued["endpoint"], issued["key_id"], secret) == 200

    # Not the provider of this API, an applicant, or without a reason: refused, nothing changes.
    other = spbe(app, "api", "revoke", "--ticket", ticket_id, "--as", "prov-dpmptsp", "--reason", "tidak perlu")
    assert other.exit_code == 4 and json.loads(other.stderr)["error"] == "PermissionDeniedError"
    assert spbe(app, "api", "revoke", "--ticket", ticket_id, "--as", "andi", "--reason", "x y z").exit_code == 4
    assert spbe(app, "api", "revoke", "--ticket", ticket_id, "--as", "prov-dukcapil").exit_code == 2
    assert spbe(app, "api", "revoke", "--ticket", ticket_id, "--as", "sari", "--reason", " ").exit_code == 2
    assert call(issued["endpoint"], issued["key_id"], secret) == 200

    done = spbe(app, "api", "revoke", "--ticket", ticket_id, "--as", "prov-dukcapil", "--reason",
                "Kerja sama pemanfaatan data berakhir.", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)[0]["revoked_key_ids"] == [issued["key_id"]]
    assert call(issued["endpoint"], issued["key_id"], secret) == 401
    again = spbe(app, "api", "revoke", "--ticket", ticket_id, "--as", "rina", "--reason", "ulang", "--json")
    assert json.loads(again.stdout)[0]["changed"] is False

    row = next(r for r in json.loads(spbe(app, "api", "list", "--json").stdout) if r["ticket_id"] == ticket_id)
    assert (row["status"], row["ended_by"]) == ("revoked", "prov-dukcapil")
    assert app.vault.masked(ticket_id, "api-key").status == "revoked"
    actions = [(e.actor, e.action) for e in app.audit.entries(ticket_id) if e.action.startswith("api.")]
    assert actions == [("prov-dpmptsp", "api.revoke.refused"), ("andi", "api.revoke.refused"),
                       ("prov-dukcapil", "api.revoke")]
    said = [c for c in comments(app, ticket_id) if "dicabut" in c]
    assert len(said) == 1 and "Kerja sama pemanfaatan data berakhir." in said[0] and secret[-4:] in said[0]
    assert all(secret not in c for c in comments(app, ticket_id))


def test_revoke_by_consumer_name(app: App) -> None:
    consumer = unique()
    _ticket_id, issued, secret = issued_with_secret(app, consumer)
    out = spbe(app, "api", "revoke", consumer, "--as", "rina", "--reason", "Kunci bocor di repositori publik.")
    assert out.exit_code == 0, out.output and consumer in out.stdout
    assert call(issued["endpoint"], issued["key_id"], secret) == 401
    assert spbe(app, "api", "revoke", unique(), "--as", "rina", "--reason", "tidak ada").exit_code == 3
    assert spbe(app, "api", "revoke", "x;rm -rf /", "--as", "rina", "--reason", "injeksi").exit_code == 2


def test_rotate_gives_a_new_key_for_one_reveal_and_kills_the_old(app: App) -> None:
    ticket_id, issued, old = issued_with_secret(app, unique())
    out = spbe(app, "api", "rotate", "--ticket", ticket_id, "--as", "sari", "--reason", "Rotasi berkala.", "--json")
    assert out.exit_code == 0, out.output
    rotated = json.loads(out.stdout)[0]
    assert rotated["new_key_id"] != issued["key_id"] and rotated["revoked_key_ids"] == [issued["key_id"]]
    assert call(issued["endpoint"], issued["key_id"], old) == 401  # the old key is refused at the proxy

    new = app.vault.reveal(ticket_id, "api-key", as_lab("andi")).get_secret_value()  # the applicant's one reveal
    with pytest.raises(ConflictError):
        app.vault.reveal(ticket_id, "api-key", as_lab("andi"))
    assert rotated["new_masked"].endswith(new[-4:]) and new not in out.output
    assert call(issued["endpoint"], rotated["new_key_id"], new) == 200  # ACL and quota went with it
    row = next(r for r in json.loads(spbe(app, "api", "list", "--json").stdout) if r["ticket_id"] == ticket_id)
    assert (row["key_id"], row["masked_key"], row["status"]) == (rotated["new_key_id"], rotated["new_masked"], "active")
    said = [c for c in comments(app, ticket_id) if "rotasi" in c]
    # The masked key as the Markdown comment shows it (its asterisks escaped, so they are not emphasis).
    assert len(said) == 1 and rotated["new_masked"] in said[0] and new not in said[0]
    assert [e.action for e in app.audit.entries(ticket_id)].count("api.rotate") == 1
    spbe(app, "api", "revoke", "--ticket", ticket_id, "--as", "sari", "--reason", "selesai")
    refused = spbe(app, "api", "rotate", "--ticket", ticket_id, "--as", "sari", "--reason", "lagi")
    assert refused.exit_code == 5  # a revoked credential is not brought back by a rotation


def _backdate(app: App, ticket_id: str) -> None:
    store = app.state.issued
    cred = store.get(ticket_id)
    store.rotated(ticket_id, key_id=cred.key_id, masked=cred.masked, issued_at=cred.issued_at - timedelta(days=400),
                  expires_at=datetime.now(UTC) - timedelta(minutes=1))


def test_expiry_sweep_revokes_once_with_an_indonesian_comment(app: App) -> None:
    ticket_id, issued, secret = issued_with_secret(app, unique())
    _live_id, live, live_secret = issued_with_secret(app, unique())
    assert spbe(app, "api", "expire", "--once", "--json").stdout.strip() == "[]"  # nothing due yet
    _backdate(app, ticket_id)
    assert json.loads(spbe(app, "api", "list", "--json", "--status", "expired").stdout)[0]["ticket_id"] == ticket_id

    out = spbe(app, "api", "expire", "--once", "--json")
    assert out.exit_code == 0, out.output
    assert [(o["ticket_id"], o["changed"]) for o in json.loads(out.stdout)] == [(ticket_id, True)]
    assert call(issued["endpoint"], issued["key_id"], secret) == 401
    assert call(live["endpoint"], live["key_id"], live_secret) == 200  # not due: untouched
    assert spbe(app, "api", "expire", "--once", "--json").stdout.strip() == "[]"  # once
    said = [c for c in comments(app, ticket_id) if "Masa berlaku" in c]
    assert len(said) == 1 and "dinonaktifkan secara otomatis" in said[0]
    assert [e.action for e in app.audit.entries(ticket_id)].count("api.expire") == 1
    assert app.vault.masked(ticket_id, "api-key").status == "revoked"


def test_serve_runs_the_expiry_sweep(app: App) -> None:
    ticket_id, issued, secret = issued_with_secret(app, unique())
    _backdate(app, ticket_id)
    Server(app, workers=1, api_expiry_every=0.2, shutdown_grace=5).run(duration=2.0)
    assert call(issued["endpoint"], issued["key_id"], secret) == 401
    assert app.state.issued.get(ticket_id).status == "expired"
    assert len([c for c in comments(app, ticket_id) if "Masa berlaku" in c]) == 1


def test_expiry_sweeps_racing_claim_each_credential_once(app: App) -> None:
    ticket_id, _, _ = issued_with_secret(app, unique())
    _backdate(app, ticket_id)
    store = app.state.issued
    first = store.claim_due(datetime.now(UTC))
    second = store.claim_due(datetime.now(UTC))  # a second sweep while the first is mid-way
    assert [c.ticket_id for c in first] == [ticket_id] and second == []
    store.release(ticket_id)  # the first sweep failed at the gateway: the next one takes it again
    assert [o.ticket_id for o in expire_due(app)] == [ticket_id]
