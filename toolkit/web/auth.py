"""Who is calling: one `Principal` per request, from exactly one credential.

1. ``Authorization: Bearer spbe_pat_...``: a personal access token (`toolkit.accounts`), ``auth: token``;
   its scope must cover the request: ``read`` for GET/HEAD, ``act`` for anything that changes state.
2. ``Authorization: Bearer <JWT>``: an OIDC bearer token (`toolkit.web.oidc`) when ``settings.http.oidc``
   is set, ``auth: oidc``.
3. The portal's session cookie (`SESSION_COOKIE`), ``auth: session``; a state change also needs the
   session's CSRF token in the `CSRF_HEADER` header (a cross-site form cannot set a header, and the
   cookie alone is what a cross-site request would carry).

A request presenting an Authorization header is judged by it alone (a bad token does not fall back to
a cookie). Nothing else authenticates: no ``--as``, no query parameter. The person must still be in
the directory, which alone says what their roles are. Failures are 401 with one sentence; the cause
goes to the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from toolkit.accounts.credentials import TOKEN_PREFIX
from toolkit.accounts.models import Scope
from toolkit.accounts.service import Accounts
from toolkit.desks.hub import DeskServices
from toolkit.domain.principal import Principal
from toolkit.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from toolkit.settings import Settings
from toolkit.web.oidc import OidcVerifier

SESSION_COOKIE = "spbe_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_CREDENTIALS = "authentication required: a bearer token (personal access token or OIDC) or a portal session"
ALL_SCOPES = Scope.ACT.grants()

bearer_scheme = HTTPBearer(auto_error=False, description="a personal access token (spbe token create) or an "
                                                         "OIDC access token from the identity provider")


@dataclass(frozen=True)
class WebContext:
    """What every route reads from ``request.app.state.spbe``: built once by `create_app`."""

    services: DeskServices
    settings: Settings
    accounts: Accounts
    oidc: OidcVerifier | None


@dataclass(frozen=True)
class Caller:
    principal: Principal
    scopes: frozenset[Scope]
    token_id: str | None = None  # the personal access token that proved it, if one did


def context(request: Request) -> WebContext:
    ctx = request.app.state.spbe
    assert isinstance(ctx, WebContext)
    return ctx


def _known(ctx: WebContext, principal: Principal) -> Principal:
    try:
        ctx.services.directory.person(principal.user)
    except NotFoundError:
        raise AuthenticationError(NO_CREDENTIALS, reason=f"{principal.auth.value}: not in the directory") from None
    return principal


def authenticate(ctx: WebContext, request: Request, bearer: HTTPAuthorizationCredentials | None,
                 required: Scope | None = None) -> Caller:
    """``required``: the scope the request needs; by default ``read`` for a safe method, else ``act``."""
    required = required or (Scope.READ if request.method in SAFE_METHODS else Scope.ACT)
    header = request.headers.get("authorization")
    if header is not None:
        if bearer is None or not bearer.credentials:
            raise AuthenticationError(NO_CREDENTIALS, reason="Authorization header is not 'Bearer <token>'")
        token = bearer.credentials
        if token.startswith(TOKEN_PREFIX):
            proved = ctx.accounts.authenticate_token(token, require=None)
            caller = Caller(proved.principal, proved.scopes, proved.token_id)
        elif ctx.oidc is not None:
            caller = Caller(_known(ctx, ctx.oidc.authenticate(token)), ALL_SCOPES)
        else:
            raise AuthenticationError(NO_CREDENTIALS, reason="a JWT, but settings.http.oidc is not configured")
        request.state.principal = caller.principal
        if required not in caller.scopes:
            raise PermissionDeniedError(f"this token has scope 'read'; {request.method} needs '{required.value}'",
                                        required=required.value)
        return caller
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is None:
        raise AuthenticationError(NO_CREDENTIALS, reason="no credentials")
    session = ctx.accounts.sessions.authenticate(session_id)
    request.state.principal = session.principal
    if required is Scope.ACT:
        ctx.accounts.sessions.verify_csrf(session_id, request.headers.get(CSRF_HEADER))
    return Caller(session.principal, ALL_SCOPES)


def caller(request: Request,
           bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> Caller:
    """The dependency every protected route takes."""
    return authenticate(context(request), request, bearer)


def principal(who: Annotated[Caller, Depends(caller)]) -> Principal:
    return who.principal


def reading_caller(request: Request,
                   bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> Caller:
    """For a change that only takes away (revoking the token in hand): any scope will do, so a ``read``
    token can end itself. A session still needs its CSRF header for it (see `authenticate`)."""
    ctx = context(request)
    if request.headers.get("authorization") is None:
        return authenticate(ctx, request, bearer)
    return authenticate(ctx, request, bearer, Scope.READ)


Ctx = Annotated[WebContext, Depends(context)]
Who = Annotated[Principal, Depends(principal)]
AnyScope = Annotated[Caller, Depends(reading_caller)]
