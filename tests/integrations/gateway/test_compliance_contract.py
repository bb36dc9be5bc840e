"""What the compliance profile ``splp`` asks of every gateway adapter: `Gateway.list_routes` and the
reversible switches of `GatewayControls`, proved through each gateway's proxy.

``express_gateway`` is the REAL Express Gateway; ``kong`` and ``wso2`` are FAKES of their documented admin
APIs (see the fakes' docstrings). The Express Gateway is shared by the session, so every change a test
makes to its route is put back before the test ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integrations.gateway.conftest import API, Harness, make_harness, unique
from toolkit.errors import InvalidInputError
from toolkit.ports.gateway import Credential, GatewayControls, GatewayNotFoundError, GatewayRequestError, RouteInfo


def _route(h: Harness) -> RouteInfo:
    return next(r for r in h.gateway.list_routes() if r.api == API)


def _issued(h: Harness, per_minute: int | None = None) -> tuple[str, str, Credential]:
    name = unique()
    route = h.gateway.ensure_route(API)
    h.gateway.ensure_consumer(name)
    cred = h.gateway.issue_key_credential(name, ttl_days=30)
    h.gateway.restrict_to_api(name, API)
    if per_minute:
        h.gateway.set_rate_limit(name, API, per_minute)
    return name, route.url, cred


@pytest.fixture
def controlled(harness: Harness) -> Iterator[Harness]:
    """Every adapter has the switches; the route-wide limit is removed again after each test."""
    assert isinstance(harness.gateway, GatewayControls)
    yield harness
    harness.gateway.set_default_rate_limit(API, None)


def test_list_routes_shows_the_route_its_policies_and_per_consumer_limits(harness: Harness) -> None:
    _issued(harness, per_minute=5)
    route = _route(harness)
    assert route.consumer_limits >= 1
    assert route.route_id
    expected = {"express_gateway": {"key-auth", "rate-limit", "proxy"}, "kong": {"key-auth", "acl"},
                "wso2": {"Uji3", "Bronze", "Gold"}}[harness.kind]
    assert expected <= set(route.policies)


def test_wso2_reports_the_apis_advanced_policy_as_the_route_wide_limit(tmp_path: Path, provider_backend: str) -> None:
    wso2 = make_harness("wso2", tmp_path, provider_backend, None)
    assert _route(wso2).default_per_minute is None
    assert wso2.fake is not None and hasattr(wso2.fake, "add_advanced_policy")
    wso2.fake.add_advanced_policy(API, "SPLP600", 600)
    route = _route(wso2)
    wso2.fake.stop()
    assert route.default_per_minute == 600 and "SPLP600" in route.policies


def test_a_route_wide_limit_holds_for_a_consumer_without_its_own(controlled: Harness) -> None:
    gw = controlled.gateway
    assert isinstance(gw, GatewayControls)
    _, url, cred = _issued(controlled)
    assert gw.set_default_rate_limit(API, 2) is None
    assert _route(controlled).default_per_minute == 2
    assert [controlled.call(url, cred) for _ in range(3)] == [200, 200, 429]
    assert gw.set_default_rate_limit(API, 2) == 2  # again: unchanged, the previous value answered
    assert gw.set_default_rate_limit(API, None) == 2
    assert _route(controlled).default_per_minute is None


def test_removing_the_route_wide_limit_keeps_the_per_consumer_ones(controlled: Harness) -> None:
    gw = controlled.gateway
    assert isinstance(gw, GatewayControls)
    name, url, cred = _issued(controlled, per_minute=3)
    before = _route(controlled).consumer_limits
    gw.set_default_rate_limit(API, 1000)
    gw.set_default_rate_limit(API, None)
    assert _route(controlled).consumer_limits == before
    info = next(c for c in gw.list_consumers() if c.consumer.name == name)
    assert [(r.api, r.per_minute) for r in info.rate_limits] == [(API, 3)]
    assert [controlled.call(url, cred) for _ in range(4)] == [200, 200, 200, 429]


def test_a_disabled_consumer_is_refused_and_enabling_gives_it_back(controlled: Harness) -> None:
    gw = controlled.gateway
    assert isinstance(gw, GatewayControls)
    name, url, cred = _issued(controlled)
    assert controlled.call(url, cred) == 200
    assert gw.set_consumer_active(name, False) is True
    assert controlled.call(url, cred) in (401, 403)
    assert next(c for c in gw.list_consumers() if c.consumer.name == name).consumer.active is False
    assert gw.set_consumer_active(name, False) is False  # idempotent, reports it was already off
    assert gw.set_consumer_active(name, True) is False
    assert controlled.call(url, cred) == 200
    assert next(c for c in gw.list_consumers() if c.consumer.name == name).consumer.active is True


def test_a_credential_switch_is_reversible_or_refused_without_change(controlled: Harness) -> None:
    gw = controlled.gateway
    assert isinstance(gw, GatewayControls)
    name, url, cred = _issued(controlled)
    if controlled.kind in ("kong", "wso2"):  # no status on a Kong key or a WSO2 secret: refused, key still works
        with pytest.raises(GatewayRequestError, match="no status"):
            gw.set_credential_active(name, cred.key_id, False)
        assert controlled.call(url, cred) == 200
        return
    assert gw.set_credential_active(name, cred.key_id, False) is True
    assert controlled.call(url, cred) == 401
    listed = next(c for c in gw.list_consumers() if c.consumer.name == name).credentials
    assert [(c.key_id, c.active) for c in listed] == [(cred.key_id, False)]
    assert gw.set_credential_active(name, cred.key_id, True) is False
    assert controlled.call(url, cred) == 200


def test_switches_on_what_the_gateway_does_not_have_are_not_found(controlled: Harness) -> None:
    gw = controlled.gateway
    assert isinstance(gw, GatewayControls)
    name, _, _ = _issued(controlled)
    with pytest.raises(GatewayNotFoundError):
        gw.set_consumer_active(unique("hilang"), False)
    with pytest.raises(GatewayNotFoundError):
        gw.set_credential_active(name, "KunciTidakAda01", False)
    with pytest.raises(GatewayNotFoundError):
        gw.set_default_rate_limit("api-yang-tidak-ada", 10)
    for bad in ("../x", "a b", "k;rm", ""):
        with pytest.raises(InvalidInputError):
            gw.set_credential_active(name, bad, False)
