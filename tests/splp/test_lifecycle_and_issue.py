"""CSIRT revocation hook and the issue action's bad input, on the Kong FAKE (Kong cannot run here; the
fake follows Kong's Admin API, see tests/integrations/gateway/fakes/kong_fake.py) and the register."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integrations.gateway.conftest import API, Harness, make_harness, unique
from toolkit.audit import AuditLog
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.principal import AuthMethod
from toolkit.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from toolkit.ports.gateway import GatewayNotFoundError
from toolkit.settings import Settings, load_settings
from toolkit.splp.apis import check_provider, load_register
from toolkit.splp.lifecycle import revoke_compromised_consumer


@pytest.fixture
def kong(tmp_path: Path, provider_backend: str) -> Harness:
    return make_harness("kong", tmp_path, provider_backend, None)

CATALOG = load_catalog(None)


def test_revocation_hook_stops_the_key_and_is_audited(kong: Harness, tmp_path: Path) -> None:
    gw = kong.gateway
    route = gw.ensure_route(API)
    name = unique()
    gw.ensure_consumer(name)
    cred = gw.issue_key_credential(name)
    gw.restrict_to_api(name, API)
    assert kong.call(route.url, cred) == 200
    audit = AuditLog(tmp_path / "audit.db")
    done = revoke_compromised_consumer(gw, audit, name, actor="rina", auth=AuthMethod.LAB_AS, reason="kunci bocor",
                                       ticket_id="T-9")
    assert done.revoked_key_ids == (cred.key_id,) and not done.already_revoked
    assert kong.call(route.url, cred) == 401
    again = revoke_compromised_consumer(gw, audit, name, actor="rina", auth=AuthMethod.LAB_AS, reason="ulang")
    assert again.already_revoked
    assert [e.action for e in audit.entries()][-2:] == ["api.revoke", "api.revoke"]
    with pytest.raises(GatewayNotFoundError):
        revoke_compromised_consumer(gw, audit, unique(), actor="rina", auth=AuthMethod.LAB_AS, reason="x")
    with pytest.raises(InvalidInputError):
        revoke_compromised_consumer(gw, audit, "x; drop", actor="rina", auth=AuthMethod.LAB_AS, reason="x")


def test_only_the_provider_of_that_api_approves() -> None:
    path = Settings().splp_register  # the shipped register, the setting's default
    register = load_register(path)
    assert register.get("kependudukan").providers == ("prov-dukcapil",)
    check_provider(CATALOG.get("splp"), {"api_id": "kependudukan"}, "prov-dukcapil", register=path)
    with pytest.raises(PermissionDeniedError):
        check_provider(CATALOG.get("splp"), {"api_id": "kependudukan"}, "prov-dpmptsp", register=path)
    check_provider(CATALOG.get("pusat-data"), {}, "kadis", register=path)  # other services are not scoped


def test_the_register_is_a_setting(tmp_path: Path, state_dir: Path) -> None:
    """A deployment names its own register (``splp_register``); its providers are the ones that count."""
    own = tmp_path / "apis.yml"
    own.write_text("apis:\n  - {id: pajak, name: API Pajak, opd: Bapenda, providers: [prov-bapenda]}\n",
                   encoding="utf-8")
    settings = load_settings(state_dir=state_dir, splp_register=own)
    assert settings.splp_register == own
    check_provider(CATALOG.get("splp"), {"api_id": "pajak"}, "prov-bapenda", register=settings.splp_register)
    with pytest.raises(NotFoundError, match="pajak"):
        check_provider(CATALOG.get("splp"), {"api_id": "pajak"}, "prov-bapenda", register=Settings().splp_register)
    with pytest.raises(NotFoundError, match="kependudukan"):
        check_provider(CATALOG.get("splp"), {"api_id": "kependudukan"}, "prov-dukcapil", register=own)


def _ctx(**fields: object) -> object:
    from types import SimpleNamespace

    base = {"api_id": "kependudukan", "aplikasi_konsumen": "simpus", "kebutuhan_data": "NIK",
            "rate_limit_per_menit": 5}
    return SimpleNamespace(ticket=SimpleNamespace(id="SPLP-1", fields={**base, **fields}),
                           settings=SimpleNamespace(splp_register=Settings().splp_register))


@pytest.mark.parametrize(("field", "value"), [
    ("aplikasi_konsumen", "simpus;rm -rf /"), ("aplikasi_konsumen", "$(id)"), ("aplikasi_konsumen", "a\nb"),
    ("aplikasi_konsumen", "../../etc"), ("aplikasi_konsumen", "{{7*7}}"), ("aplikasi_konsumen", "a" * 70),
    ("kebutuhan_data", "{{ config }}"), ("kebutuhan_data", "x" * 3000), ("rate_limit_per_menit", 0),
    ("rate_limit_per_menit", 601),
])
def test_bad_requests_are_refused_before_the_gateway(field: str, value: object) -> None:
    from toolkit.actions.gateway.splp import issue_request

    with pytest.raises(InvalidInputError):
        issue_request(_ctx(**{field: value}))  # type: ignore[arg-type]


def test_an_api_not_in_the_register_is_refused() -> None:
    from toolkit.actions.gateway.splp import issue_request
    from toolkit.errors import NotFoundError

    with pytest.raises(NotFoundError):
        issue_request(_ctx(api_id="tidak-ada"))  # type: ignore[arg-type]
