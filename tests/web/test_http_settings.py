"""``settings.http``: loopback unless written otherwise, a sane root path, proxies by address or network, and
uvicorn believing forwarded headers from exactly those proxies (its own default trusts 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.bootstrap import App
from toolkit.errors import ConfigurationError
from toolkit.settings import load_settings
from toolkit.web.server import uvicorn_config


@pytest.mark.parametrize("http", [{"bind": "0.0.0.0:8080"}, {"bind": "10.0.0.5:80"}, {"bind": "localhost"},  # noqa: S104
                                  {"root_path": "/layanan/"}, {"root_path": "layanan"}, {"root_path": "/a b"},
                                  {"trusted_proxies": ["proxy.example"]}, {"max_body_bytes": 10},
                                  {"oidc": {"discovery_url": "https://u:p@idp.example/.well-known/openid-configuration",
                                            "audience": "spbe"}},
                                  {"oidc": {"discovery_url": "https://idp.example/.well-known/openid-configuration",
                                            "audience": "spbe", "algorithms": ["HS256"]}}])
def test_unsafe_or_malformed_http_settings_are_refused(state_dir: Path, http: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="http"):
        load_settings(state_dir=state_dir, http=http)


def test_a_non_loopback_bind_is_allowed_in_writing(state_dir: Path) -> None:
    settings = load_settings(state_dir=state_dir, http={"bind": "10.0.0.5:8443", "allow_non_loopback": True})
    assert (settings.http.host, settings.http.port) == ("10.0.0.5", 8443)


def test_forwarded_headers_are_believed_only_from_the_configured_proxies(state_dir: Path) -> None:
    plain = load_settings(state_dir=state_dir)
    config = uvicorn_config(App(plain), plain, "127.0.0.1", 0)
    assert config.proxy_headers is False and config.forwarded_allow_ips == []
    proxied = load_settings(state_dir=state_dir, http={"trusted_proxies": ["10.1.2.3", "192.168.10.0/24"],
                                                       "root_path": "/layanan"})
    config = uvicorn_config(App(proxied), proxied, "127.0.0.1", 0)
    assert config.proxy_headers is True and config.forwarded_allow_ips == ["10.1.2.3", "192.168.10.0/24"]
    assert config.root_path == "/layanan"
