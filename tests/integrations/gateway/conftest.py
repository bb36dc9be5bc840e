"""Fixtures for the gateway adapters: one harness over the real Express Gateway and the two fakes.

Express Gateway runs for real (the lab's `GatewayLab`, started once per session on loopback); Kong and
WSO2 API Manager cannot run here, so their adapters meet the fakes in ``fakes/`` (faithful to each
product's documented API, see their docstrings). Every gateway fronts the same provider backend
(`lab.gateway_backend`), so a call through any of the three reaches the same JSON.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from integrations.gateway.express_gateway import ExpressGatewayAdapter
from integrations.gateway.kong import KongAdapter
from integrations.gateway.wso2 import Wso2Adapter
from lab import rootfs
from lab.gateway import GatewayLab, GatewayLabState
from lab.gateway_backend import application
from tests.fixtures.lab import test_lab_name
from tests.integrations.gateway.fakes._server import Listener
from tests.integrations.gateway.fakes.kong_fake import KongFake
from tests.integrations.gateway.fakes.wso2_fake import Wso2Fake
from toolkit.ports.gateway import Credential, Gateway, GatewayAuthError
from toolkit.settings import Settings, load_settings

API = "kependudukan"
KONG_TOKEN = "CANARY-kong-admin-9c1e77"  # noqa: S105 - a canary, searched for in error messages
WSO2_PASSWORD = "CANARY-wso2-admin-51ab0d"  # noqa: S105


def _wsgi(request: Request) -> Response:
    response: Response = Response.from_app(application, request.environ)
    return response


@pytest.fixture(scope="session")
def provider_backend() -> Iterator[str]:
    listener = Listener(_wsgi, "provider-backend")
    listener.start()
    yield listener.url
    listener.stop()


@pytest.fixture(scope="session")
def eg_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayLabState]:
    """The real Express Gateway, as the lab starts it (pinned npm install, cached)."""
    lab = GatewayLab(tmp_path_factory.mktemp("eg"), test_lab_name("-gw"), rootfs.DEFAULT_CACHE_DIR)
    state = lab.up()
    yield state
    lab.down()


@dataclass
class Harness:
    kind: str
    gateway: Gateway
    fake: KongFake | Wso2Fake | None
    settings: Settings

    def call(self, url: str, credential: Credential | None = None, headers: dict[str, str] | None = None) -> int:
        """Status of a real GET through the gateway's proxy; a credential the key manager refuses is a 401."""
        sent = dict(headers or {})
        if credential is not None:
            try:
                sent.update(self.gateway.auth_headers(credential))
            except GatewayAuthError:
                return 401
        return requests.get(url + "/data", headers=sent, timeout=10).status_code

    def bad_headers(self) -> dict[str, str]:
        return {"express_gateway": {"Authorization": "apiKey nope:nope"}, "kong": {"apikey": "nope"},
                "wso2": {"Authorization": "Bearer nope"}}[self.kind]


def unique(prefix: str = "app") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _settings(tmp_path: Path) -> Settings:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "kong").write_text(KONG_TOKEN, encoding="utf-8")
    (secrets_dir / "wso2").write_text(WSO2_PASSWORD, encoding="utf-8")
    return load_settings(state_dir=tmp_path / "state", secrets={
        "kong_admin_token": {"ref": f"file:{secrets_dir / 'kong'}"},
        "wso2_admin_password": {"ref": f"file:{secrets_dir / 'wso2'}"}})


def make_harness(kind: str, tmp_path: Path, provider_backend: str, eg_lab: Any) -> Harness:
    settings = _settings(tmp_path)
    if kind == "express_gateway":
        return Harness(kind, ExpressGatewayAdapter(settings, admin_url=eg_lab.admin_url, proxy_url=eg_lab.proxy_url),
                       None, settings)
    if kind == "kong":
        kong = KongFake(admin_token=KONG_TOKEN).start()
        kong.publish(API, provider_backend)
        return Harness(kind, KongAdapter(settings, admin_url=kong.url, proxy_url=kong.proxy_url,
                                         admin_token_secret="kong_admin_token"),  # noqa: S106 - a name
                       kong, settings)
    wso2 = Wso2Fake(password=WSO2_PASSWORD).start()
    wso2.add_tier("Uji3", 3)
    wso2.publish(API, provider_backend, tiers=("Uji3", "Bronze", "Gold"))
    wso2.publish("draf", provider_backend, state="CREATED")
    return Harness(kind, Wso2Adapter(settings, base_url=wso2.url, gateway_url=wso2.gateway_url), wso2, settings)


# The real Express Gateway (a Node process; its rate-limit windows are waited out) runs in the full suite;
# the fast tier runs the same contract against the faithful Kong and WSO2 fakes.
@pytest.fixture(params=[pytest.param("express_gateway", marks=pytest.mark.slow), "kong", "wso2"])
def harness(request: pytest.FixtureRequest, tmp_path: Path, provider_backend: str) -> Iterator[Harness]:
    eg = request.getfixturevalue("eg_lab") if request.param == "express_gateway" else None
    made = make_harness(request.param, tmp_path, provider_backend, eg)
    yield made
    if made.fake is not None:
        made.fake.stop()


@pytest.fixture(params=["kong", "wso2"])
def faked(request: pytest.FixtureRequest, tmp_path: Path, provider_backend: str) -> Iterator[Harness]:
    """Only the fakes can inject a 401/409/500 in the middle of a sequence."""
    made = make_harness(request.param, tmp_path, provider_backend, None)
    yield made
    assert made.fake is not None
    made.fake.stop()
