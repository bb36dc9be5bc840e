"""Administering local accounts: add, disable, enable, unlock, change a password, list.

The person must be known to the directory before an account is made for them: the account only proves
*who* someone is; what they may do is still their SOP roles in the directory. Input is checked before
anything is looked up, authorised or written, so a refused request leaves nothing half-done.

Disabling an account ends every session and revokes every access token of it (an account disabled in
an incident must not keep working through a token); enabling it again restores the password login only.
A changed password ends every session of the account, the one it was changed from included.
"""

from __future__ import annotations

import logging

from pydantic import SecretStr

from toolkit.accounts.access import Context
from toolkit.accounts.lockout import CLEAR
from toolkit.accounts.models import AccountView, parse_username
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import AuthenticationError, InvalidInputError, NotFoundError

log = logging.getLogger("spbe.accounts")
# Proven by something a thief could have taken (a cookie, a token): changing one's own password from
# there needs the current password too. The control node's OS account (or the lab's --as) does not.
_REMOTE = frozenset({AuthMethod.SESSION, AuthMethod.TOKEN, AuthMethod.OIDC})


class AccountAdmin:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def add(self, principal: Principal, username: str, password: SecretStr) -> AccountView:
        ctx = self._ctx
        username = parse_username(username)
        ctx.passwords.check_strength(password, username)
        ctx.require_admin(principal, "adding an account", username)
        if not ctx.known_person(username):
            raise NotFoundError(f"no person '{username}' in the directory: an account is made only for a person "
                                "the directory knows (their roles come from there)", user=username)
        now = ctx.now()
        ctx.store.add(username, ctx.passwords.hash(password), at=now, by=principal.user)
        ctx.record(principal, "account.add", {"user": username})
        return ctx.store.require(username).view(now)

    def disable(self, principal: Principal, username: str) -> bool:
        """False when it was already disabled (nothing changed, nothing audited)."""
        ctx = self._ctx
        username = parse_username(username)
        ctx.require_admin(principal, "disabling an account", username)
        if username == principal.user:
            raise InvalidInputError("you may not disable your own account (another administrator can)",
                                    errors=[("username", "self")])
        ctx.store.require(username)
        now = ctx.now()
        if not ctx.store.set_disabled(username, now, principal.user):
            return False
        sessions = ctx.store.revoke_sessions_of(username, now)
        tokens = ctx.store.revoke_tokens_of(username, now, principal.user)
        ctx.record(principal, "account.disable", {"user": username, "sessions_revoked": sessions,
                                                  "tokens_revoked": tokens})
        return True

    def enable(self, principal: Principal, username: str) -> bool:
        ctx = self._ctx
        username = parse_username(username)
        ctx.require_admin(principal, "enabling an account", username)
        ctx.store.require(username)
        if not ctx.store.set_disabled(username, None, None):
            return False
        ctx.record(principal, "account.enable", {"user": username})
        return True

    def unlock(self, principal: Principal, username: str) -> bool:
        """Clear the login failures and any lock; False when there was nothing to clear."""
        ctx = self._ctx
        username = parse_username(username)
        ctx.require_admin(principal, "unlocking an account", username)
        now = ctx.now()
        before, _ = ctx.store.update_counters(username, lambda _counters: CLEAR)
        if before == CLEAR:
            return False
        ctx.record(principal, "account.unlock", {"user": username, "was_locked": before.locked_at(now),
                                                 "failures": before.failed})
        return True

    def change_password(self, principal: Principal, username: str, password: SecretStr,
                        current: SecretStr | None = None) -> int:
        """Set a new password (their own, or anyone's for an administrator); returns how many sessions
        ended. From a session or a token, changing one's own password needs ``current`` as well."""
        ctx = self._ctx
        username = parse_username(username)
        ctx.passwords.check_strength(password, username)
        ctx.require_self_or_admin(principal, username, "changing a password")
        row = ctx.store.require(username)
        proven = current is not None and ctx.passwords.verify(row.password_hash, current)
        if principal.user == username and principal.auth in _REMOTE and not proven:
            ctx.record(principal, "account.refused", {"operation": "changing a password", "subject": username,
                                                      "reason": "current password wrong"})
            raise AuthenticationError("the current password is wrong", user=username, reason="current password")
        now = ctx.now()
        ctx.store.set_password(username, ctx.passwords.hash(password), now)
        ended = ctx.store.revoke_sessions_of(username, now)
        ctx.record(principal, "account.passwd", {"user": username, "sessions_revoked": ended})
        return ended

    def list(self, principal: Principal) -> list[AccountView]:
        self._ctx.require_admin(principal, "listing accounts", None)
        now = self._ctx.now()
        return [row.view(now) for row in self._ctx.store.all()]

    def show(self, principal: Principal, username: str) -> AccountView:
        username = parse_username(username)
        self._ctx.require_self_or_admin(principal, username, "showing an account")
        return self._ctx.store.require(username).view(self._ctx.now())
