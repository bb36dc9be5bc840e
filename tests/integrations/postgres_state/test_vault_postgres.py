"""The secrets vault with its table in PostgreSQL (``state.kind = "postgres"``; `integrations.state.postgres_vault`).

The vault's logic is `toolkit.vault`'s either way (tests/test_vault.py covers it on SQLite); here: the
composition root puts the table in the shared database, a reveal is handed out once even to processes on
"two hosts" at once, a put is idempotent and refuses a different value, revocation destroys the
ciphertext in the database, and what is stored there is ciphertext bound to its row, never the secret.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from integrations.state.postgres_vault import PgVaultTables
from tests.support.principals import as_lab
from toolkit.audit import generate_key as audit_key
from toolkit.bootstrap import App
from toolkit.errors import ConflictError, IntegrityError, PermissionDeniedError
from toolkit.secret_types import SecretRef
from toolkit.settings import Settings
from toolkit.vault import VaultMeta, generate_key

CANARY = "CANARY-pgvault-3c9e51a0d7"  # noqa: S105 - searched for where it must not be
TICKET = "SPBE-2026-00019"
META = VaultMeta(recipient="andi", label="API key simpeg", attributes={"consumer": "simpeg"})


def _settings(state_dir: Path, checkpoint_file: Path) -> Settings:
    return Settings(state_dir=state_dir, state={"kind": "postgres"},
                    secrets={"postgres_dsn": SecretRef(ref="env:SPBE_TEST_VAULT_DSN")},
                    audit={"checkpoint_file": checkpoint_file})


@pytest.fixture
def app(pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.setenv("SPBE_TEST_VAULT_DSN", pg_dsn)
    monkeypatch.setenv("SPBE_VAULT_KEY", generate_key())  # children (spawn) inherit both keys
    monkeypatch.setenv("SPBE_AUDIT_KEY", audit_key())
    built = App(_settings(tmp_path / "state", tmp_path / "cp" / "checkpoints.jsonl"))
    yield built
    built.close()


def test_the_vault_table_is_in_the_shared_database(app: App, pg_dsn: str, tmp_path: Path) -> None:
    assert isinstance(app.vault.tables, PgVaultTables)
    record = app.vault.put(TICKET, "api_key", SecretStr(CANARY), meta=META)
    assert app.vault.put(TICKET, "api_key", SecretStr(CANARY), meta=META) == record, "idempotent"
    with pytest.raises(ConflictError, match="different secret"):
        app.vault.put(TICKET, "api_key", SecretStr(CANARY + "x"), meta=META)
    with pytest.raises(PermissionDeniedError):
        app.vault.reveal(TICKET, "api_key", as_lab("sari"))
    assert app.vault.reveal(TICKET, "api_key", as_lab("andi")).get_secret_value() == CANARY
    with pytest.raises(ConflictError, match="already revealed"):
        app.vault.reveal(TICKET, "api_key", as_lab("andi"))
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute("SELECT ciphertext, nonce, masked FROM secrets").fetchall()
    assert len(rows) == 1 and CANARY.encode() not in bytes(rows[0][0]) and rows[0][2].endswith(CANARY[-4:])
    assert not (tmp_path / "state" / "state.db").exists(), "nothing of the vault in a local file"
    app.vault.revoke(TICKET, "api_key", actor="csirt", reason="bocor")
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT ciphertext, nonce FROM secrets").fetchone() == (None, None)


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(app: App, pg_dsn: str) -> None:
    app.vault.put(TICKET, "api_key", SecretStr(CANARY), meta=META)
    app.vault.put("SPBE-2026-00020", "api_key", SecretStr("another-secret-value"), meta=META)
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("UPDATE secrets SET (ciphertext, nonce) = (SELECT ciphertext, nonce FROM secrets "
                     "WHERE ticket_id = %s) WHERE ticket_id = 'SPBE-2026-00020'", (TICKET,))
    with pytest.raises(IntegrityError, match="altered"):
        app.vault.use("SPBE-2026-00020", "api_key", purpose="uji coba")


def _reveal_from_child(state_dir: str, checkpoint_file: str, go: object, out: object) -> None:
    app = App(_settings(Path(state_dir), Path(checkpoint_file)))
    go.wait(60)  # type: ignore[attr-defined]
    try:
        out.put(app.vault.reveal(TICKET, "api_key", as_lab("andi")).get_secret_value() == CANARY)  # type: ignore[attr-defined]
    except ConflictError:
        out.put(False)  # type: ignore[attr-defined]
    app.close()


@pytest.mark.slow  # processes of their own (spawn), seconds each: the full suite runs it
def test_processes_revealing_at_once_get_it_once(app: App, tmp_path: Path) -> None:
    app.vault.put(TICKET, "api_key", SecretStr(CANARY), meta=META)
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_reveal_from_child,
                         args=(str(tmp_path / "state"), str(tmp_path / "cp" / "checkpoints.jsonl"), go, out))
             for _ in range(4)]
    for proc in procs:
        proc.start()
    got = sorted(out.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert got == [False, False, False, True]
    refused = [e.data["reason"] for e in app.audit.entries() if e.action == "secret.reveal_refused"]
    assert refused == ["already_revealed"] * 3
