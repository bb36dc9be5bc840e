"""Personal access tokens: create (shown once), list, revoke, and authenticate an API request by one.

A person creates tokens for themselves only. Not an administrator for someone else: a token made for
the kepala dinas by the koordinator would let the koordinator approve as the kepala dinas, unseen by
anyone reading the tickets. Nor from a token: a ``read`` token must not mint an ``act`` one, nor any
token a longer life than its own; tokens are made from a portal session or on the control node. An
administrator lists and revokes anyone's tokens.

A token carries a scope (``read``, or ``act`` which includes read) and an expiry (``30d``, ``12h``; at
most ``settings.accounts.token_max_days``). Authentication checks, in order: the format, the id, the
digest (constant time), revocation, expiry, and that its person still has an enabled account (if they
have one) and is still in the directory; any failure is one `AuthenticationError` (401). A valid token
without the scope an operation needs is a `PermissionDeniedError` (403). Last use is recorded at most
once a minute, so a busy API client does not turn every request into a write.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from toolkit.accounts import credentials
from toolkit.accounts.access import Context
from toolkit.accounts.models import (
    NewToken,
    Scope,
    TokenAuthentication,
    TokenView,
    parse_expiry,
    parse_scope,
    parse_username,
)
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)

log = logging.getLogger("spbe.accounts")
TOKEN_REFUSED = "the access token is not valid (malformed, unknown, expired or revoked)"  # noqa: S105 - a message
_USE_RESOLUTION = timedelta(minutes=1)


def _token_id(raw: object) -> str:
    if not isinstance(raw, str) or len(raw) != 16 or not all(c in "0123456789abcdef" for c in raw):
        raise InvalidInputError("invalid token id: 16 hexadecimal characters, as 'spbe token list' shows",
                                errors=[("token_id", "16 hex characters")])
    return raw


class Tokens:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def create(self, principal: Principal, user: str, expires: str, scope: str | Scope) -> NewToken:
        ctx = self._ctx
        user = parse_username(user, "user")
        lifetime = parse_expiry(expires, ctx.settings.token_max_days)
        chosen = parse_scope(scope)
        refusal = None
        if principal.auth is AuthMethod.TOKEN:
            refusal = "a token cannot create tokens: use a portal session or the control node"
        elif principal.user != user:
            refusal = (f"{principal.user} may not create a token for {user}: a token acts as its person, so each "
                       "person creates their own")
        if refusal:
            ctx.record(principal, "token.refused", {"operation": "create", "subject": user})
            raise PermissionDeniedError(refusal, user=principal.user)
        if not ctx.known_person(user):
            raise NotFoundError(f"no person '{user}' in the directory", user=user)
        account = ctx.store.get(user)
        if account is not None and account.disabled_at is not None:
            raise ConflictError(f"the account of {user} is disabled", user=user)
        now = ctx.now()
        token_id, secret = credentials.new_token()
        view = TokenView(id=token_id, user=user, scope=chosen, created_at=now, created_by=principal.user,
                         expires_at=now + lifetime)
        ctx.store.add_token(view, credentials.digest(secret.get_secret_value()), limit=ctx.settings.tokens_per_user)
        ctx.record(principal, "token.create", {"user": user, "token_id": token_id, "scope": chosen.value,
                                               "expires_at": view.expires_at.isoformat()})
        return NewToken(token=view, secret=secret)

    def list(self, principal: Principal, user: str | None = None, *, everyone: bool = False) -> list[TokenView]:
        """``principal``'s own tokens, or ``user``'s, or with ``everyone`` all (an administrator's)."""
        ctx = self._ctx
        if everyone:
            ctx.require_admin(principal, "listing everyone's tokens", None)
            return ctx.store.tokens(None)
        subject = parse_username(user, "user") if user is not None else principal.user
        ctx.require_self_or_admin(principal, subject, "listing tokens")
        return ctx.store.tokens(subject)

    def revoke(self, principal: Principal, token_id: str) -> bool:
        """False when it was already revoked."""
        ctx = self._ctx
        token_id = _token_id(token_id)
        row = ctx.store.token(token_id)
        if row is None:
            raise NotFoundError(f"no access token {token_id}", token_id=token_id)
        ctx.require_self_or_admin(principal, row.view.user, "revoking a token")
        if not ctx.store.revoke_token(token_id, ctx.now(), principal.user):
            return False
        ctx.record(principal, "token.revoke", {"user": row.view.user, "token_id": token_id})
        return True

    def authenticate(self, token: object, require: Scope | None = None) -> TokenAuthentication:
        ctx = self._ctx
        token_id = credentials.token_id_of(token)
        row = ctx.store.token(token_id) if token_id is not None else None
        now = ctx.now()
        reason = None
        if row is None:
            reason = "malformed" if token_id is None else "unknown id"
        elif not isinstance(token, str) or not credentials.same_digest(row.digest, credentials.digest(token)):
            reason = "wrong secret"
        elif row.view.revoked_at is not None:
            reason = "revoked"
        elif now >= row.view.expires_at:
            reason = "expired"
        else:
            account = ctx.store.get(row.view.user)
            if account is not None and account.disabled_at is not None:
                reason = "account disabled"
            elif not ctx.known_person(row.view.user):
                reason = "not in the directory"
        if reason is not None or row is None:
            log.info("token %s refused: %s", token_id or "(malformed)", reason)
            raise AuthenticationError(TOKEN_REFUSED, reason=reason)
        view = row.view
        scopes = view.scope.grants()
        if require is not None and require not in scopes:
            raise PermissionDeniedError(f"token {view.id} has scope '{view.scope.value}'; this needs "
                                        f"'{require.value}'", token_id=view.id, required=require.value)
        if view.last_used_at is None or now - view.last_used_at >= _USE_RESOLUTION:
            ctx.store.token_used(view.id, now)
        return TokenAuthentication(Principal(user=view.user, auth=AuthMethod.TOKEN), scopes, view.id)
