"""CSIRT revocation hook and the issue action's bad input, on the Kong FAKE (Kong cannot run here; the
fake follows Kong's Admin API, see tests/integrations/gateway/fakes/kong_fake.py) and the register."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integrations.gateway.conftest import API, Harness, make_harness, unique
from toolkit.audit import AuditLog
from toolkit.catalog.loader import load_catalog
from toolkit.errors import InvalidInputError, PermissionDeniedError
from toolkit.gateway import GatewayNotFoundError
from toolkit.splp.apis import check_provider, load_register
from toolkit.splp.lifecycle import revoke_compromised_consumer


@pytest.fixture
def kong(tmp_path: Path, provider_backend: str) -> Harness:
    return make_harness("kong", tmp_path, provider_backend, None)


def test_revocation_hook_stops_the_key_and_is_audited(kong: Harness, tmp_path: Path) -> None:
    gw = kong.gateway
    route = gw.ensure_route(API)
    name = unique()
    gw.ensure_consumer(name)
    cred = gw.issue_key_credential(name)
    gw.restrict_to_api(name, API)
    assert kong.call(route.url, cred) == 200
    audit = AuditLog(tmp_path / "audit.db")
    done = revoke_compromised_consumer(gw, audit, name, actor="rina", reason="kunci bocor", ticket_id="T-9")
    assert done.revoked_key_ids == (cred.key_id,) and not done.already_revoked
    assert kong.call(route.url, cred) == 401
    again = revoke_compromised_consumer(gw, audit, name, actor="rina", reason="ulang")
    assert again.already_revoked
    assert [e.action for e in audit.entries()][-2:] == ["api.revoke", "api.revoke"]
    with pytest.raises(GatewayNotFoundError):
        revoke_compromised_consumer(gw, audit, unique(), actor="rina", reason="x")
    with pytest.raises(InvalidInputError):
        revoke_compromised_consumer(gw, audit, "x; drop", actor="rina", reason="x")


def test_only_the_provider_of_that_api_approves() -> None:
    register = load_register()
    assert register.get("kependudukan").providers == ("prov-dukcapil",)
    catalog = load_catalog(None)
    check_provider(catalog.get("splp"), {"api_id": "kependudukan"}, "prov-dukcapil")
    with pytest.raises(PermissionDeniedError):
        check_provider(catalog.get("splp"), {"api_id": "kependudukan"}, "prov-dpmptsp")
    check_provider(catalog.get("pusat-data"), {}, "kadis")  # other services are not scoped


def _ctx(**fields: object) -> object:
    from types import SimpleNamespace

    base = {"api_id": "kependudukan", "aplikasi_konsumen": "simpus", "kebutuhan_data": "NIK",
            "rate_limit_per_menit": 5}
    return SimpleNamespace(ticket=SimpleNamespace(id="SPLP-1", fields={**base, **fields}))


@pytest.mark.parametrize(("field", "value"), [
    ("aplikasi_konsumen", "simpus;rm -rf /"), ("aplikasi_konsumen", "$(id)"), ("aplikasi_konsumen", "a\nb"),
    ("aplikasi_konsumen", "../../etc"), ("aplikasi_konsumen", "{{7*7}}"), ("aplikasi_konsumen", "a" * 70),
    ("kebutuhan_data", "{{ config }}"), ("kebutuhan_data", "x" * 3000), ("rate_limit_per_menit", 0),
    ("rate_limit_per_menit", 601),
])
def test_bad_requests_are_refused_before_the_gateway(field: str, value: object) -> None:
    from toolkit.actions.splp import issue_request

    with pytest.raises(InvalidInputError):
        issue_request(_ctx(**{field: value}))  # type: ignore[arg-type]


def test_an_api_not_in_the_register_is_refused() -> None:
    from toolkit.actions.splp import issue_request
    from toolkit.errors import NotFoundError

    with pytest.raises(NotFoundError):
        issue_request(_ctx(api_id="tidak-ada"))  # type: ignore[arg-type]
