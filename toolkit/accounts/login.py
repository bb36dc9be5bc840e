"""Password logins: `authenticate_password` (who is this?) and `login` (…and open a portal session).

Every attempt costs one argon2 verification, whatever the outcome: an unknown username, a malformed
one, a disabled or locked account and a person gone from the directory are verified against the dummy
hash (`Passwords.verify` with no stored hash), so the time taken does not tell them apart from a wrong
password. The caller gets one message for all of them (`AuthenticationError`); the cause is in
``details['reason']`` and in the server's log, never in what a client is shown.

Only a wrong password for a usable account counts towards the lockout (`toolkit.accounts.lockout`):
counting unknown names would let anyone lock accounts that do not exist yet, and counting while
locked would let an attacker extend the lock without end. The lock is audited, by the engine (no
principal caused it), with the failures and the time it ends. A successful login clears the counters
and, when the hash was made with weaker parameters than today's, stores a new one.
"""

from __future__ import annotations

import logging

from pydantic import SecretStr

from toolkit.accounts.access import Context
from toolkit.accounts.lockout import after_failure, just_locked
from toolkit.accounts.models import NewSession, parse_username
from toolkit.accounts.passwords import MAX_LENGTH
from toolkit.accounts.sessions import Sessions
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import AuthenticationError, InvalidInputError

log = logging.getLogger("spbe.accounts")
LOGIN_REFUSED = "login refused: wrong username or password, or the account is locked or disabled"
_EMPTY = SecretStr("")


class PasswordLogin:
    def __init__(self, ctx: Context, sessions: Sessions) -> None:
        self._ctx = ctx
        self._sessions = sessions

    def authenticate_password(self, username: object, password: SecretStr | str) -> Principal:
        """The principal (``auth`` SESSION) whose password this is, or `AuthenticationError`."""
        self._attempt(username, password, with_session=False)
        assert isinstance(username, str)
        return Principal(user=username, auth=AuthMethod.SESSION)

    def login(self, username: object, password: SecretStr | str) -> NewSession:
        """`authenticate_password` and a new server-side session, stored in the same transaction that
        clears the failure counter (so a session is never made for an account disabled meanwhile)."""
        session = self._attempt(username, password, with_session=True)
        assert session is not None
        return session

    def _attempt(self, raw_username: object, raw_password: SecretStr | str, *, with_session: bool) -> NewSession | None:
        ctx = self._ctx
        password = raw_password if isinstance(raw_password, SecretStr) else SecretStr(str(raw_password))
        if len(password.get_secret_value()) > MAX_LENGTH:
            password = _EMPTY  # still one verification, of something that cannot match
        try:
            username: str | None = parse_username(raw_username)
        except InvalidInputError:
            username = None
        now = ctx.now()
        row = ctx.store.get(username) if username is not None else None
        usable = (row is not None and row.disabled_at is None and not row.counters.locked_at(now)
                  and ctx.known_person(row.username))
        matched = ctx.passwords.verify(row.password_hash if usable and row else None, password)
        reason = "unknown user"
        if row is not None and matched:
            prepared = self._sessions.prepare(now) if with_session else None
            new_hash = ctx.passwords.hash(password) if ctx.passwords.needs_rehash(row.password_hash) else None
            if ctx.store.login(row.username, row.password_hash, now=now, new_hash=new_hash,
                               session=(prepared.digest, prepared.expires_at) if prepared else None):
                return self._sessions.started(prepared, row.username, now) if prepared else None
            reason = "account changed during login"
        elif row is not None and row.disabled_at is not None:
            reason = "disabled"
        elif row is not None and row.counters.locked_at(now):
            reason = "locked"
        elif row is not None and not usable:
            reason = "not in the directory"
        elif row is not None:
            reason = "wrong password"
            self._count_failure(row.username)
        log.info("login refused for %s: %s", row.username if row else "an unknown or malformed name", reason)
        raise AuthenticationError(LOGIN_REFUSED, reason=reason)

    def _count_failure(self, username: str) -> None:
        ctx = self._ctx
        now = ctx.now()
        before, after = ctx.store.update_counters(username, lambda counters: after_failure(counters, now,
                                                                                             ctx.settings))
        if just_locked(before, after):
            assert after.locked_until is not None
            log.warning("account %s locked until %s after %d failed logins", username, after.locked_until.isoformat(),
                        after.failed)
            ctx.record(Principal.engine(), "account.lock", {
                "user": username, "failures": after.failed, "locked_until": after.locked_until.isoformat(),
                "window_s": ctx.settings.lockout_window_s})
