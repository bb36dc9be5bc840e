"""Bad answers from the gateway: 401/409/500 mid-way, unreachable, secrets echoed back in error bodies.

Kong and WSO2 are FAKES (the products cannot run here; see fakes/ for what they follow): only a fake
can inject a status in the middle of a sequence. The real Express Gateway is used for "unreachable".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.gateway.express_gateway import ExpressGatewayAdapter
from integrations.gateway.kong import KongAdapter
from integrations.gateway.wso2 import Wso2Adapter
from lab.procs import free_port
from tests.integrations.gateway.conftest import API, KONG_TOKEN, WSO2_PASSWORD, Harness, unique
from toolkit.errors import ConfigurationError
from toolkit.ports.gateway import (
    GatewayAuthError,
    GatewayConflictError,
    GatewayRequestError,
    GatewayUnavailableError,
)
from toolkit.settings import load_settings

ISSUE_PATH = {"kong": r"/consumers/[^/]+/key-auth$", "wso2": r"/generate-keys$"}
CONSUMERS_PATH = {"kong": r"^/consumers/", "wso2": r"/applications$"}


def test_500_mid_way_is_retryable_and_a_retry_completes(faked: Harness) -> None:
    assert faked.fake is not None
    name = unique()
    faked.gateway.ensure_route(API)
    faked.gateway.ensure_consumer(name)
    faked.fake.fail(500, ISSUE_PATH[faked.kind], method="POST")
    with pytest.raises(GatewayUnavailableError) as err:
        faked.gateway.issue_key_credential(name)
    assert err.value.details["status"] == 500 and err.value.exit_code == 6
    cred = faked.gateway.issue_key_credential(name)  # the retry: exactly one credential exists
    info = next(c for c in faked.gateway.list_consumers() if c.consumer.name == name)
    assert [c.key_id for c in info.credentials] == [cred.key_id]


def test_401_is_an_auth_error_that_never_shows_the_admin_secret(faked: Harness) -> None:
    assert faked.fake is not None
    faked.gateway.ensure_route(API)
    own = KONG_TOKEN if faked.kind == "kong" else WSO2_PASSWORD  # the admin secret this adapter holds
    faked.fake.fail(401, ".*", times=3, body={"message": f"bad token {own}", "description": f"bad token {own}"})
    with pytest.raises(GatewayAuthError) as err:
        faked.gateway.ensure_consumer(unique())
    text = str(err.value) + repr(err.value.details)
    assert own not in text
    assert "401" in text


def test_a_wrong_admin_credential_is_refused_clearly(faked: Harness) -> None:
    assert faked.fake is not None
    if faked.kind == "kong":
        faked.fake.admin_token = "something-else"  # type: ignore[union-attr]  # noqa: S105 - test data
    else:
        faked.fake.users["admin"] = "changed"  # type: ignore[union-attr]
    with pytest.raises(GatewayAuthError) as err:
        faked.gateway.ensure_route(API)
    assert err.value.exit_code == 4


def test_409_from_a_racing_create_still_gives_one_consumer(faked: Harness) -> None:
    assert faked.fake is not None
    name = unique()
    other = faked.gateway.ensure_consumer(name)  # someone else created it ...
    # ... but our lookup did not see it yet, so our create meets the unique constraint.
    if faked.kind == "kong":
        faked.fake.fail(404, rf"^/consumers/{name}$", method="GET", body={"message": "Not found"})
    else:
        faked.fake.fail(200, r"/applications$", method="GET",
                        body={"count": 0, "list": [], "pagination": {"offset": 0, "limit": 25, "total": 0}})
    again = faked.gateway.ensure_consumer(name)
    assert again.id == other.id and again.created is False
    assert [c.consumer.name for c in faked.gateway.list_consumers()].count(name) == 1


def test_409_elsewhere_is_a_conflict_error(faked: Harness) -> None:
    assert faked.fake is not None
    name = unique()
    faked.gateway.ensure_route(API)
    faked.gateway.ensure_consumer(name)
    faked.fake.fail(409, ISSUE_PATH[faked.kind], method="POST")
    with pytest.raises(GatewayConflictError) as err:
        faked.gateway.issue_key_credential(name)
    assert err.value.exit_code == 5


def test_a_secret_echoed_in_an_error_body_is_masked(faked: Harness) -> None:
    assert faked.fake is not None
    name = unique()
    faked.gateway.ensure_route(API)
    faked.gateway.ensure_consumer(name)
    cred = faked.gateway.issue_key_credential(name)
    secret = cred.secret.get_secret_value()
    faked.fake.fail(400, ".*", body={"message": f"cannot use key {secret}", "description": f"key {secret}"})
    with pytest.raises(GatewayRequestError) as err:
        faked.gateway.restrict_to_api(name, API)
    assert secret not in str(err.value) and secret not in repr(err.value.details)


def test_unreachable_admin_api_then_back(faked: Harness) -> None:
    assert faked.fake is not None
    faked.gateway.ensure_route(API)
    faked.fake.down()
    try:
        with pytest.raises(GatewayUnavailableError) as err:
            faked.gateway.ensure_consumer(unique())
        assert "unreachable" in str(err.value)
    finally:
        faked.fake.up()
    assert faked.gateway.ensure_consumer(unique()).created is True


def test_express_gateway_unreachable(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    gw = ExpressGatewayAdapter(load_settings(state_dir=tmp_path), admin_url=f"http://127.0.0.1:{port}",
                               proxy_url=f"http://127.0.0.1:{port}", timeout_s=2)
    with pytest.raises(GatewayUnavailableError) as err:
        gw.ensure_consumer("aplikasi-a")
    assert err.value.details["gateway"] == "express-gateway"


def test_listing_follows_every_page(faked: Harness) -> None:
    names = {unique() for _ in range(7 if faked.kind == "kong" else 27)}
    for name in names:
        faked.gateway.ensure_consumer(name)
    listed = {c.consumer.name for c in faked.gateway.list_consumers()}
    assert names <= listed


@pytest.mark.parametrize("faked", ["wso2"], indirect=True)
def test_wso2_quota_is_the_smallest_tier_that_covers_the_request(faked: Harness) -> None:
    assert isinstance(faked.gateway, Wso2Adapter)
    name = unique()
    faked.gateway.ensure_consumer(name)
    faked.gateway.restrict_to_api(name, API)
    limit = faked.gateway.set_rate_limit(name, API, 120)
    assert (limit.per_minute, limit.requested_per_minute, limit.policy) == (1000, 120, "Bronze")
    with pytest.raises(GatewayRequestError) as err:
        faked.gateway.set_rate_limit(name, API, 9000)
    assert "9000" in str(err.value)


@pytest.mark.parametrize("faked", ["kong"], indirect=True)
def test_kong_rate_limit_update_patches_the_same_plugin(faked: Harness) -> None:
    assert isinstance(faked.gateway, KongAdapter)
    name = unique()
    faked.gateway.ensure_route(API)
    faked.gateway.ensure_consumer(name)
    first = faked.gateway.set_rate_limit(name, API, 10)
    second = faked.gateway.set_rate_limit(name, API, 20)
    assert first.policy == second.policy
    info = next(c for c in faked.gateway.list_consumers() if c.consumer.name == name)
    assert [r.per_minute for r in info.rate_limits] == [20]


def test_express_gateway_has_no_default_urls(tmp_path: Path) -> None:
    """No lab to fall back on: a deployment names its gateway, or the adapter says which options are missing."""
    settings = load_settings(state_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="admin_url and proxy_url"):
        ExpressGatewayAdapter(settings)
    with pytest.raises(ConfigurationError, match=r"needs gateway\.options proxy_url"):
        ExpressGatewayAdapter(settings, admin_url="http://127.0.0.1:9")
