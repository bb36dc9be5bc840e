"""The secrets vault: credentials issued for a ticket, encrypted at rest, revealed once to one person.

Why it exists: SOP 004 step 5 hands the API user an endpoint *and a credential*, and issue 4 says
the ticket may carry only a masked key. The full secret goes here instead.

**Who may reveal.** Only the record's ``recipient``, which the issuing action sets to the ticket's
applicant (the SOP's *Pengguna API*, role ``pemohon``): the credential is for the applicant's
application, and the SOP's later steps are theirs (step 6 try-out together with the team, step 7
"Pengguna API mengkonfirmasi kesesuaian penerima endpoint API"). Not the step's role: a role is a
group, so anyone in Tim Pengembangan Aplikasi could reveal it, and with reveal-once that would also
use up the applicant's single reveal. The team never needs the secret in clear: the automated
try-out reads it through `SecretVault.use`, which is audited and does not count as the reveal.
When a `Directory` is given, the recipient must also still hold a role there (an account disabled
by CSIRT containment holds none, so it cannot collect a credential).

**Once.** The first reveal is claimed atomically (``UPDATE ... WHERE revealed_at IS NULL``), so two
concurrent reveals cannot both succeed. A second reveal, a reveal by anyone else, of a revoked or
expired record, are refused with a `ToolkitError` and written to the audit log (who, when, why);
so is every successful reveal and use. The secret itself is never in the log, the error or a repr.

**At rest.** AES-256-GCM with a random 96-bit nonce per record; the associated data binds the
ciphertext to its (ticket, name), so a ciphertext copied to another row does not decrypt. The key
(32 bytes, urlsafe base64) comes from ``settings.vault.key`` (a secret reference, by default
``env:SPBE_VAULT_KEY``); without it the vault refuses to work and says how to make one. Each record
stores the key's id (a hash, not the key) so a changed key is reported as such, not as corruption.
The database file is created 0600; it is the state database (`toolkit.sqlite_tx.STATE_DB`, table
``secrets``) that the engine's other small stores share. With ``state.kind = "postgres"`` the same table
lives in the shared database instead (`VaultTables`, given by the state store; issue 19): the vault's
logic, its crypto and its one-transaction claims are this module's either way. Revoking destroys the
ciphertext; metadata stays for the record. The same setting also keys the encryption of attachments and evidence at rest
(`toolkit.at_rest`, through HKDF with its own label): a changed key makes those unreadable too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError

from toolkit.audit.port import AuditTrail
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import (
    ConfigurationError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from toolkit.masking import Masker, last4
from toolkit.ports.directory import Directory
from toolkit.settings import Settings
from toolkit.sqlite_tx import STATE_DB, SqliteStore

VaultTicketId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
SecretName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
Username = Annotated[str, Field(pattern=r"^[a-z][a-z0-9._-]{0,63}$")]
_KEY_BYTES = 32
_MAX_SECRET = 8192
_SCHEMA = """CREATE TABLE IF NOT EXISTS secrets (
    ticket_id TEXT NOT NULL, name TEXT NOT NULL, ciphertext BLOB, nonce BLOB, key_id TEXT NOT NULL,
    masked TEXT NOT NULL, label TEXT NOT NULL, recipient TEXT NOT NULL, attributes TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT, revealed_at TEXT, revealed_by TEXT,
    revoked_at TEXT, revoked_by TEXT, PRIMARY KEY (ticket_id, name))"""


def _plain_text(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters")
    return value


PlainText = Annotated[str, Field(max_length=200), AfterValidator(_plain_text)]


class VaultMeta(BaseModel):
    """What the issuing action says about a secret. ``attributes`` is non-secret context shown next
    to the masked value (consumer id, endpoint); it is refused if it contains the secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    recipient: Username
    label: PlainText = ""
    expires_at: datetime | None = None
    attributes: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")], PlainText] = Field(
        default_factory=dict, max_length=20)


class VaultRecord(BaseModel):
    """A secret's metadata; never the secret."""

    model_config = ConfigDict(frozen=True)
    ticket_id: str
    name: str
    masked: str
    label: str
    recipient: str
    attributes: dict[str, str]
    created_at: datetime
    expires_at: datetime | None
    revealed_at: datetime | None
    revealed_by: str | None
    revoked_at: datetime | None
    revoked_by: str | None

    @property
    def status(self) -> Literal["sealed", "revealed", "revoked", "expired"]:
        if self.revoked_at is not None:
            return "revoked"
        if self.revealed_at is not None:
            return "revealed"
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            return "expired"
        return "sealed"


def generate_key() -> str:
    """A new vault key in the form ``settings.vault.key`` expects."""
    return base64.urlsafe_b64encode(secrets.token_bytes(_KEY_BYTES)).decode("ascii")


def _parse_key(key: SecretStr) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(key.get_secret_value().strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != _KEY_BYTES:
        raise ConfigurationError("the vault key must be 32 random bytes in urlsafe base64 (make one with "
                                 "'spbe secret keygen')")
    return raw


def _check(adapter: TypeAdapter[str], value: str, what: str) -> str:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        raise InvalidInputError(f"{what} {value[:80]!r} is not valid", errors=[(what, "invalid")]) from None


_TICKET, _NAME, _USER = TypeAdapter(VaultTicketId), TypeAdapter(SecretName), TypeAdapter(Username)


def _clean(text: str, limit: int) -> str:
    """Free text for the audit log: control characters become spaces, length is capped."""
    return "".join(c if c.isprintable() else " " for c in text)[:limit]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


class VaultCursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class VaultDb(Protocol):
    """A connection inside one transaction; ``?`` placeholders; rows read by column name."""

    def execute(self, sql: str, parameters: tuple[Any, ...], /) -> VaultCursor: ...


class VaultTables(Protocol):
    """Where the ``secrets`` table lives. ``transaction`` excludes every other writer of the table for its
    length (SQLite: ``BEGIN IMMEDIATE``; a server: a table lock), so a check and a claim are one step."""

    def transaction(self) -> AbstractContextManager[VaultDb]: ...

    def close(self) -> None: ...


class SqliteVaultTables(SqliteStore):
    """The embedded default: the table in the state database file, created 0600."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "secrets vault")
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        with self._tx() as db:
            db.execute(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[VaultDb]:
        with self._tx() as db:
            yield db


class SecretVault:
    def __init__(self, path: Path | None, key: SecretStr, *, audit: AuditTrail, directory: Directory | None = None,
                 masker: Masker | None = None, clock: Callable[[], datetime] | None = None,
                 tables: VaultTables | None = None) -> None:
        """``path``: the SQLite file, unless ``tables`` (a server database's) is given."""
        if tables is None:
            if path is None:
                raise ConfigurationError("the secrets vault needs a database file or a server database's tables")
            tables = SqliteVaultTables(path)
        self.path = path
        self._key = _parse_key(key)
        self.key_id = hashlib.sha256(b"spbe-vault-key-id\0" + self._key).hexdigest()[:16]
        self.audit = audit
        self.directory = directory
        self.masker = masker
        self._clock = clock or (lambda: datetime.now(UTC))
        self.tables: VaultTables = tables

    def _tx(self) -> AbstractContextManager[VaultDb]:
        return self.tables.transaction()

    def close(self) -> None:
        self.tables.close()

    @classmethod
    def from_settings(cls, settings: Settings, *, audit: AuditTrail, directory: Directory | None = None,
                      masker: Masker | None = None, clock: Callable[[], datetime] | None = None,
                      tables: VaultTables | None = None) -> SecretVault:
        try:
            key = settings.vault.key.resolve()
        except ConfigurationError:
            where = settings.vault.key.ref.partition(":")[2]
            raise ConfigurationError(f"the secrets vault has no key: set {where} (settings.vault.key, a secret "
                                     "reference) to the output of 'spbe secret keygen'") from None
        return cls(Path(settings.state_dir) / STATE_DB, key, audit=audit, directory=directory, masker=masker,
                   clock=clock, tables=tables)

    # -- storage -------------------------------------------------------------------------------------
    def _row(self, db: VaultDb, ticket_id: str, name: str) -> Any:
        row: Any = db.execute("SELECT * FROM secrets WHERE ticket_id = ? AND name = ?",
                                             (ticket_id, name)).fetchone()
        return row

    @staticmethod
    def _record(row: Any) -> VaultRecord:
        data: dict[str, Any] = {k: row[k] for k in row.keys() if k not in ("ciphertext", "nonce", "key_id")}
        data["attributes"] = json.loads(data["attributes"])
        return VaultRecord.model_validate(data)

    def _aad(self, ticket_id: str, name: str) -> bytes:
        return b"spbe-vault/v1\0" + ticket_id.encode() + b"\0" + name.encode()

    def _decrypt(self, row: Any) -> SecretStr:
        if row["ciphertext"] is None:
            raise ConflictError(f"secret '{row['name']}' of {row['ticket_id']} was revoked", ticket=row["ticket_id"])
        if row["key_id"] != self.key_id:
            raise ConfigurationError("the vault key is not the one this secret was stored with (was it changed?)")
        try:
            plain = AESGCM(self._key).decrypt(row["nonce"], row["ciphertext"], self._aad(row["ticket_id"], row["name"]))
        except InvalidTag:
            raise IntegrityError(f"secret '{row['name']}' of {row['ticket_id']} does not decrypt: the vault entry "
                                 "was altered", ticket=row["ticket_id"]) from None
        secret = SecretStr(plain.decode("utf-8"))
        if self.masker is not None:
            self.masker.add(secret)
        return secret

    def _log(self, actor: str, action: str, ticket_id: str, name: str, **data: Any) -> None:
        """``data`` carries ``auth`` (how ``actor`` was authenticated): the engine for the actions' own
        stores and uses, the person's principal when a person asked (reveal, rotate, revoke)."""
        self.audit.append(actor, action, ticket_id, {"name": name, **data})

    # -- the vault -----------------------------------------------------------------------------------
    def put(self, ticket_id: str, name: str, value: SecretStr, *, meta: VaultMeta, actor: str = "system",
            replace: bool = False, auth: AuthMethod = AuthMethod.ENGINE) -> VaultRecord:
        """Store a secret. Idempotent: storing the same value again returns the existing record; a
        *different* value is a `ConflictError` unless ``replace`` (a rotation), which also resets
        the reveal, since the new secret has not been handed over."""
        ticket_id, name = _check(_TICKET, ticket_id, "ticket id"), _check(_NAME, name, "secret name")
        plain = value.get_secret_value()
        if not plain or len(plain) > _MAX_SECRET:
            raise InvalidInputError(f"secret '{name}' is empty or longer than {_MAX_SECRET} characters",
                                    errors=[(name, "length")])
        if len(plain) >= 4 and (plain in meta.label or any(plain in v for v in meta.attributes.values())):
            raise InvalidInputError(f"the metadata of secret '{name}' contains the secret itself",
                                    errors=[(name, "secret in metadata")])
        if self.masker is not None:
            self.masker.add(value)
        nonce = secrets.token_bytes(12)
        ciphertext = AESGCM(self._key).encrypt(nonce, plain.encode("utf-8"), self._aad(ticket_id, name))
        now = self._clock()
        with self._tx() as db:
            row = self._row(db, ticket_id, name)
            if row is not None and row["ciphertext"] is not None and not replace:
                if self._decrypt(row).get_secret_value() == plain:
                    return self._record(row)
                raise ConflictError(f"ticket {ticket_id} already holds a different secret '{name}'",
                                    ticket=ticket_id, name=name)
            db.execute("DELETE FROM secrets WHERE ticket_id = ? AND name = ?", (ticket_id, name))
            db.execute(
                "INSERT INTO secrets (ticket_id, name, ciphertext, nonce, key_id, masked, label, recipient, "
                "attributes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ticket_id, name, ciphertext, nonce, self.key_id, last4(plain), meta.label, meta.recipient,
                 json.dumps(meta.attributes, sort_keys=True), _iso(now), _iso(meta.expires_at)))
            record = self._record(self._row(db, ticket_id, name))
        self._log(actor, "secret.replace" if row is not None else "secret.store", ticket_id, name,
                  masked=record.masked, recipient=record.recipient, expires_at=_iso(record.expires_at),
                  auth=auth.value)
        return record

    def masked(self, ticket_id: str, name: str) -> VaultRecord:
        ticket_id, name = _check(_TICKET, ticket_id, "ticket id"), _check(_NAME, name, "secret name")
        with self._tx() as db:
            row = self._row(db, ticket_id, name)
        if row is None:
            raise NotFoundError(f"ticket {ticket_id} holds no secret '{name}'", ticket=ticket_id, name=name)
        return self._record(row)

    def records(self, ticket_id: str) -> list[VaultRecord]:
        ticket_id = _check(_TICKET, ticket_id, "ticket id")
        with self._tx() as db:
            rows = db.execute("SELECT * FROM secrets WHERE ticket_id = ? ORDER BY name", (ticket_id,)).fetchall()
        return [self._record(r) for r in rows]

    def _refuse(self, error: Exception, principal: Principal, ticket_id: str, name: str, reason: str) -> Exception:
        self._log(principal.user, "secret.reveal_refused", ticket_id, name, reason=reason, **principal.audit_data())
        return error

    def reveal(self, ticket_id: str, name: str, principal: Principal) -> SecretStr:
        """The secret, once, to the recipient. Every refusal is audited before it is raised."""
        ticket_id, name = _check(_TICKET, ticket_id, "ticket id"), _check(_NAME, name, "secret name")
        actor = principal.user
        if not self._exists(ticket_id, name):
            raise self._refuse(NotFoundError(f"ticket {ticket_id} holds no secret '{name}'", ticket=ticket_id),
                               principal, ticket_id, name, "not_found")
        record = self.masked(ticket_id, name)
        if actor != record.recipient:
            raise self._refuse(PermissionDeniedError(
                f"only the applicant ({record.recipient}) may reveal secret '{name}' of {ticket_id}", user=actor),
                principal, ticket_id, name, "not_recipient")
        if self.directory is not None and not self._active(actor):
            raise self._refuse(PermissionDeniedError(f"{actor} holds no active account with a role", user=actor),
                               principal, ticket_id, name, "account_inactive")
        now = self._clock()
        secret: SecretStr | None = None
        with self._tx() as db:  # BEGIN IMMEDIATE: the check and the claim are one atomic step
            row = self._row(db, ticket_id, name)
            current = self._record(row) if row is not None else record
            reason = self._unavailable(current, now) if row is not None else "not_found"
            if row is not None and reason is None:
                secret = self._decrypt(row)
                claimed = db.execute(
                    "UPDATE secrets SET revealed_at = ?, revealed_by = ? WHERE ticket_id = ? AND name = ? "
                    "AND revealed_at IS NULL AND revoked_at IS NULL", (_iso(now), actor, ticket_id, name)).rowcount
                reason = None if claimed == 1 else "already_revealed"
        if secret is None or reason is not None:
            when = f" on {current.revealed_at:%Y-%m-%d %H:%M} UTC" if current.revealed_at else ""
            raise self._refuse(ConflictError(
                f"secret '{name}' of {ticket_id} cannot be revealed: {(reason or '').replace('_', ' ')}{when}",
                ticket=ticket_id, reason=reason), principal, ticket_id, name, reason or "")
        self._log(actor, "secret.reveal", ticket_id, name, masked=current.masked, **principal.audit_data())
        return secret

    @staticmethod
    def _unavailable(record: VaultRecord, now: datetime) -> str | None:
        if record.revoked_at is not None:
            return "revoked"
        if record.revealed_at is not None:
            return "already_revealed"
        if record.expires_at is not None and record.expires_at <= now:
            return "expired"
        return None

    def _active(self, username: str) -> bool:
        assert self.directory is not None
        try:
            return bool(self.directory.person(username).roles)
        except NotFoundError:
            return False

    def _exists(self, ticket_id: str, name: str) -> bool:
        with self._tx() as db:
            return self._row(db, ticket_id, name) is not None

    def use(self, ticket_id: str, name: str, *, purpose: str, actor: str = "system",
            auth: AuthMethod = AuthMethod.ENGINE) -> SecretStr:
        """The secret for the toolkit's own use (the automated try-out); audited, not a reveal."""
        record = self.masked(ticket_id, name)
        reason = self._unavailable(record, self._clock())
        if reason in ("revoked", "expired"):
            raise ConflictError(f"secret '{name}' of {ticket_id} is {reason}", ticket=ticket_id)
        with self._tx() as db:
            row = self._row(db, ticket_id, name)
        assert row is not None
        secret = self._decrypt(row)
        self._log(actor, "secret.use", ticket_id, name, purpose=_clean(purpose, 200), auth=auth.value)
        return secret

    def revoke(self, ticket_id: str, name: str, *, actor: str, reason: str,
               auth: AuthMethod = AuthMethod.ENGINE) -> VaultRecord:
        """Destroy the ciphertext (the credential was revoked or rotated at its source). Idempotent."""
        record = self.masked(ticket_id, name)
        if record.revoked_at is not None:
            return record
        with self._tx() as db:
            db.execute("UPDATE secrets SET ciphertext = NULL, nonce = NULL, revoked_at = ?, revoked_by = ? "
                       "WHERE ticket_id = ? AND name = ? AND revoked_at IS NULL",
                       (_iso(self._clock()), actor, record.ticket_id, record.name))
        self._log(actor, "secret.revoke", record.ticket_id, record.name, reason=_clean(reason, 500), auth=auth.value)
        return self.masked(ticket_id, name)

    def delete(self, ticket_id: str, name: str, *, actor: str, auth: AuthMethod = AuthMethod.ENGINE) -> bool:
        """Remove the record entirely: the undo of `put` when issuing fails after storing."""
        ticket_id, name = _check(_TICKET, ticket_id, "ticket id"), _check(_NAME, name, "secret name")
        with self._tx() as db:
            gone = db.execute("DELETE FROM secrets WHERE ticket_id = ? AND name = ?", (ticket_id, name)).rowcount
        if gone:
            self._log(actor, "secret.delete", ticket_id, name, auth=auth.value)
        return bool(gone)
