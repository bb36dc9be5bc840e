"""The secrets vault: encrypted at rest, revealed once to the applicant, every refusal audited, and the
secret (a canary) nowhere in clear: not in the audit log, an error, a log line or any state file."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from tests.support.principals import as_lab
from toolkit.audit import AuditLog
from toolkit.errors import (
    ConfigurationError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ToolkitError,
)
from toolkit.masking import Masker
from toolkit.ports.directory import Person
from toolkit.settings import load_settings
from toolkit.vault import SecretVault, VaultMeta, generate_key

CANARY = "CANARY-vault-key-8f2b61d04e7a"  # noqa: S105 - searched for everywhere it must not be
TICKET = "SPBE-2025-00007"


class _People:
    """An in-memory `Directory` (the port), for the account-state rule only."""

    def __init__(self, **roles: frozenset[str]) -> None:
        self.roles = roles

    def person(self, username: str) -> Person:
        if username not in self.roles:
            raise NotFoundError(f"no person '{username}'")
        return Person(username=username, name=username, roles=self.roles[username])

    def people_with_role(self, role: str) -> list[Person]:
        return [self.person(u) for u, r in self.roles.items() if role in r]


@pytest.fixture
def audit(state_dir: Path) -> AuditLog:
    return AuditLog(state_dir / "audit.db")


@pytest.fixture
def people() -> _People:
    return _People(andi=frozenset({"pemohon"}), sari=frozenset({"koordinator-layanan"}), budi=frozenset())


@pytest.fixture
def vault(state_dir: Path, audit: AuditLog, people: _People) -> SecretVault:
    return SecretVault(state_dir / "vault.db", SecretStr(generate_key()), audit=audit, directory=people,
                       masker=Masker())


def _meta(**extra: object) -> VaultMeta:
    return VaultMeta.model_validate({"recipient": "andi", "label": "API key simpeg-dinkes",
                                     "attributes": {"consumer": "simpeg-dinkes"}, **extra})


def _refusals(audit: AuditLog) -> list[str]:
    return [e.data["reason"] for e in audit.entries() if e.action == "secret.reveal_refused"]


def test_put_then_reveal_once(vault: SecretVault, audit: AuditLog) -> None:
    record = vault.put(TICKET, "api_key", SecretStr(CANARY), meta=_meta())
    assert (record.masked, record.recipient, record.status) == ("********4e7a", "andi", "sealed")
    assert vault.reveal(TICKET, "api_key", as_lab("andi")).get_secret_value() == CANARY
    after = vault.masked(TICKET, "api_key")
    assert after.status == "revealed" and after.revealed_by == "andi" and after.revealed_at is not None
    with pytest.raises(ConflictError, match="already revealed on"):
        vault.reveal(TICKET, "api_key", as_lab("andi"))
    assert [e.action for e in audit.entries()] == ["secret.store", "secret.reveal", "secret.reveal_refused"]
    assert _refusals(audit) == ["already_revealed"]


def test_only_the_recipient_and_a_wrong_person_uses_nothing_up(vault: SecretVault, audit: AuditLog) -> None:
    vault.put(TICKET, "api_key", SecretStr(CANARY), meta=_meta())
    with pytest.raises(PermissionDeniedError, match=r"only the applicant \(andi\)"):
        vault.reveal(TICKET, "api_key", as_lab("sari"))
    with pytest.raises(PermissionDeniedError):
        vault.reveal(TICKET, "api_key", as_lab("mallory"))
    assert vault.masked(TICKET, "api_key").status == "sealed"
    assert vault.reveal(TICKET, "api_key", as_lab("andi")).get_secret_value() == CANARY
    assert _refusals(audit) == ["not_recipient", "not_recipient"]
    assert [e.actor for e in audit.entries() if e.action == "secret.reveal_refused"] == ["sari", "mallory"]


def test_an_account_without_roles_cannot_collect(vault: SecretVault, audit: AuditLog, people: _People) -> None:
    vault.put(TICKET, "api_key", SecretStr(CANARY), meta=_meta(recipient="budi"))
    with pytest.raises(PermissionDeniedError, match="no active account"):
        vault.reveal(TICKET, "api_key", as_lab("budi"))
    assert _refusals(audit) == ["account_inactive"]


def test_unknown_revoked_and_expired_are_refused_and_audited(vault: SecretVault, audit: AuditLog,
                                                             state_dir: Path) -> None:
    with pytest.raises(NotFoundError):
        vault.reveal(TICKET, "api_key", as_lab("andi"))
    vault.put(TICKET, "api_key", SecretStr(CANARY), meta=_meta())
    revoked = vault.revoke(TICKET, "api_key", actor="csirt-bot", reason="kredensial bocor")
    assert revoked.status == "revoked" and vault.revoke(TICKET, "api_key", actor="x", reason="y") == revoked
    row = sqlite3.connect(state_dir / "vault.db").execute("SELECT ciphertext FROM secrets").fetchone()
    assert row == (None,)  # destroyed, not just flagged
    with pytest.raises(ConflictError, match="revoked"):
        vault.reveal(TICKET, "api_key", as_lab("andi"))
    with pytest.raises(ConflictError, match="revoked"):
        vault.use(TICKET, "api_key", purpose="try-out")
    vault.put(TICKET, "old_key", SecretStr(CANARY + "x"), meta=_meta(expires_at=datetime.now(UTC) - timedelta(1)))
    with pytest.raises(ConflictError, match="expired"):
        vault.reveal(TICKET, "old_key", as_lab("andi"))
    assert _refusals(audit) == ["not_found", "revoked", "expired"]


def test_put_is_idempotent_and_replace_is_a_rotation(vault: SecretVault) -> None:
    first = vault.put(TICKET, "api_key", SecretStr(CANARY), meta=_meta())
    assert vault.put(TICKET, "api_key", SecretStr(CANARY), meta=_meta()) == first
    with pytest.raises(ConflictError, match="different secret"):
        vault.put(TICKET, "api_key", SecretStr("another-secret-value"), meta=_meta())
    vault.reveal(TICKET, "api_key", as_lab("andi"))
    rotated = vault.put(TICKET, "api_key", SecretStr("rotated-secret-value"), meta=_meta(), replace=True)
    assert rotated.status == "sealed" and rotated.masked == "********alue"
    assert vault.reveal(TICKET, "api_key", as_lab("andi")).get_secret_value() == "rotated-secret-value"


def test_the_automation_uses_it_without_spending_the_reveal(vault: SecretVault, audit: AuditLog) -> None:
    vault.put(TICKET, "api_key", SecretStr(CANARY), meta=_meta())
    assert vault.use(TICKET, "api_key", purpose="try-out through the gateway").get_secret_value() == CANARY
    assert vault.masked(TICKET, "api_key").status == "sealed"
    assert vault.reveal(TICKET, "api_key", as_lab("andi")).get_secret_value() == CANARY
    assert [e.action for e in audit.entries()][1] == "secret.use"
    vault.use(TICKET, "api_key", purpose="line\nbreak $(id)")
    assert audit.entries()[-1].data["purpose"] == "line break $(id)"


def test_concurrent_reveals_hand_it_out_once(vault: SecretVault) -> None:
    vault.put(TICKET, "api_key", SecretStr(CANARY), meta=_meta())
    results: list[str] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            results.append(vault.reveal(TICKET, "api_key", as_lab("andi")).get_secret_value())
        except ConflictError:
            results.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [CANARY] + ["refused"] * 7


def test_at_rest_it_is_encrypted_and_bound_to_its_row(vault: SecretVault, state_dir: Path, audit: AuditLog) -> None:
    vault.put(TICKET, "api_key", SecretStr(CANARY), meta=_meta())
    vault.put(TICKET, "other", SecretStr("other-secret-value"), meta=_meta())
    assert stat.S_IMODE(os.stat(state_dir / "vault.db").st_mode) == 0o600
    db = sqlite3.connect(state_dir / "vault.db")
    db.execute("UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets WHERE name = 'api_key'), "
               "nonce = (SELECT nonce FROM secrets WHERE name = 'api_key') WHERE name = 'other'")
    db.commit()
    with pytest.raises(IntegrityError, match="does not decrypt"):
        vault.reveal(TICKET, "other", as_lab("andi"))
    other_key = SecretVault(state_dir / "vault.db", SecretStr(generate_key()), audit=audit)
    with pytest.raises(ConfigurationError, match="not the one this secret was stored with"):
        other_key.reveal(TICKET, "api_key", as_lab("andi"))
    assert vault.reveal(TICKET, "api_key", as_lab("andi")).get_secret_value() == CANARY  # failures spent nothing


def test_no_key_is_a_clear_configuration_error(state_dir: Path, audit: AuditLog,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPBE_VAULT_KEY", raising=False)
    with pytest.raises(ConfigurationError, match=r"set SPBE_VAULT_KEY .*'spbe secret keygen'"):
        SecretVault.from_settings(load_settings(state_dir=state_dir), audit=audit)
    for bad in ("short", "", "!" * 44, generate_key()[:-4]):
        monkeypatch.setenv("SPBE_VAULT_KEY", bad)
        with pytest.raises(ConfigurationError, match="32 random bytes"):
            SecretVault.from_settings(load_settings(state_dir=state_dir), audit=audit)


@pytest.mark.parametrize(("ticket", "name"), [
    ("../../etc/passwd", "api_key"), (TICKET, "../x"), ("T\n1", "api_key"), (TICKET, "a;rm -rf"),
    ("$(id)", "api_key"), (TICKET, "{{ 7*7 }}"), ("x" * 65, "api_key"), (TICKET, "API_KEY"),
])
def test_bad_identifiers_are_refused(vault: SecretVault, ticket: str, name: str) -> None:
    with pytest.raises(InvalidInputError):
        vault.put(ticket, name, SecretStr(CANARY), meta=_meta())
    with pytest.raises(InvalidInputError):
        vault.reveal(ticket, name, as_lab("andi"))


def test_bad_metadata_is_refused(vault: SecretVault) -> None:
    with pytest.raises(InvalidInputError, match="contains the secret"):
        vault.put(TICKET, "api_key", SecretStr(CANARY), meta=_meta(attributes={"note": f"key={CANARY}"}))
    with pytest.raises(ValidationError):
        _meta(label="line\nbreak")
    with pytest.raises(ValidationError):
        _meta(recipient="Andi Pratama")
    with pytest.raises(InvalidInputError):
        vault.put(TICKET, "api_key", SecretStr("x" * 9000), meta=_meta())


def test_canary_never_in_clear_anywhere(vault: SecretVault, audit: AuditLog, state_dir: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[ToolkitError] = []
    vault.put(TICKET, "api_key", SecretStr(CANARY), meta=_meta())
    vault.use(TICKET, "api_key", purpose="try-out")
    for actor in ("sari", "andi", "andi"):
        try:
            vault.reveal(TICKET, "api_key", as_lab(actor))
        except ToolkitError as exc:
            errors.append(exc)
    try:
        vault.put(TICKET, "api_key", SecretStr(CANARY + "-changed"), meta=_meta())
    except ToolkitError as exc:
        errors.append(exc)
    vault.revoke(TICKET, "api_key", actor="csirt", reason="uji")
    assert len(errors) == 3
    for exc in errors:
        assert CANARY not in "".join(traceback.format_exception(exc)) + repr(exc.details)
    assert CANARY not in repr(vault.masked(TICKET, "api_key")) and CANARY not in caplog.text
    assert all(CANARY not in e.model_dump_json() for e in audit.entries()) and audit.verify().ok
    for path in state_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
