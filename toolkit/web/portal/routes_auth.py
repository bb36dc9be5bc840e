"""Login (local account or SSO) and logout.

A refused password login shows one sentence for every cause (wrong password, unknown user, locked,
disabled: `toolkit.accounts.login`), with the lockout explained, so the page tells an attacker nothing
about which usernames exist. The password is read from the form and handed on as a `SecretStr`; it is
never logged, echoed or kept. A login always starts a *new* session id (no fixation), and logout revokes
the session server-side before the cookie is cleared.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from toolkit.errors import AuthenticationError, NotFoundError, ToolkitError
from toolkit.web.portal import texts
from toolkit.web.portal.oidc import FLOW_COOKIE, FLOW_PATH, OidcLogin
from toolkit.web.portal.web import PRE_COOKIE, SESSION_COOKIE, Portal, root_path, safe_target

log = logging.getLogger("spbe.portal")
MAX_LOGIN_FIELD = 1024


def add_auth_routes(router: APIRouter, portal: Portal) -> None:
    oidc_settings = portal.settings.oidc
    sso = OidcLogin(portal.app.settings, oidc_settings) if oidc_settings is not None else None

    def login_page(request: Request, *, error: str | None = None, username: str = "", status: int = 200,
                   target: str = "/tiket") -> HTMLResponse:
        token, fresh = portal.login_csrf(request)
        response = portal.render(request, "masuk.html.j2", {
            "login_csrf": token, "galat": error, "username": username, "lanjut": safe_target(target),
            "sso": sso is not None}, status=status)
        if fresh is not None:
            portal.set_cookie(response, request, PRE_COOKIE, fresh, max_age=3600)
        return response

    @router.get("/masuk", response_class=HTMLResponse)
    def login_form(request: Request, lanjut: str = "/tiket") -> Response:
        if portal.viewer(request) is not None:
            return portal.redirect(request, safe_target(lanjut))
        return login_page(request, target=lanjut)

    @router.post("/masuk")
    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
        refused = portal.csrf_refused(request, None, form)
        if refused is not None:
            return refused
        username, password = form.get("username"), form.get("password")
        target = safe_target(str(form.get("lanjut") or "/tiket"))
        shown = username if isinstance(username, str) and len(username) <= 64 else ""
        if not isinstance(username, str) or not isinstance(password, str) or len(password) > MAX_LOGIN_FIELD:
            return login_page(request, error=texts.LOGIN_REFUSED, username=shown, status=401, target=target)
        try:
            new = await run_in_threadpool(portal.accounts.login, username, SecretStr(password))
        except AuthenticationError as exc:
            locked = exc.details.get("reason") == "locked"
            log.info("portal login refused%s", " (locked)" if locked else "")
            return login_page(request, error=texts.LOGIN_REFUSED, username=shown, status=401, target=target)
        return portal.start_session(request, "l", new.session_id.get_secret_value(), target)

    @router.post("/keluar")
    async def logout(request: Request) -> Response:
        viewer = portal.viewer(request)
        form = await request.form(max_files=0, max_fields=5, max_part_size=1024)
        if viewer is not None:
            refused = portal.csrf_refused(request, viewer, form)
            if refused is not None:
                return refused
            await run_in_threadpool(portal.logout, request)
        response = portal.redirect(request, "/masuk")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    if sso is None:
        return

    def callback_uri(request: Request) -> str:
        base = portal.settings.url.rstrip("/") if portal.settings.url else str(request.base_url).rstrip("/")
        return f"{base}{FLOW_PATH}/kembali"

    @router.get(FLOW_PATH)
    def sso_begin(request: Request, lanjut: str = "/tiket") -> Response:
        try:
            url, cookie = sso.begin(callback_uri(request), safe_target(lanjut))
        except ToolkitError as exc:
            return portal.failure(request, None, exc)
        response = RedirectResponse(url, status_code=303)
        portal.set_cookie(response, request, FLOW_COOKIE, cookie, max_age=sso.max_age,
                          path=root_path(request.scope) + FLOW_PATH)
        return response

    @router.get(FLOW_PATH + "/kembali")
    def sso_callback(request: Request, code: str | None = None, state: str | None = None) -> Response:
        def refused(message: str) -> Response:
            response = login_page(request, error=message, status=401)
            response.delete_cookie(FLOW_COOKIE, path=root_path(request.scope) + FLOW_PATH)
            return response

        try:
            flow = sso.flow(request.cookies.get(FLOW_COOKIE), state)
            if not code or len(code) > 4096:
                raise AuthenticationError("SSO login refused", reason="no code")
            identity = sso.finish(flow, callback_uri(request), code)
            portal.app.directory.person(identity.username)
        except AuthenticationError as exc:
            log.warning("SSO login refused: %s", exc.details.get("reason"))
            return refused(texts.SSO_REFUSED)
        except NotFoundError:
            log.warning("SSO login refused: the provider's user is not a person of the directory")
            return refused(texts.SSO_UNKNOWN)
        except ToolkitError as exc:
            return portal.failure(request, None, exc)
        session_id, _ = portal.sso_sessions.start(identity.username, identity.subject)
        response = portal.start_session(request, "o", session_id.get_secret_value(), flow.target)
        response.delete_cookie(FLOW_COOKIE, path=root_path(request.scope) + FLOW_PATH)
        return response
