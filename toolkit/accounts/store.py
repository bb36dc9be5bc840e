"""``state_dir/accounts.db``: accounts, personal access tokens and sessions, in one SQLite file.

Through `SqliteStore` (the one connection policy: WAL, busy timeout, IMMEDIATE transactions, the file
0600 before SQLite creates it). Every read-then-write is one transaction, so two server processes agree:
a login's failure is counted once, a lock is set once, the per-person token limit holds when tokens are
created at the same moment, and a login that finished verifying its password after the account was
disabled or its password changed does not open a session.

What is stored is never a usable secret: argon2id hashes of passwords, SHA-256 digests of tokens and
session ids (see `toolkit.accounts.credentials` for why that suffices).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from toolkit.accounts.lockout import Counters
from toolkit.accounts.models import AccountStatus, AccountView, Scope, TokenView
from toolkit.errors import ConflictError, NotFoundError, UnavailableError
from toolkit.sqlite_tx import SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    password_changed_at TEXT NOT NULL, disabled_at TEXT, disabled_by TEXT, failed INTEGER NOT NULL DEFAULT 0,
    window_start TEXT, locked_until TEXT, last_login_at TEXT);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, user TEXT NOT NULL, digest TEXT NOT NULL, scope TEXT NOT NULL, created_at TEXT NOT NULL,
    created_by TEXT NOT NULL, expires_at TEXT NOT NULL, last_used_at TEXT, revoked_at TEXT, revoked_by TEXT);
CREATE INDEX IF NOT EXISTS tokens_user ON tokens (user);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY, user TEXT NOT NULL, created_at TEXT NOT NULL, last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL, revoked_at TEXT);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user);
"""


def _iso(value: datetime | None) -> str | None:
    """UTC with microseconds always written: the stored texts then sort as the instants do (SQL compares them)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds") if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class AccountRow:
    username: str
    password_hash: str
    counters: Counters
    disabled_at: datetime | None
    row: sqlite3.Row

    def view(self, now: datetime) -> AccountView:
        r = self.row
        locked = self.counters.locked_at(now)
        status: AccountStatus = "disabled" if self.disabled_at else "locked" if locked else "active"
        return AccountView(username=self.username, status=status, created_at=_at(r["created_at"]),
                           created_by=r["created_by"], password_changed_at=_at(r["password_changed_at"]),
                           disabled_at=self.disabled_at,
                           locked_until=self.counters.locked_until if self.counters.locked_at(now) else None,
                           failed_logins=self.counters.failed, last_login_at=_dt(r["last_login_at"]))


@dataclass(frozen=True)
class TokenRow:
    view: TokenView
    digest: str


@dataclass(frozen=True)
class SessionRow:
    user: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


def _account(row: sqlite3.Row) -> AccountRow:
    counters = Counters(failed=row["failed"], window_start=_dt(row["window_start"]),
                        locked_until=_dt(row["locked_until"]))
    return AccountRow(row["username"], row["password_hash"], counters, _dt(row["disabled_at"]), row)


def _token(row: sqlite3.Row) -> TokenRow:
    return TokenRow(TokenView(id=row["id"], user=row["user"], scope=Scope(row["scope"]),
                              created_at=_at(row["created_at"]), created_by=row["created_by"],
                              expires_at=_at(row["expires_at"]), last_used_at=_dt(row["last_used_at"]),
                              revoked_at=_dt(row["revoked_at"]), revoked_by=row["revoked_by"]), row["digest"])


class AccountStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, "accounts store")
        with self._tx() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)

    def _read(self, query: str, args: tuple[str, ...]) -> list[sqlite3.Row]:
        """One SELECT outside a write transaction (every API request reads here; an IMMEDIATE
        transaction would serialise them behind each other for nothing)."""
        try:
            return self._conn().execute(query, args).fetchall()
        except sqlite3.OperationalError as exc:
            raise UnavailableError(f"{self.what} unavailable: {exc}", path=str(self.path)) from None

    @staticmethod
    def path_in(state_dir: Path) -> Path:
        return Path(state_dir) / "accounts.db"

    @classmethod
    def at(cls, state_dir: Path) -> AccountStore:
        return cls(cls.path_in(state_dir))

    # -- accounts ------------------------------------------------------------------------------
    def add(self, username: str, password_hash: str, *, at: datetime, by: str) -> None:
        with self._tx() as db:
            try:
                db.execute("INSERT INTO accounts (username, password_hash, created_at, created_by, "
                           "password_changed_at) VALUES (?, ?, ?, ?, ?)",
                           (username, password_hash, _iso(at), by, _iso(at)))
            except sqlite3.IntegrityError:
                raise ConflictError(f"{username} already has an account", user=username) from None

    def get(self, username: str) -> AccountRow | None:
        rows = self._read("SELECT * FROM accounts WHERE username = ?", (username,))
        return _account(rows[0]) if rows else None

    def require(self, username: str) -> AccountRow:
        found = self.get(username)
        if found is None:
            raise NotFoundError(f"{username} has no account (spbe user add {username})", user=username)
        return found

    def all(self) -> list[AccountRow]:
        return [_account(r) for r in self._read("SELECT * FROM accounts ORDER BY username", ())]

    def set_disabled(self, username: str, at: datetime | None, by: str | None) -> bool:
        """Disable (``at`` set) or enable (None); False when it already was so."""
        with self._tx() as db:
            already = "disabled_at IS NOT NULL" if at else "disabled_at IS NULL"
            cur = db.execute(f"UPDATE accounts SET disabled_at = ?, disabled_by = ? "  # noqa: S608 - fixed text
                             f"WHERE username = ? AND NOT ({already})", (_iso(at), by, username))
            return cur.rowcount == 1

    def set_password(self, username: str, password_hash: str, at: datetime) -> None:
        with self._tx() as db:
            db.execute("UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE username = ?",
                       (password_hash, _iso(at), username))

    def update_counters(self, username: str, change: Callable[[Counters], Counters]) -> tuple[Counters, Counters]:
        """Read the counters, apply ``change`` and write the result, atomically: (before, after)."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM accounts WHERE username = ?", (username,)).fetchone()
            if row is None:
                raise NotFoundError(f"{username} has no account", user=username)
            before = _account(row).counters
            after = change(before)
            db.execute("UPDATE accounts SET failed = ?, window_start = ?, locked_until = ? WHERE username = ?",
                       (after.failed, _iso(after.window_start), _iso(after.locked_until), username))
        return before, after

    def login(self, username: str, verified_hash: str, *, now: datetime, new_hash: str | None,
              session: tuple[str, datetime] | None) -> bool:
        """A verified password becomes a login only if, at this instant, the account is enabled, not
        locked and still has the hash that was verified: then the counters are cleared, the hash is
        upgraded (``new_hash``) and the session (digest, absolute expiry) is stored. False otherwise."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM accounts WHERE username = ?", (username,)).fetchone()
            if row is None:
                return False
            current = _account(row)
            if current.disabled_at or current.counters.locked_at(now) or current.password_hash != verified_hash:
                return False
            db.execute("UPDATE accounts SET failed = 0, window_start = NULL, locked_until = NULL, last_login_at = ?,"
                       " password_hash = ? WHERE username = ?", (_iso(now), new_hash or verified_hash, username))
            if session is not None:
                db.execute("INSERT INTO sessions (digest, user, created_at, last_seen_at, expires_at) "
                           "VALUES (?, ?, ?, ?, ?)", (session[0], username, _iso(now), _iso(now), _iso(session[1])))
        return True

    # -- tokens --------------------------------------------------------------------------------
    def add_token(self, view: TokenView, digest: str, *, limit: int) -> None:
        """Store a token unless its owner already holds ``limit`` active ones (`ConflictError`)."""
        with self._tx() as db:
            active = db.execute("SELECT COUNT(*) FROM tokens WHERE user = ? AND revoked_at IS NULL AND expires_at > ?",
                                (view.user, _iso(view.created_at))).fetchone()[0]
            if active >= limit:
                raise ConflictError(f"{view.user} already holds {active} active tokens (the limit, "
                                    "settings.accounts.tokens_per_user); revoke one first", user=view.user)
            db.execute("INSERT INTO tokens (id, user, digest, scope, created_at, created_by, expires_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (view.id, view.user, digest, view.scope.value,
                                                        _iso(view.created_at), view.created_by, _iso(view.expires_at)))

    def token(self, token_id: str) -> TokenRow | None:
        rows = self._read("SELECT * FROM tokens WHERE id = ?", (token_id,))
        return _token(rows[0]) if rows else None

    def tokens(self, user: str | None) -> list[TokenView]:
        query, args = "SELECT * FROM tokens", tuple[str, ...]()
        if user is not None:
            query, args = query + " WHERE user = ?", (user,)
        return [_token(r).view for r in self._read(query + " ORDER BY created_at, id", args)]

    def revoke_token(self, token_id: str, at: datetime, by: str) -> bool:
        with self._tx() as db:
            cur = db.execute("UPDATE tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
                             (_iso(at), by, token_id))
            return cur.rowcount == 1

    def revoke_tokens_of(self, user: str, at: datetime, by: str) -> list[str]:
        with self._tx() as db:
            ids = [r["id"] for r in db.execute("SELECT id FROM tokens WHERE user = ? AND revoked_at IS NULL", (user,))]
            db.execute("UPDATE tokens SET revoked_at = ?, revoked_by = ? WHERE user = ? AND revoked_at IS NULL",
                       (_iso(at), by, user))
        return ids

    def token_used(self, token_id: str, at: datetime) -> None:
        with self._tx() as db:
            db.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (_iso(at), token_id))

    # -- sessions ------------------------------------------------------------------------------
    def session(self, digest: str) -> SessionRow | None:
        rows = self._read("SELECT * FROM sessions WHERE digest = ?", (digest,))
        if not rows:
            return None
        row = rows[0]
        return SessionRow(row["user"], _at(row["created_at"]), _at(row["last_seen_at"]), _at(row["expires_at"]),
                          _dt(row["revoked_at"]))

    def session_seen(self, digest: str, at: datetime) -> None:
        with self._tx() as db:
            db.execute("UPDATE sessions SET last_seen_at = ? WHERE digest = ? AND revoked_at IS NULL",
                       (_iso(at), digest))

    def revoke_session(self, digest: str, at: datetime) -> bool:
        with self._tx() as db:
            cur = db.execute("UPDATE sessions SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL",
                             (_iso(at), digest))
            return cur.rowcount == 1

    def revoke_sessions_of(self, user: str, at: datetime) -> int:
        with self._tx() as db:
            cur = db.execute("UPDATE sessions SET revoked_at = ? WHERE user = ? AND revoked_at IS NULL",
                             (_iso(at), user))
            return cur.rowcount

    def purge_sessions(self, before: datetime) -> int:
        """Forget sessions that ended (revoked or past their absolute expiry) before ``before``."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?",
                             (_iso(before), _iso(before)))
            return cur.rowcount
