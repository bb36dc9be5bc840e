"""A real spbe front door for the web tests: `create_app` under uvicorn on 127.0.0.1 and a free port, in
this process (a thread), with the engine's test catalog plus `uji-web` (an attachment, a confidential
reporter), the roles file's people, personal access tokens made through `toolkit.accounts`, and a JWKS
of our own on loopback for the OIDC bearer tests. Requests are real HTTP (httpx)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey

from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.support.attachment_samples import pdf_bytes
from tests.support.clock import ManualClock
from toolkit.accounts.service import open_accounts
from toolkit.bootstrap import App
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.settings import load_settings
from toolkit.web.server import WebServer

HERE = Path(__file__).resolve().parent
AUDIENCE = "spbe-api"
CANARY_VAULT_SECRET = "CANARY-vault-3b9d0e1f7a2c"  # noqa: S105 - searched for in every response and log


class Jwks:
    """A discovery document and a JWKS served on loopback, with the private key to sign test tokens."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig", "alg": "RS256"})
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                import json

                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": outer.issuer, "jwks_uri": outer.issuer + "/jwks"}
                elif self.path == "/jwks":
                    body = {"keys": [outer.key.as_dict(private=False)]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Front:
    """The running front door: its URL, the app behind it, and helpers to make credentials."""

    url: str
    app: App
    jwks: Jwks
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return self.url + "/api/v1"

    def token(self, user: str, scope: str = "act", expires: str = "1d") -> str:
        key = (user, scope)
        if key not in self.tokens or expires != "1d":
            accounts = open_accounts(self.app)
            try:
                made = accounts.tokens.create(Principal(user=user, auth=AuthMethod.LAB_AS), user, expires, scope)
            finally:
                accounts.close()
            if expires != "1d":
                return made.secret.get_secret_value()
            self.tokens[key] = made.secret.get_secret_value()
        return self.tokens[key]

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.app.clock, ManualClock)
        return self.app.clock

    def audit(self, action: str) -> list[Any]:
        return [e for e in self.app.audit.entries() if e.action == action]

    def client(self, user: str | None = None, scope: str = "act") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(user, scope)}"} if user else {}
        return httpx.Client(base_url=self.api, headers=headers, timeout=30)

    def open_ticket(self, user: str = "andi", service: str = "uji-web", **fields: str) -> dict[str, Any]:
        with self.client(user) as c:
            if service == "uji-web":
                response = c.post("/tickets", data={"service": service, "title": "Permohonan uji",
                                                    "fields": _json({"instansi": "Dinas Uji", **fields}),
                                                    "kinds": ["surat_permohonan"]},
                                  files=[("files", ("surat.pdf", pdf_bytes(), "application/pdf"))])
            else:
                response = c.post("/tickets", data={"service": service, "title": "Permohonan uji",
                                                    "fields": _json({"instansi": "Dinas Uji", **fields})})
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


@pytest.fixture(scope="module")
def jwks() -> Iterator[Jwks]:
    served = Jwks()
    yield served
    served.close()


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory, jwks: Jwks, session_audit_key: str) -> Iterator[Front]:
    """One server per test module (starting one costs a catalog load and an accounts store)."""
    import os

    root = tmp_path_factory.mktemp("web")
    catalog = root / "catalog"
    catalog.mkdir()
    shutil.copy(TEST_CATALOG / "uji-mesin.yaml", catalog)
    shutil.copy(HERE / "catalog" / "uji-web.yaml", catalog)
    state = root / "state"
    state.mkdir()
    os.environ["SPBE_AUDIT_KEY"] = session_audit_key  # module scope outlives the per-test monkeypatch
    from toolkit.vault import generate_key

    os.environ.setdefault("SPBE_TEST_WEB_VAULT_KEY", generate_key())
    settings = load_settings(
        state_dir=state, catalog_dir=catalog, extra_actions=TEST_ACTIONS,
        audit={"checkpoint_file": str(root / "checkpoints.jsonl")},
        http={"bind": "127.0.0.1:0", "max_body_bytes": 2 * 1024 * 1024,
              "oidc": {"discovery_url": jwks.discovery_url, "audience": AUDIENCE, "leeway_s": 0}},
        vault={"key": {"ref": "env:SPBE_TEST_WEB_VAULT_KEY"}},
        accounts={"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1})
    app = App(settings, clock=ManualClock())
    server = WebServer(app, settings, "127.0.0.1", 0)
    url = server.start()
    assert server.started.wait(30)
    _wait_ready(url)
    try:
        yield Front(url=url, app=app, jwks=jwks)
    finally:
        server.stop()


def _wait_ready(url: str) -> None:
    import time

    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not come up")
