"""The Keycloak adapter against the Keycloak FAKE (tests/support/keycloak_fake: a real HTTP server on
127.0.0.1 following Keycloak 24's admin REST API and OIDC endpoints; Keycloak itself cannot run
here). Tokens are real RS256 JWTs signed by the fake and validated by our code."""

from __future__ import annotations

import pytest
from keycloak.exceptions import KeycloakPostError
from pydantic import SecretStr, ValidationError

from integrations.identity.keycloak import KeycloakIdentityProvider
from tests.support.keycloak_fake import KeycloakFake
from toolkit.engine.app import App
from toolkit.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from toolkit.identity_provider import ConsumerClientSpec, IdentityProvider
from toolkit.masking import Masker
from toolkit.settings import Settings

SPEC = ConsumerClientSpec(client_id="simpeg-dinkes", name="SIMPEG Dinas Kesehatan", api_role="kependudukan",
                          ticket_id="T-0001")


@pytest.fixture
def idp(idp_settings: Settings) -> KeycloakIdentityProvider:
    return KeycloakIdentityProvider(settings=idp_settings, masker=Masker(), jwks_min_refresh_s=0)


def _posts(fake: KeycloakFake, suffix: str) -> int:
    return sum(1 for method, path in fake.requests if method == "POST" and path.endswith(suffix))


def test_is_an_identity_provider_chosen_by_configuration(idp_settings: Settings) -> None:
    provider = App(idp_settings).identity
    assert isinstance(provider, KeycloakIdentityProvider) and isinstance(provider, IdentityProvider)


def test_consumer_client_is_confidential_with_service_account_and_the_api_role(
        idp: KeycloakIdentityProvider, keycloak: KeycloakFake) -> None:
    ensured = idp.ensure_consumer_client(SPEC)
    assert ensured.created
    client = ensured.client
    assert (client.client_id, client.enabled, client.confidential, client.service_account) == (
        "simpeg-dinkes", True, True, True)
    assert client.api_roles == frozenset({"kependudukan"}) and client.ticket_id == "T-0001"
    held = keycloak.realm("spbe").client_by_client_id("simpeg-dinkes")
    assert held is not None and not held.standard_flow_enabled and not held.direct_access_grants_enabled
    assert idp.get_client("simpeg-dinkes") == client


def test_ensure_twice_creates_one_client(idp: KeycloakIdentityProvider, keycloak: KeycloakFake) -> None:
    first = idp.ensure_consumer_client(SPEC)
    second = idp.ensure_consumer_client(SPEC)
    assert first.created and not second.created and second.client.id == first.client.id
    assert _posts(keycloak, "/admin/realms/spbe/clients") == 2  # the consumer, and the API resource client once
    assert sum(c.client_id == "simpeg-dinkes" for c in keycloak.realm("spbe").clients.values()) == 1


def test_token_of_a_new_client_is_validated_by_our_code(idp: KeycloakIdentityProvider) -> None:
    idp.ensure_consumer_client(SPEC)
    secret = idp.client_secret("simpeg-dinkes")
    token = idp.client_credentials_token("simpeg-dinkes", secret)
    claims = idp.validate_token(token.token, required_role="kependudukan", check_active=True)
    assert claims.authorized_party == "simpeg-dinkes" and "spbe-gateway" in claims.audience
    assert claims.username == "service-account-simpeg-dinkes" and claims.issuer.endswith("/realms/spbe")
    assert idp.validate_token(token.token, authorized_party="simpeg-dinkes").subject == claims.subject
    with pytest.raises(PermissionDeniedError, match="API role 'pendidikan'"):
        idp.validate_token(token.token, required_role="pendidikan")
    with pytest.raises(PermissionDeniedError, match=r"not issued to 'other-app' \(azp\)"):
        idp.validate_token(token.token, authorized_party="other-app")


def test_disabled_client_gets_no_token_and_its_old_token_is_inactive(idp: KeycloakIdentityProvider) -> None:
    idp.ensure_consumer_client(SPEC)
    secret = idp.client_secret("simpeg-dinkes")
    old = idp.client_credentials_token("simpeg-dinkes", secret)
    assert idp.disable_client("simpeg-dinkes").was_enabled
    assert not idp.get_client("simpeg-dinkes").enabled
    with pytest.raises(PermissionDeniedError, match="Invalid client credentials"):
        idp.client_credentials_token("simpeg-dinkes", secret)
    # The signature alone cannot know the client was disabled; asking Keycloak does.
    idp.validate_token(old.token)
    with pytest.raises(PermissionDeniedError, match="no longer active"):
        idp.validate_token(old.token, check_active=True)
    assert not idp.disable_client("simpeg-dinkes").was_enabled  # idempotent, and says it was already off
    assert idp.enable_client("simpeg-dinkes").enabled
    idp.validate_token(idp.client_credentials_token("simpeg-dinkes", secret).token, check_active=True)


def test_rotated_secret_invalidates_the_old_one(idp: KeycloakIdentityProvider) -> None:
    idp.ensure_consumer_client(SPEC)
    old = idp.client_secret("simpeg-dinkes")
    new = idp.rotate_client_secret("simpeg-dinkes")
    assert new.get_secret_value() != old.get_secret_value()
    assert idp.client_secret("simpeg-dinkes").get_secret_value() == new.get_secret_value()
    with pytest.raises(PermissionDeniedError, match="Invalid client or Invalid client credentials") as info:
        idp.client_credentials_token("simpeg-dinkes", old)
    assert old.get_secret_value() not in str(info.value)
    idp.validate_token(idp.client_credentials_token("simpeg-dinkes", new).token, required_role="kependudukan")
    assert idp.masker(f"x {old.get_secret_value()} {new.get_secret_value()}") == "x ******** ********"


def test_delete_is_the_undo_and_is_idempotent(idp: KeycloakIdentityProvider, keycloak: KeycloakFake) -> None:
    idp.ensure_consumer_client(SPEC)
    assert idp.delete_client("simpeg-dinkes") is True
    assert idp.delete_client("simpeg-dinkes") is False
    assert idp.find_client("simpeg-dinkes") is None
    assert keycloak.realm("spbe").user_by_username("service-account-simpeg-dinkes") is None
    with pytest.raises(NotFoundError):
        idp.client_secret("simpeg-dinkes")


def test_existing_clients_are_not_taken_over(idp: KeycloakIdentityProvider, keycloak: KeycloakFake) -> None:
    from tests.support.keycloak_fake.realm import Client

    keycloak.realm("spbe").add_client(Client(client_id="made-by-hand", service_accounts_enabled=True))
    with pytest.raises(ConflictError, match="not created by spbe"):
        idp.ensure_consumer_client(SPEC.model_copy(update={"client_id": "made-by-hand"}))
    idp.ensure_consumer_client(SPEC)
    with pytest.raises(ConflictError, match="for API 'kependudukan'"):
        idp.ensure_consumer_client(SPEC.model_copy(update={"api_role": "pendidikan"}))
    with pytest.raises(ConflictError, match="for ticket 'T-0001'"):
        idp.ensure_consumer_client(SPEC.model_copy(update={"ticket_id": "T-0002"}))


def test_a_concurrent_create_is_adopted_not_duplicated(idp: KeycloakIdentityProvider, keycloak: KeycloakFake) -> None:
    """Another worker created the client between our look-up and our create: Keycloak's 409 is
    taken as 'exists' and the run completes on the existing client."""
    idp.ensure_consumer_client(SPEC)
    keycloak.fail(200, path=r"/clients$", method="GET", body=[])  # our look-up sees a stale empty list
    again = idp.ensure_consumer_client(SPEC)
    assert not again.created and again.client.api_roles == frozenset({"kependudukan"})
    assert sum(c.client_id == "simpeg-dinkes" for c in keycloak.realm("spbe").clients.values()) == 1


@pytest.mark.parametrize("bad", ["Simpeg", "a;b", "x", "app$(id)", "../etc", "a\nb", "a" * 65, "{{7*7}}"])
def test_bad_client_ids_never_reach_keycloak(idp: KeycloakIdentityProvider, keycloak: KeycloakFake, bad: str) -> None:
    before = len(keycloak.requests)
    with pytest.raises(InvalidInputError):
        idp.find_client(bad)
    with pytest.raises(ValidationError):
        ConsumerClientSpec(client_id=bad, name="x", api_role="kependudukan")
    assert len(keycloak.requests) == before


def test_users_and_realm_roles(idp: KeycloakIdentityProvider) -> None:
    user = idp.get_user("prov-dukcapil")
    assert user.enabled and user.email == "api@disdukcapil.example.go.id"
    assert user.attributes["opd"] == ("Dinas Kependudukan dan Pencatatan Sipil",)
    roles = idp.user_realm_roles("prov-dukcapil")
    assert {"penyedia-api", "offline_access", "default-roles-spbe"} <= roles and "kepala-dinas" not in roles
    assert "penyedia-api" in {r.name for r in idp.realm_roles()}
    providers = [u.username for u in idp.users_with_realm_role("penyedia-api")]
    assert "prov-dukcapil" in providers and "andi" not in providers and providers == sorted(providers)
    assert all("penyedia-api" in idp.user_realm_roles(name) for name in providers)
    with pytest.raises(NotFoundError):
        idp.get_user("mallory")
    with pytest.raises(NotFoundError):
        idp.users_with_realm_role("no-such-role")
    with pytest.raises(InvalidInputError):
        idp.get_user("andi&exact=false")


def _password_login(keycloak: KeycloakFake, username: str) -> SecretStr:
    from keycloak import KeycloakOpenID

    from tests.support.keycloak_fake.realm import Client

    realm = keycloak.realm("spbe")
    if realm.client_by_client_id("portal") is None:
        realm.add_client(Client(client_id="portal", public_client=True, direct_access_grants_enabled=True))
    oidc = KeycloakOpenID(server_url=keycloak.url + "/", realm_name="spbe", client_id="portal")
    return SecretStr(oidc.token(username, f"{username}-pw")["access_token"])


def test_disable_user_and_logout_ends_every_session(idp: KeycloakIdentityProvider, keycloak: KeycloakFake) -> None:
    tokens = [_password_login(keycloak, "andi") for _ in range(2)]
    idp.validate_token(tokens[0], authorized_party="portal", check_active=True)
    done = idp.disable_user_and_logout("andi")
    assert (done.username, done.was_enabled, done.sessions_closed) == ("andi", True, 2)
    assert not idp.get_user("andi").enabled and keycloak.realm("spbe").sessions_of(done.user_id) == []
    for token in tokens:
        with pytest.raises(PermissionDeniedError, match="no longer active"):
            idp.validate_token(token, authorized_party="portal", check_active=True)
    with pytest.raises(KeycloakPostError, match="Account disabled"):
        _password_login(keycloak, "andi")
    again = idp.disable_user_and_logout("andi")
    assert (again.was_enabled, again.sessions_closed) == (False, 0)
    restored = idp.enable_user("andi")
    assert restored.enabled and restored.email == "andi.pratama@dinkes.example.go.id"  # nothing else changed
    assert restored.attributes["opd"] == ("Dinas Kesehatan",)
    idp.validate_token(_password_login(keycloak, "andi"), authorized_party="portal", check_active=True)
