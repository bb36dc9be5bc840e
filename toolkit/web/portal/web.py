"""What every portal page shares: who is looking (the session cookie), the CSRF check, rendering, errors.

Identity comes only from the session cookie, checked server-side on every request (`Accounts.sessions`
for a password login, `OidcSessions` for SSO); roles only from the directory. Nothing a form sends (a
hidden field, a query parameter) says who acts or with what role.

Cookies: the session cookie is HttpOnly, SameSite=Lax, ``Secure`` when the request came over TLS or the
settings say so (`PortalSettings.cookie_secure`), path ``/``, and has no Max-Age: the server decides
when a session ends (idle and absolute expiry), and logout revokes it there. An SSO session's cookie
value is ``o.<id>``, a local one ``l.<id>``, so a cookie is checked against one store only.

Behind a reverse proxy the portal lives under ``settings.http.root_path`` (uvicorn puts it in the ASGI
scope's ``root_path``): every link a page draws goes through the ``url()`` template global and every
redirect through `Portal.redirect`, both prefixing the request's root path, so a page served at
``/layanan-spbe/tiket`` never links to ``/tiket`` on the proxy's host. ``path`` in the templates and
the login page's ``lanjut`` are route paths (without the prefix), joined to it only when followed.

Every POST carries a CSRF token derived from the session (`credentials.csrf_token`); the login form,
which has no session yet, gets one derived from a short-lived pre-session cookie. A missing or wrong
token is a 403 page and nothing changes.
"""

from __future__ import annotations

import functools
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import jinja2
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.types import Scope

from toolkit.accounts import credentials
from toolkit.accounts.models import SessionView
from toolkit.accounts.service import Accounts, open_accounts
from toolkit.domain.confidentiality import privileged
from toolkit.domain.principal import Principal
from toolkit.engine.services import EngineServices
from toolkit.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ToolkitError,
    UnavailableError,
)
from toolkit.ports.directory import Person
from toolkit.web.portal import texts
from toolkit.web.portal.markup import markdown
from toolkit.web.portal.oidc_sessions import OidcSessions
from toolkit.worktime.calendars import calendars_for

log = logging.getLogger("spbe.portal")
SESSION_COOKIE = "spbe_sesi"
PRE_COOKIE = "spbe_pra"  # the login form's CSRF anchor (no session exists yet)
CSRF_FIELD = "csrf"
Kind = Literal["l", "o"]
# Pages show personal data: never cached, never framed; scripts and styles only from the portal itself.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class Viewer:
    """The person looking at a page, proven by their session."""

    person: Person
    session: SessionView
    session_id: str
    kind: Kind
    applicant_roles: frozenset[str]
    sees_confidential: bool  # a role the catalog's role book trusts with a confidential reporter

    @property
    def principal(self) -> Principal:
        return self.session.principal

    @property
    def user(self) -> str:
        return self.person.username

    @property
    def roles(self) -> frozenset[str]:
        return self.person.roles

    @property
    def csrf(self) -> str:
        return self.session.csrf_token.get_secret_value()

    @property
    def is_staff(self) -> bool:
        """Diskominfo's people (and API providers): any role beyond the applicant ones."""
        return bool(self.roles - self.applicant_roles)


class Portal:
    """The portal's collaborators, built once per process by `build_router`."""

    def __init__(self, app: EngineServices) -> None:
        self.app = app
        self.settings = app.settings.portal
        self.accounts: Accounts = open_accounts(app)
        self.sso_sessions = OidcSessions(app.settings.state_dir, app.settings.accounts, app.directory, app.clock)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(app.settings.templates_dir / "portal")),
            autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(teks=texts, peran=app.catalog.roles.label, url=_url)
        zone = calendars_for(app.settings.worktime).zone()  # times shown with WIB / WITA / WIT
        self.env.filters.update(waktu=functools.partial(texts.when, zone=zone), sisa=texts.remaining,
                                tampil=texts.display, md=markdown)

    # -- cookies -----------------------------------------------------------------------------------
    def secure(self, request: Request) -> bool:
        mode = self.settings.cookie_secure
        if mode != "auto":
            return mode == "always"
        return request.url.scheme == "https" or bool(self.settings.url and self.settings.url.startswith("https://"))

    def set_cookie(self, response: Response, request: Request, name: str, value: str, *,
                   max_age: int | None = None, path: str = "/") -> None:
        response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="lax",
                            secure=self.secure(request))

    def redirect(self, request: Request, path: str) -> RedirectResponse:
        """A 303 to ``path`` (a route path of the portal) under the request's root path."""
        return RedirectResponse(root_path(request.scope) + path, status_code=303)

    def start_session(self, request: Request, kind: Kind, session_id: str, target: str) -> RedirectResponse:
        response = self.redirect(request, safe_target(target))
        self.set_cookie(response, request, SESSION_COOKIE, f"{kind}.{session_id}")
        response.delete_cookie(PRE_COOKIE, path="/")
        return response

    # -- who is looking ----------------------------------------------------------------------------
    def viewer(self, request: Request) -> Viewer | None:
        raw = request.cookies.get(SESSION_COOKIE, "")
        kind, _, session_id = raw.partition(".")
        if kind not in ("l", "o") or not credentials.well_formed_session_id(session_id):
            return None
        try:
            session = (self.accounts.sessions.authenticate(session_id) if kind == "l"
                       else self.sso_sessions.authenticate(session_id))
            person = self.app.directory.person(session.principal.user)
        except (AuthenticationError, NotFoundError):
            return None
        return Viewer(person=person, session=session, session_id=session_id, kind="l" if kind == "l" else "o",
                      applicant_roles=frozenset(self.app.policy.applicant_roles),
                      sees_confidential=privileged(self.app.catalog.roles, person.roles))

    def require(self, request: Request) -> Viewer:
        """The viewer, or a redirect to the login page that comes back here afterwards."""
        viewer = self.viewer(request)
        if viewer is None:
            target = route_path(request.scope) + (f"?{request.url.query}" if request.url.query else "")
            raise HTTPException(status_code=303, headers={
                "Location": f"{root_path(request.scope)}/masuk?lanjut={_quote(target)}"})
        return viewer

    def logout(self, request: Request) -> None:
        kind, _, session_id = request.cookies.get(SESSION_COOKIE, "").partition(".")
        if kind == "l":
            self.accounts.sessions.logout(session_id)
        elif kind == "o":
            self.sso_sessions.logout(session_id)

    # -- CSRF --------------------------------------------------------------------------------------
    def csrf_refused(self, request: Request, viewer: Viewer | None, form: FormData) -> HTMLResponse | None:
        """None when the form's token is this session's (or, for the login form, this browser's)."""
        presented = form.get(CSRF_FIELD)
        anchor = viewer.session_id if viewer is not None else request.cookies.get(PRE_COOKIE, "")
        try:
            if not credentials.well_formed_session_id(anchor):
                raise PermissionDeniedError("no CSRF anchor", reason="csrf")
            self.accounts.sessions.verify_csrf(anchor, presented)
        except PermissionDeniedError:
            log.warning("form refused on %s: CSRF token missing or wrong", request.url.path)
            return self.render(request, "galat.html.j2", {"judul": texts.CSRF_TITLE, "pesan": texts.CSRF_TEXT},
                               viewer=viewer, status=403)
        return None

    def login_csrf(self, request: Request) -> tuple[str, str | None]:
        """(the login form's token, a new pre-session id to set as a cookie, or None to keep the one sent)."""
        anchor = request.cookies.get(PRE_COOKIE, "")
        fresh = None
        if not credentials.well_formed_session_id(anchor):
            anchor = fresh = secrets.token_urlsafe(32)
        return credentials.csrf_token(anchor), fresh

    # -- rendering ---------------------------------------------------------------------------------
    def render(self, request: Request, template: str, context: dict[str, Any], *, viewer: Viewer | None = None,
               status: int = 200) -> HTMLResponse:
        page = self.env.get_template(template).render(
            {"viewer": viewer, "csrf": viewer.csrf if viewer else "", "path": route_path(request.scope),
             "root": root_path(request.scope),
             "oidc": self.settings.oidc, **context})
        return HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)

    def failure(self, request: Request, viewer: Viewer | None, exc: ToolkitError) -> HTMLResponse:
        """A refused command or a missing thing as a page: what it means in Bahasa Indonesia by its kind, then
        the command's own message as the technical detail (it never holds a secret: `toolkit.errors`)."""
        status, title = status_of(exc)
        if status >= 500:
            log.warning("portal request failed: %s", self.app.masker(str(exc)))
        return self.render(request, "galat.html.j2", {"judul": title, "pesan": texts.EXPLAIN[status],
                                                      "rincian": self.app.masker(exc.message)},
                           viewer=viewer, status=status)


def status_of(exc: ToolkitError) -> tuple[int, str]:
    if isinstance(exc, AuthenticationError):
        return 401, texts.TITLE_LOGIN
    if isinstance(exc, PermissionDeniedError):
        return 403, texts.TITLE_FORBIDDEN
    if isinstance(exc, NotFoundError):
        return 404, texts.TITLE_NOT_FOUND
    if isinstance(exc, ConflictError):
        return 409, texts.TITLE_CONFLICT
    if isinstance(exc, InvalidInputError):
        return 400, texts.TITLE_INVALID
    if isinstance(exc, UnavailableError):
        return 503, texts.TITLE_UNAVAILABLE
    return 500, texts.TITLE_FAILED


def root_path(scope: Scope) -> str:
    """The prefix the reverse proxy serves the portal under ('' when served at the host's root)."""
    return str(scope.get("root_path", "")).rstrip("/")


def route_path(scope: Scope) -> str:
    """The request's path without the root path: what the routes and the templates compare against."""
    path = str(scope.get("path", ""))
    root = root_path(scope)
    return (path[len(root):] or "/") if root and path.startswith(root) else path


@jinja2.pass_context
def _url(context: jinja2.runtime.Context, path: str) -> str:
    """``url('/tiket/X')``: a link to a route path of the portal, under the page's root path."""
    return str(context.get("root", "")) + path


def _quote(target: str) -> str:
    from urllib.parse import quote

    return quote(target, safe="/")


def safe_target(target: str | None) -> str:
    """Where to go after login: a path of this portal only (never ``//host`` or ``https://...``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target \
            or any(ord(c) < 0x20 for c in target):
        return "/tiket"
    return target
