"""'Masuk dengan SSO' against a real OpenID Connect provider on loopback (oidc-provider-mock).

The provider does not enforce PKCE (../shared/PEERS.md), so what is proven here is our side: the
authorization request carries an S256 challenge of the verifier kept in this browser's signed flow
cookie; a callback is refused without that cookie, with a cookie whose verifier was changed, or with a
``state`` that is not the cookie's; a provider user who is not a person of the directory gets no session.
A good login gives a session whose principal is ``auth = oidc``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from playwright.sync_api import Page, expect

from tests.fixtures.browser import Screenshot
from tests.fixtures.oidc import OidcProvider
from tests.support.smtp_sink import free_port
from tests.web.portal.conftest import portal_settings, serve
from toolkit.bootstrap import App
from toolkit.domain.principal import AuthMethod
from toolkit.web.portal.oidc import FLOW_COOKIE, cookie_key
from toolkit.web.portal.web import SESSION_COOKIE


@pytest.fixture
def sso_portal(oidc_provider: OidcProvider, state_dir: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, App]]:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the provider is plain http on loopback
    port = free_port()
    client = oidc_provider.register_client(f"http://127.0.0.1:{port}/masuk/sso/kembali")
    monkeypatch.setenv("SPBE_TEST_OIDC_SECRET", client.client_secret)
    app = App(portal_settings(state_dir, secrets={"oidc_client": {"ref": "env:SPBE_TEST_OIDC_SECRET"}},
                              portal={"oidc": {"discovery_url": oidc_provider.discovery_url,
                                               "client_id": client.client_id,
                                               "client_secret_secret": "oidc_client"}}))
    url, server, thread = serve(app, port=port)
    yield url, app
    server.should_exit = True
    thread.join(timeout=10)


def _begin(client: httpx.Client) -> tuple[str, str]:
    response = client.get("/masuk/sso")
    assert response.status_code == 303
    return response.headers["location"], client.cookies[FLOW_COOKIE]


def test_sso_login_in_the_browser(page: Page, sso_portal: tuple[str, App], oidc_provider: OidcProvider,
                                  screenshot: Screenshot) -> None:
    url, app = sso_portal
    oidc_provider.set_user("sso-kadis", {"preferred_username": "kadis", "name": "Kepala Dinas"})
    page.goto(url + "/masuk")
    screenshot(page, "masuk-dengan-sso")
    page.get_by_role("link", name="Masuk dengan SSO").click()
    page.locator("input[name=sub]").fill("sso-kadis")
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tiket saya")
    expect(page.locator(".pengguna")).to_contain_text("Bambang")
    screenshot(page, "sso-berhasil")
    sid = next(c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    view = app_sessions(app).authenticate(sid.partition(".")[2])
    assert sid.startswith("o.") and view.principal.auth is AuthMethod.OIDC and view.principal.user == "kadis"


def app_sessions(app: App):  # type: ignore[no-untyped-def]
    from toolkit.web.portal.oidc_sessions import OidcSessions

    return OidcSessions(app.settings.state_dir, app.settings.accounts, app.directory, app.clock)


def test_the_challenge_is_s256_of_the_verifier_kept_in_the_signed_cookie(sso_portal: tuple[str, App]) -> None:
    url, app = sso_portal
    with httpx.Client(base_url=url) as client:
        location, cookie = _begin(client)
    query = parse_qs(urlsplit(location).query)
    flow = URLSafeTimedSerializer(cookie_key(app.settings.state_dir), salt="spbe-portal-sso-flow").loads(cookie)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(flow["v"].encode()).digest()).rstrip(b"=").decode()
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] == [challenge]
    assert query["state"] == [flow["s"]] and query["nonce"] == [flow["n"]]
    assert flow["v"] not in location  # the verifier never leaves for the provider before the token request


@pytest.mark.parametrize("tamper", ["wrong-state", "no-flow-cookie", "changed-verifier", "foreign-flow"])
def test_a_callback_that_is_not_this_browsers_flow_is_refused(sso_portal: tuple[str, App], oidc_provider: OidcProvider,
                                                               tamper: str) -> None:
    url, app = sso_portal
    oidc_provider.set_user(f"sso-{tamper}", {"preferred_username": "andi"})
    with httpx.Client(base_url=url) as client, httpx.Client(base_url=url) as other:
        location, cookie = _begin(client)
        callback = oidc_provider.login(location, f"sso-{tamper}")
        params = dict(callback.params)
        cookies = {FLOW_COOKIE: cookie}
        if tamper == "wrong-state":
            params["state"] = params["state"][:-2] + ("AA" if not params["state"].endswith("AA") else "BB")
        elif tamper == "no-flow-cookie":
            cookies = {}
        elif tamper == "changed-verifier":
            signer = URLSafeTimedSerializer(b"not the installation's key" * 2, salt="spbe-portal-sso-flow")
            flow = URLSafeTimedSerializer(cookie_key(app.settings.state_dir), salt="spbe-portal-sso-flow").loads(cookie)
            cookies = {FLOW_COOKIE: signer.dumps({**flow, "v": "x" * 86})}
        else:  # another browser's valid flow cookie with this browser's code and state
            _, foreign = _begin(other)
            cookies = {FLOW_COOKIE: foreign}
        client.cookies.clear()
        response = client.get("/masuk/sso/kembali", params=params, cookies=cookies)
    assert response.status_code == 401 and "Masuk dengan SSO gagal" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_a_provider_user_unknown_to_the_directory_gets_no_session(sso_portal: tuple[str, App],
                                                                  oidc_provider: OidcProvider) -> None:
    url, _ = sso_portal
    oidc_provider.set_user("sso-stranger", {"preferred_username": "orang-asing"})
    with httpx.Client(base_url=url) as client:
        location, _ = _begin(client)
        callback = oidc_provider.login(location, "sso-stranger")
        response = client.get("/masuk/sso/kembali", params=dict(callback.params))
    assert response.status_code == 401 and "tidak terdaftar" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
