"""`spbe secret reveal|list|keygen` through the real CLI: the applicant collects the credential once,
everyone else and every second try is refused with the right exit code and an audit entry, and the
secret (a canary) appears exactly once, on the first reveal's standard output, and nowhere else:
not in the ticket, the audit log, error output, logs, or any file of the state directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from pydantic import SecretStr

from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import EventKind, NewEvent
from toolkit.masking import last4
from toolkit.settings import load_settings
from toolkit.vault import SecretVault, VaultMeta, generate_key

CANARY = "CANARY-cli-secret-2c4e6a8b0d1f"  # noqa: S105 - searched for everywhere it must not be


@pytest.fixture
def issued(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[App, str]:
    """A ticket whose credential was issued the way the SPLP action does it: the secret into the
    vault for the applicant, the ticket told only the masked value."""
    monkeypatch.setenv("SPBE_CATALOG_DIR", str(TEST_CATALOG))
    monkeypatch.setenv("SPBE_EXTRA_ACTIONS", json.dumps(list(TEST_ACTIONS)))
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())
    app = App(load_settings(state_dir=state_dir))
    ticket = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji kunci API", {"instansi": "Dinas Uji"}, [])
    record = app.vault.put(ticket.id, "api_key", SecretStr(CANARY),
                           meta=VaultMeta(recipient=ticket.requester, label="API key simpeg-dinkes",
                                          attributes={"consumer": "simpeg-dinkes"}))
    app.tickets.post(ticket.id, NewEvent(kind=EventKind.COMMENT, actor="system",
                                         text=f"Kunci API: {record.masked} (ambil dengan 'spbe secret reveal')"))
    return app, ticket.id


def spbe(state_dir: Path, *args: str) -> Result:
    return Spbe(state_dir=state_dir)(*args)


def test_reveal_once_then_refused(issued: tuple[App, str], state_dir: Path) -> None:
    app, ticket_id = issued
    first = spbe(state_dir, "secret", "reveal", ticket_id, "--as", "andi")
    assert first.exit_code == 0, first.output
    assert first.stdout == CANARY + "\n" and "shown this once" in first.stderr
    second = spbe(state_dir, "secret", "reveal", ticket_id, "--name", "api_key", "--as", "andi")
    assert second.exit_code == 5 and "already revealed" in second.stderr and CANARY not in second.output
    stranger = spbe(state_dir, "--json-errors", "secret", "reveal", ticket_id, "--as", "sari")
    assert stranger.exit_code == 4 and json.loads(stranger.stderr)["error"] == "PermissionDeniedError"
    refused = [(e.actor, e.data["reason"]) for e in app.audit.entries(ticket_id)
               if e.action == "secret.reveal_refused"]
    assert refused == [("andi", "already_revealed"), ("sari", "not_recipient")]


def test_reveal_as_json(issued: tuple[App, str], state_dir: Path) -> None:
    _, ticket_id = issued
    result = spbe(state_dir, "secret", "reveal", ticket_id, "--as", "andi", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["secret"] == CANARY and data["attributes"] == {"consumer": "simpeg-dinkes"} and data["revealed_at"]


def test_list_shows_only_masked_metadata(issued: tuple[App, str], state_dir: Path) -> None:
    _, ticket_id = issued
    listed = spbe(state_dir, "secret", "list", ticket_id, "--json")
    assert listed.exit_code == 0 and CANARY not in listed.output
    [row] = json.loads(listed.stdout)
    assert (row["name"], row["masked"], row["recipient"], row["status"]) == ("api_key", last4(CANARY), "andi",
                                                                             "sealed")
    table = spbe(state_dir, "secret", "list", ticket_id)
    assert table.exit_code == 0 and last4(CANARY) in table.stdout and "sealed" in table.stdout


def test_name_is_required_when_there_are_several(issued: tuple[App, str], state_dir: Path) -> None:
    app, ticket_id = issued
    app.vault.put(ticket_id, "client_secret", SecretStr("second-secret-value"), meta=VaultMeta(recipient="andi"))
    result = spbe(state_dir, "secret", "reveal", ticket_id, "--as", "andi")
    assert result.exit_code == 2 and "api_key, client_secret" in result.stderr
    assert spbe(state_dir, "secret", "reveal", "SPBE-1999-00001", "--as", "andi").exit_code == 3
    assert spbe(state_dir, "secret", "reveal", "../../etc", "--name", "x", "--as", "andi").exit_code == 2


def test_keygen_and_a_missing_key(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = spbe(state_dir, "secret", "keygen").stdout.strip()
    assert key != spbe(state_dir, "secret", "keygen").stdout.strip()
    SecretVault(state_dir / "check.db", SecretStr(key), audit=App(load_settings(state_dir=state_dir)).audit)
    monkeypatch.delenv("SPBE_VAULT_KEY", raising=False)
    result = spbe(state_dir, "secret", "list", "SPBE-2025-00001")
    assert result.exit_code == 8 and "SPBE_VAULT_KEY" in result.stderr and "spbe secret keygen" in result.stderr


def test_canary_only_on_the_first_reveals_stdout(issued: tuple[App, str], state_dir: Path) -> None:
    app, ticket_id = issued
    outputs = [spbe(state_dir, "-vv", "secret", *args) for args in (
        ("list", ticket_id), ("reveal", ticket_id, "--as", "sari"), ("reveal", ticket_id, "--as", "andi"),
        ("reveal", ticket_id, "--as", "andi"), ("list", ticket_id, "--json"))]
    assert [o.exit_code for o in outputs] == [0, 4, 0, 5, 0]
    assert sum(o.stdout.count(CANARY) for o in outputs) == 1 and outputs[2].stdout.count(CANARY) == 1
    assert all(CANARY not in o.stderr for o in outputs)
    assert all(CANARY not in e.text and CANARY not in json.dumps(e.data) for e in app.tickets.timeline(ticket_id))
    assert any(last4(CANARY) in e.text for e in app.tickets.timeline(ticket_id))
    assert all(CANARY not in e.model_dump_json() for e in app.audit.entries()) and app.audit.verify().ok
    for path in state_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
