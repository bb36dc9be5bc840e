"""Keycloak unreachable or answering 401/403/409/500 mid-way, against the Keycloak FAKE
(tests/support/keycloak_fake, Keycloak 24's API; Keycloak cannot run here): a clear error of the
right kind, no half-created consumer left behind, a retry that completes once, and no secret in any
error, however the server answers."""

from __future__ import annotations

import traceback
from collections.abc import Callable

import pytest

from integrations.identity.keycloak import KeycloakIdentityProvider
from tests.support.keycloak_fake import KeycloakFake
from tests.support.keycloak_fake.fixtures import KEYCLOAK_ADMIN_SECRET
from toolkit.errors import ConflictError, PermissionDeniedError, ToolkitError, UnavailableError
from toolkit.masking import Masker
from toolkit.ports.identity_provider import ConsumerClientSpec
from toolkit.settings import Settings, load_settings

SPEC = ConsumerClientSpec(client_id="sipd-bappeda", name="SIPD Bappeda", api_role="kependudukan", ticket_id="T-7")


@pytest.fixture
def idp(idp_settings: Settings) -> KeycloakIdentityProvider:
    return KeycloakIdentityProvider(settings=idp_settings, masker=Masker())


def _clients_named(keycloak: KeycloakFake, client_id: str) -> int:
    return sum(c.client_id == client_id for c in keycloak.realm("spbe").clients.values())


def _text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(getattr(exc, "details", ""))


def test_unreachable_keycloak_is_a_retryable_error(idp: KeycloakIdentityProvider, keycloak: KeycloakFake) -> None:
    keycloak.down()
    try:
        with pytest.raises(UnavailableError, match=f"Keycloak at {keycloak.url}/ is unreachable") as info:
            idp.ensure_consumer_client(SPEC)
    finally:
        keycloak.up()
    assert info.value.exit_code == 6 and KEYCLOAK_ADMIN_SECRET not in _text(info.value)
    assert idp.ensure_consumer_client(SPEC).created


@pytest.mark.parametrize("path", [r"/clients$", r"/role-mappings/clients/", r"/service-account-user$"])
def test_a_500_mid_way_leaves_nothing_behind_and_a_retry_completes_once(
        idp: KeycloakIdentityProvider, keycloak: KeycloakFake, path: str) -> None:
    keycloak.fail(500, path=path, method="POST" if path != r"/service-account-user$" else "GET")
    with pytest.raises(UnavailableError, match="Keycloak answered 500"):
        idp.ensure_consumer_client(SPEC)
    assert idp.find_client(SPEC.client_id) is None
    ensured = idp.ensure_consumer_client(SPEC)
    assert ensured.created and ensured.client.api_roles == frozenset({"kependudukan"})
    assert _clients_named(keycloak, SPEC.client_id) == 1


def test_when_even_the_undo_fails_the_retry_adopts_the_leftover(idp: KeycloakIdentityProvider,
                                                                keycloak: KeycloakFake) -> None:
    keycloak.fail(503, path=r"/role-mappings/clients/", method="POST")
    keycloak.fail(503, path=r"/clients/[^/]+$", method="DELETE")
    with pytest.raises(UnavailableError, match="503"):
        idp.ensure_consumer_client(SPEC)
    assert _clients_named(keycloak, SPEC.client_id) == 1  # the undo could not run
    ensured = idp.ensure_consumer_client(SPEC)  # ours (attributes match): adopted and completed
    assert not ensured.created and ensured.client.api_roles == frozenset({"kependudukan"})
    assert _clients_named(keycloak, SPEC.client_id) == 1


def test_a_409_that_is_not_a_race_is_reported(idp: KeycloakIdentityProvider, keycloak: KeycloakFake) -> None:
    idp.ensure_consumer_client(SPEC.model_copy(update={"client_id": "another-app"}))  # the API client exists now
    keycloak.fail(409, path=r"/clients$", method="POST", body={"errorMessage": "Client sipd-bappeda already exists"})
    with pytest.raises(ConflictError, match="409 to creating client sipd-bappeda: Client sipd-bappeda already exists"):
        idp.ensure_consumer_client(SPEC)
    assert idp.ensure_consumer_client(SPEC).created


def test_wrong_admin_credentials_are_refused(state_dir: object, keycloak: KeycloakFake,
                                             monkeypatch: pytest.MonkeyPatch, idp_settings: Settings) -> None:
    wrong = "CANARY-wrong-admin-9d8c7b6a"  # noqa: S105
    monkeypatch.setenv("SPBE_IDP_ADMIN_SECRET", wrong)
    idp = KeycloakIdentityProvider(settings=idp_settings, masker=Masker())
    with pytest.raises(PermissionDeniedError, match="Keycloak answered 401") as info:
        idp.get_user("andi")
    assert wrong not in _text(info.value) and info.value.exit_code == 4


def test_an_admin_client_without_the_roles_gets_403(idp_settings: Settings, keycloak: KeycloakFake,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    keycloak.add_admin_client("spbe", "read-only-bot", "read-only-secret-1234", roles=("view-users",))
    monkeypatch.setenv("SPBE_RO_SECRET", "read-only-secret-1234")
    settings = load_settings(state_dir=idp_settings.state_dir, identity={
        "server_url": keycloak.url, "realm": "spbe", "admin_client_id": "read-only-bot",
        "admin_secret": {"ref": "env:SPBE_RO_SECRET"}})
    idp = KeycloakIdentityProvider(settings=settings)
    assert idp.get_user("andi").username == "andi"  # view-users is enough to read
    with pytest.raises(PermissionDeniedError, match="Keycloak answered 403"):
        idp.ensure_consumer_client(SPEC)
    with pytest.raises(PermissionDeniedError, match="403"):
        idp.disable_user_and_logout("andi")
    assert keycloak.realm("spbe").user_by_username("andi").enabled  # type: ignore[union-attr]


@pytest.mark.parametrize("path", [r"/admin/realms/spbe/clients$", r"/clients/[^/]+/roles$"])
def test_races_on_the_shared_api_client_and_role_are_absorbed(idp: KeycloakIdentityProvider,
                                                              keycloak: KeycloakFake, path: str) -> None:
    """Another worker creating the API resource client or the API role at the same time: Keycloak's
    409 is absorbed (python-keycloak's own skip_exists would crash reading a missing Location)."""
    from tests.support.keycloak_fake.realm import Client, Role

    realm = keycloak.realm("spbe")
    api = realm.add_client(Client(client_id="spbe-gateway", attributes={"spbe.managed": "true"}))
    realm_lookup = r"/admin/realms/spbe/clients$" if path.endswith("clients$") else r"/roles/kependudukan$"
    if path.endswith("clients$"):
        keycloak.fail(200, path=realm_lookup, method="GET", body=[])  # stale look-up: it does not exist yet
    else:
        keycloak.fail(404, path=realm_lookup, method="GET", body={"error": "Could not find role"})
        api.roles["kependudukan"] = Role("kependudukan", container_id=api.id, client_role=True)
    ensured = idp.ensure_consumer_client(SPEC)
    assert ensured.created and ensured.client.api_roles == frozenset({"kependudukan"})
    assert _clients_named(keycloak, "spbe-gateway") == 1


def test_a_401_from_an_expired_admin_token_is_retried_once(idp: KeycloakIdentityProvider,
                                                            keycloak: KeycloakFake) -> None:
    """python-keycloak answers one 401 by fetching a new admin token and repeating the call (what a
    token expired early needs); a 401 that persists is a refusal."""
    keycloak.fail(401, path=r"/admin/realms/spbe/users$", body={"error": "HTTP 401 Unauthorized"})
    assert idp.get_user("andi").username == "andi"
    keycloak.fail(401, path=r"/admin/realms/spbe/users$", times=2, body={"error": "HTTP 401 Unauthorized"})
    with pytest.raises(PermissionDeniedError, match="401 to looking up user andi"):
        idp.get_user("andi")


def test_token_endpoint_outage_is_retryable(idp: KeycloakIdentityProvider, keycloak: KeycloakFake) -> None:
    keycloak.fail(500, path=r"/protocol/openid-connect/token$")
    with pytest.raises(UnavailableError):
        idp.get_user("andi")
    assert idp.get_user("andi").username == "andi"


def test_no_secret_in_any_error_even_when_keycloak_echoes_it(idp: KeycloakIdentityProvider,
                                                             keycloak: KeycloakFake) -> None:
    idp.ensure_consumer_client(SPEC)
    client_secret = idp.client_secret(SPEC.client_id).get_secret_value()
    echoes = [KEYCLOAK_ADMIN_SECRET, client_secret]
    body = {"errorMessage": f"rejected {KEYCLOAK_ADMIN_SECRET} and {client_secret}"}
    raised: list[ToolkitError] = []
    cases: list[tuple[int, str, Callable[[], object]]] = [
        (400, r"/client-secret$", lambda: idp.rotate_client_secret(SPEC.client_id)),
        (409, r"/clients/[^/]+$", lambda: idp.disable_client(SPEC.client_id)),
        (500, r"/users$", lambda: idp.get_user("andi")),
        (403, r"/clients$", lambda: idp.find_client(SPEC.client_id)),
        (418, r"/clients$", lambda: idp.find_client(SPEC.client_id)),
    ]
    for status, path, call in cases:
        keycloak.fail(status, path=path, body=body)
        with pytest.raises(ToolkitError) as info:
            call()
        raised.append(info.value)
    assert [type(e).__name__ for e in raised] == ["InvalidInputError", "ConflictError", "UnavailableError",
                                                  "PermissionDeniedError", "ActionFailedError"]
    for exc in raised:
        assert "rejected ********" in str(exc)
        assert not any(secret in _text(exc) for secret in echoes), _text(exc)


def _impatient(idp_settings: Settings, timeout_s: float = 0.5) -> KeycloakIdentityProvider:
    """An adapter that gives up waiting for an answer after ``timeout_s`` (python-keycloak then resends
    the request once, POST included)."""
    assert idp_settings.identity is not None
    identity = idp_settings.identity.model_copy(update={"timeout_s": timeout_s})
    return KeycloakIdentityProvider(settings=idp_settings.model_copy(update={"identity": identity}), masker=Masker())


def _creates(keycloak: KeycloakFake) -> int:
    return sum(r == ("POST", "/admin/realms/spbe/clients") for r in keycloak.requests)


def test_a_create_answered_late_and_resent_is_still_ours_and_undone(idp_settings: Settings,
                                                                    keycloak: KeycloakFake) -> None:
    """Keycloak makes the client but answers after the adapter's timeout: python-keycloak resends the
    POST and gets 409. The client is still the one this call created, so a failure after it undoes it
    (it was once taken for another worker's and left behind) and the retry creates it once."""
    idp = _impatient(idp_settings)
    idp.ensure_consumer_client(SPEC.model_copy(update={"client_id": "another-app"}))  # the API client exists now
    before = _creates(keycloak)
    keycloak.slow(1.0, path=r"/admin/realms/spbe/clients$", method="POST")
    keycloak.fail(500, path=r"/role-mappings/clients/", method="POST")
    with pytest.raises(UnavailableError, match="Keycloak answered 500"):
        idp.ensure_consumer_client(SPEC)
    assert _creates(keycloak) - before == 2  # the create was really sent twice
    assert _clients_named(keycloak, SPEC.client_id) == 0
    ensured = idp.ensure_consumer_client(SPEC)
    assert ensured.created and ensured.client.api_roles == frozenset({"kependudukan"})
    assert _clients_named(keycloak, SPEC.client_id) == 1


def test_a_create_resent_and_answered_409_reports_created(idp_settings: Settings, keycloak: KeycloakFake) -> None:
    idp = _impatient(idp_settings)
    idp.ensure_consumer_client(SPEC.model_copy(update={"client_id": "another-app"}))
    keycloak.slow(1.0, path=r"/admin/realms/spbe/clients$", method="POST")
    ensured = idp.ensure_consumer_client(SPEC)
    assert ensured.created and ensured.client.api_roles == frozenset({"kependudukan"})
    assert _clients_named(keycloak, SPEC.client_id) == 1


def test_a_create_never_answered_in_time_is_removed_when_keycloak_made_it(idp_settings: Settings,
                                                                          keycloak: KeycloakFake) -> None:
    """Both sends time out (the first made the client): the call fails as retryable, and the client
    Keycloak made with our id is taken back; the retry creates it once."""
    idp = _impatient(idp_settings)
    idp.ensure_consumer_client(SPEC.model_copy(update={"client_id": "another-app"}))
    keycloak.slow(1.0, path=r"/admin/realms/spbe/clients$", method="POST", times=2)
    with pytest.raises(UnavailableError, match="unreachable"):
        idp.ensure_consumer_client(SPEC)
    assert _clients_named(keycloak, SPEC.client_id) == 0
    assert idp.ensure_consumer_client(SPEC).created
    assert _clients_named(keycloak, SPEC.client_id) == 1
