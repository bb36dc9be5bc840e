"""The `Gateway` contract, run on every adapter so they stay interchangeable.

``express_gateway`` runs against the REAL Express Gateway (npm express-gateway, on loopback) and calls
go through its real proxy to the provider backend. ``kong`` and ``wso2`` run against FAKES of Kong's
Admin API and WSO2 API Manager's REST APIs (those products cannot run on this machine; the fakes follow
the documented paths, bodies, status codes, pagination and error shapes, and model the data plane's
key/ACL/quota checks so the same proxy assertions apply).
"""

from __future__ import annotations

import pytest
import requests

from tests.integrations.gateway.conftest import API, Harness, unique
from toolkit.errors import InvalidInputError
from toolkit.ports.gateway import ApiRoute, Credential, Gateway, GatewayNotFoundError


def _issue(h: Harness, per_minute: int | None = None) -> tuple[str, ApiRoute, Credential]:
    name = unique()
    gw = h.gateway
    route = gw.ensure_route(API)
    gw.ensure_consumer(name)
    cred = gw.issue_key_credential(name, ttl_days=30)
    gw.restrict_to_api(name, API)
    if per_minute:
        gw.set_rate_limit(name, API, per_minute)
    return name, route, cred


def test_adapter_satisfies_the_protocol(harness: Harness) -> None:
    assert isinstance(harness.gateway, Gateway)


def test_an_api_the_gateway_does_not_have_is_not_found(harness: Harness) -> None:
    with pytest.raises(GatewayNotFoundError) as err:
        harness.gateway.ensure_route("api-yang-tidak-ada")
    assert "api-yang-tidak-ada" in str(err.value)


def test_ensure_route_twice_changes_nothing(harness: Harness) -> None:
    first = harness.gateway.ensure_route(API)
    second = harness.gateway.ensure_route(API)
    assert second.route_id == first.route_id and second.url == first.url
    assert second.created is False
    assert second.url.startswith("http://127.0.0.1:")


def test_ensure_consumer_never_creates_a_second_one(harness: Harness) -> None:
    name = unique()
    first = harness.gateway.ensure_consumer(name)
    again = harness.gateway.ensure_consumer(name)
    assert first.created is True and again.created is False and again.id == first.id
    assert [c.consumer.name for c in harness.gateway.list_consumers()].count(name) == 1


@pytest.mark.parametrize("bad", ["App A", "app;rm -rf /", "$(id)", "app\nx", "../etc", "{{ 7*7 }}", "a" * 64, "",
                                 "aplikasi_satu", "APP", "-app", "app-"])
def test_names_the_gateway_would_reject_are_refused_before_any_call(harness: Harness, bad: str) -> None:
    seen = len(harness.fake.requests) if harness.fake else 0
    with pytest.raises(InvalidInputError):
        harness.gateway.ensure_consumer(bad)
    with pytest.raises(InvalidInputError):
        harness.gateway.ensure_route(bad)
    if harness.fake:
        assert len(harness.fake.requests) == seen


def test_issued_credential_reaches_the_backend_and_nothing_else_does(harness: Harness) -> None:
    name, route, cred = _issue(harness)
    assert cred.consumer == name and cred.expires_at is not None
    assert harness.call(route.url, cred) == 200
    body = requests.get(route.url + "/data", headers=harness.gateway.auth_headers(cred), timeout=10)
    assert body.json()["layanan"] == "Data Kependudukan"
    assert harness.call(route.url) == 401
    assert harness.call(route.url, headers=harness.bad_headers()) == 401


def test_a_credential_without_the_acl_is_refused(harness: Harness) -> None:
    name = unique()
    route = harness.gateway.ensure_route(API)
    harness.gateway.ensure_consumer(name)
    cred = harness.gateway.issue_key_credential(name)
    assert harness.call(route.url, cred) == 403
    assert harness.gateway.restrict_to_api(name, API).group == route.acl_group
    assert harness.call(route.url, cred) == 200


def test_rate_limit_is_enforced_per_consumer(harness: Harness) -> None:
    name, route, cred = _issue(harness, per_minute=3)
    info = next(c for c in harness.gateway.list_consumers() if c.consumer.name == name)
    assert [(r.api, r.per_minute) for r in info.rate_limits] == [(API, 3)]
    statuses = [harness.call(route.url, cred) for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_revoke_stops_every_credential_and_keeps_the_consumer(harness: Harness) -> None:
    name, route, cred = _issue(harness)
    assert harness.call(route.url, cred) == 200
    revoked = harness.gateway.revoke(name)
    assert cred.key_id in revoked
    assert harness.call(route.url, cred) in (401, 403)
    assert harness.gateway.get_consumer(name) is not None
    assert harness.gateway.revoke(name) == [] or harness.kind == "wso2"  # WSO2 re-rolls the secret again


def test_rotate_gives_a_working_credential_and_retires_the_old(harness: Harness) -> None:
    name, route, old = _issue(harness)
    new = harness.gateway.rotate(name)
    assert new.secret.get_secret_value() != old.secret.get_secret_value()
    assert harness.call(route.url, new) == 200
    assert harness.call(route.url, old) in (401, 403)


def test_list_shows_credentials_masked_and_groups(harness: Harness) -> None:
    name, route, cred = _issue(harness)
    info = next(c for c in harness.gateway.list_consumers() if c.consumer.name == name)
    assert cred.key_id in [c.key_id for c in info.credentials]
    assert route.acl_group in info.groups
    dumped = info.model_dump_json()
    assert cred.secret.get_secret_value() not in dumped


def test_delete_consumer_is_the_undo_and_is_idempotent(harness: Harness) -> None:
    name, route, cred = _issue(harness, per_minute=5)
    assert harness.gateway.delete_consumer(name) is True
    assert harness.gateway.get_consumer(name) is None
    assert harness.gateway.delete_consumer(name) is False
    assert harness.call(route.url, cred) == 401
    assert name not in [c.consumer.name for c in harness.gateway.list_consumers()]


def test_the_secret_never_shows_in_a_repr_or_dump(harness: Harness) -> None:
    _, _, cred = _issue(harness)
    secret = cred.secret.get_secret_value()
    assert secret not in repr(cred) and secret not in cred.model_dump_json()
    assert cred.masked.endswith(secret[-4:]) and secret not in cred.masked


def test_a_consumer_the_gateway_does_not_have_is_not_found(harness: Harness) -> None:
    """Nothing is created on the way: a credential, an ACL or a rotation for a consumer that does not exist
    is `GatewayNotFoundError` (the SPLP lifecycle and containment rely on it), and it is still absent after."""
    gw, name = harness.gateway, unique("hilang")
    assert gw.get_consumer(name) is None
    for call in (lambda: gw.issue_key_credential(name), lambda: gw.rotate(name), lambda: gw.revoke(name),
                 lambda: gw.restrict_to_api(name, API)):
        with pytest.raises(GatewayNotFoundError):
            call()
    assert gw.get_consumer(name) is None and name not in [c.consumer.name for c in gw.list_consumers()]

