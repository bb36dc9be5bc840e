"""Server-side sessions of people who logged in through the identity provider ("Masuk dengan SSO").

The accounts layer's sessions (`toolkit.accounts.sessions`) belong to *local accounts*: checking one
needs the account's row. A person who logs in through Keycloak has no local account, so their portal
session is kept here, in ``state_dir/portal_sessions.db``, under the same rules: the id (256 random bits)
lives only in the HttpOnly cookie and its SHA-256 here, idle and absolute expiry come from
``settings.accounts``, logout revokes it server-side, and a person gone from the directory is refused.
The principal it proves is ``auth = oidc``, so the audit log tells an SSO login from a password one.
The CSRF token is derived from the id exactly as for local sessions (`credentials.csrf_token`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

from toolkit.accounts import credentials
from toolkit.accounts.config import AccountsSettings
from toolkit.accounts.models import SessionView
from toolkit.clock import Clock
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import AuthenticationError, NotFoundError
from toolkit.ports.directory import Directory
from toolkit.sqlite_tx import SqliteStore

log = logging.getLogger("spbe.portal")
SESSION_ENDED = "the session has ended or is not valid: log in again"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS oidc_sessions (
    digest TEXT PRIMARY KEY, user TEXT NOT NULL, subject TEXT NOT NULL, created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL, expires_at TEXT NOT NULL, revoked_at TEXT);
CREATE INDEX IF NOT EXISTS oidc_sessions_user ON oidc_sessions (user);
"""


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class OidcSessions(SqliteStore):
    def __init__(self, state_dir: Path, settings: AccountsSettings, directory: Directory, clock: Clock) -> None:
        super().__init__(Path(state_dir) / "portal_sessions.db", "portal session store")
        self._settings = settings
        self._directory = directory
        self._clock = clock
        with self._tx() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)

    def start(self, username: str, subject: str) -> tuple[SecretStr, SessionView]:
        """A new session for ``username`` (already mapped to a directory person by the caller)."""
        now = self._clock.now()
        session_id = credentials.new_session_id()
        expires = now + timedelta(seconds=self._settings.session_absolute_s)
        with self._tx() as db:
            db.execute("INSERT INTO oidc_sessions (digest, user, subject, created_at, last_seen_at, expires_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (credentials.digest(session_id.get_secret_value()), username,
                                                     subject, now.isoformat(), now.isoformat(), expires.isoformat()))
        return session_id, self._view(session_id.get_secret_value(), username, now, now, expires)

    def _view(self, session_id: str, user: str, created: datetime, seen: datetime, expires: datetime) -> SessionView:
        idle = timedelta(seconds=self._settings.session_idle_s)
        return SessionView(principal=Principal(user=user, auth=AuthMethod.OIDC), created_at=created,
                           last_seen_at=seen, idle_expires_at=min(seen + idle, expires), expires_at=expires,
                           csrf_token=SecretStr(credentials.csrf_token(session_id)))

    def authenticate(self, session_id: object) -> SessionView:
        """The live session, its idle deadline moved on; `AuthenticationError` (one message) otherwise."""
        if not credentials.well_formed_session_id(session_id):
            raise AuthenticationError(SESSION_ENDED, reason="malformed")
        assert isinstance(session_id, str)
        digest = credentials.digest(session_id)
        now = self._clock.now()
        with self._tx() as db:
            row = db.execute("SELECT * FROM oidc_sessions WHERE digest = ?", (digest,)).fetchone()
            reason = None
            if row is None:
                reason = "unknown"
            elif row["revoked_at"] is not None:
                reason = "revoked"
            elif now >= _at(row["expires_at"]):
                reason = "absolute expiry"
            elif now >= _at(row["last_seen_at"]) + timedelta(seconds=self._settings.session_idle_s):
                reason = "idle expiry"
            else:
                try:
                    self._directory.person(row["user"])
                except NotFoundError:
                    reason = "not in the directory"
            if reason is not None:
                log.info("SSO session refused: %s", reason)
                raise AuthenticationError(SESSION_ENDED, reason=reason)
            db.execute("UPDATE oidc_sessions SET last_seen_at = ? WHERE digest = ?", (now.isoformat(), digest))
        return self._view(session_id, row["user"], _at(row["created_at"]), now, _at(row["expires_at"]))

    def logout(self, session_id: object) -> bool:
        if not credentials.well_formed_session_id(session_id):
            return False
        assert isinstance(session_id, str)
        with self._tx() as db:
            cur = db.execute("UPDATE oidc_sessions SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL",
                             (self._clock.now().isoformat(), credentials.digest(session_id)))
            return cur.rowcount == 1
