"""Server-side portal sessions: made at login, checked on every request, ended by logout, idleness, age,
a disabled account or a changed password.

The session id (random, 256 bits) lives in the browser's cookie only; the store keeps its SHA-256, so
the id cannot be read back from ``accounts.db``. A session ends when it has not been used for
``session_idle_s`` or ``session_absolute_s`` after login, whichever comes first; each successful check
moves the idle deadline. The absolute deadline is the one stored; the idle one is computed.

Each session has a CSRF token, derived from its id (`toolkit.accounts.credentials.csrf_token`), that the
portal puts into every form; `Sessions.verify_csrf` compares it in constant time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import SecretStr

from toolkit.accounts import credentials
from toolkit.accounts.access import Context
from toolkit.accounts.models import NewSession, SessionView
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import AuthenticationError, PermissionDeniedError

log = logging.getLogger("spbe.accounts")
SESSION_ENDED = "the session has ended or is not valid: log in again"


@dataclass(frozen=True)
class Prepared:
    """A session about to be stored with a login (`AccountStore.login`)."""

    session_id: SecretStr
    digest: str
    expires_at: datetime


class Sessions:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @property
    def idle(self) -> timedelta:
        return timedelta(seconds=self._ctx.settings.session_idle_s)

    def prepare(self, now: datetime) -> Prepared:
        session_id = credentials.new_session_id()
        return Prepared(session_id, credentials.digest(session_id.get_secret_value()),
                        now + timedelta(seconds=self._ctx.settings.session_absolute_s))

    def started(self, prepared: Prepared, username: str, now: datetime) -> NewSession:
        return NewSession(session_id=prepared.session_id, session=self._view(
            prepared.session_id.get_secret_value(), username, now, now, prepared.expires_at))

    def _view(self, session_id: str, user: str, created: datetime, seen: datetime, expires: datetime) -> SessionView:
        return SessionView(principal=Principal(user=user, auth=AuthMethod.SESSION), created_at=created,
                           last_seen_at=seen, idle_expires_at=min(seen + self.idle, expires), expires_at=expires,
                           csrf_token=SecretStr(credentials.csrf_token(session_id)))

    def authenticate(self, session_id: object) -> SessionView:
        """The live session ``session_id`` names, its idle deadline moved on; `AuthenticationError`
        (one message for every cause) when it is malformed, unknown, revoked, idle or too old, or its
        account is disabled or gone from the directory."""
        ctx = self._ctx
        if not credentials.well_formed_session_id(session_id):
            raise AuthenticationError(SESSION_ENDED, reason="malformed")
        assert isinstance(session_id, str)
        digest = credentials.digest(session_id)
        row = ctx.store.session(digest)
        now = ctx.now()
        reason = None
        if row is None:
            reason = "unknown"
        elif row.revoked_at is not None:
            reason = "revoked"
        elif now >= row.expires_at:
            reason = "absolute expiry"
        elif now >= row.last_seen_at + self.idle:
            reason = "idle expiry"
        else:
            account = ctx.store.get(row.user)
            if account is None or account.disabled_at is not None:
                reason = "account disabled"
            elif not ctx.known_person(row.user):
                reason = "not in the directory"
        if reason is not None or row is None:
            log.info("session refused: %s", reason)
            raise AuthenticationError(SESSION_ENDED, reason=reason)
        ctx.store.session_seen(digest, now)
        return self._view(session_id, row.user, row.created_at, now, row.expires_at)

    def verify_csrf(self, session_id: object, presented: object) -> None:
        """`PermissionDeniedError` (403: the caller is logged in, the form is not theirs) unless
        ``presented`` is this session's CSRF token."""
        if not credentials.well_formed_session_id(session_id):
            raise AuthenticationError(SESSION_ENDED, reason="malformed")
        assert isinstance(session_id, str)
        expected = credentials.csrf_token(session_id)
        if not isinstance(presented, str) or len(presented) != len(expected) or not presented.isascii() \
                or not credentials.same_digest(expected, presented):
            raise PermissionDeniedError("the form's CSRF token is missing or wrong: reload the page and try again",
                                        reason="csrf")

    def logout(self, session_id: object) -> bool:
        """End the session (False when it was not a live one). Needs no other proof: knowing the id is
        what the session was."""
        if not credentials.well_formed_session_id(session_id):
            return False
        assert isinstance(session_id, str)
        return self._ctx.store.revoke_session(credentials.digest(session_id), self._ctx.now())

    def revoke_all(self, username: str) -> int:
        return self._ctx.store.revoke_sessions_of(username, self._ctx.now())

    def purge(self) -> int:
        """Forget sessions that ended more than a day ago (a periodic sweep may call it)."""
        return self._ctx.store.purge_sessions(self._ctx.now() - timedelta(days=1))
