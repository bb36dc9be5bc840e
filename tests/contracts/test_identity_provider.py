"""The `IdentityProvider` contract on every implementation (conftest.idp): the Keycloak adapter, against the
Keycloak fake here (Keycloak cannot run on this machine; a real one would take the same suite). Clients are
created once and deleted idempotently, a disabled or rotated client's credentials stop working, a contained
user's sessions all end, and tokens are validated by our own code."""

from __future__ import annotations

import pytest

from tests.contracts.conftest import IdpHarness
from toolkit.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from toolkit.ports.identity_provider import ConsumerClientSpec, IdentityProvider

SPEC = ConsumerClientSpec(client_id="simpeg-dinkes", name="SIMPEG Dinas Kesehatan", api_role="kependudukan",
                          ticket_id="T-0001")


def test_it_is_an_identity_provider(idp: IdpHarness) -> None:
    assert isinstance(idp.provider, IdentityProvider)


def test_ensure_twice_creates_one_client(idp: IdpHarness) -> None:
    first = idp.provider.ensure_consumer_client(SPEC)
    second = idp.provider.ensure_consumer_client(SPEC)
    assert first.created and not second.created and second.client.id == first.client.id
    assert idp.clients_named("simpeg-dinkes") == 1


def test_token_of_a_new_client_is_validated_by_our_code(idp: IdpHarness) -> None:
    idp.provider.ensure_consumer_client(SPEC)
    secret = idp.provider.client_secret("simpeg-dinkes")
    token = idp.provider.client_credentials_token("simpeg-dinkes", secret)
    claims = idp.provider.validate_token(token.token, required_role="kependudukan", check_active=True)
    assert claims.authorized_party == "simpeg-dinkes" and "spbe-gateway" in claims.audience
    assert claims.username == "service-account-simpeg-dinkes" and claims.issuer.endswith("/realms/spbe")
    assert idp.provider.validate_token(token.token, authorized_party="simpeg-dinkes").subject == claims.subject
    with pytest.raises(PermissionDeniedError, match="API role 'pendidikan'"):
        idp.provider.validate_token(token.token, required_role="pendidikan")
    with pytest.raises(PermissionDeniedError, match=r"not issued to 'other-app' \(azp\)"):
        idp.provider.validate_token(token.token, authorized_party="other-app")


def test_disabled_client_gets_no_token_and_its_old_token_is_inactive(idp: IdpHarness) -> None:
    idp.provider.ensure_consumer_client(SPEC)
    secret = idp.provider.client_secret("simpeg-dinkes")
    old = idp.provider.client_credentials_token("simpeg-dinkes", secret)
    assert idp.provider.disable_client("simpeg-dinkes").was_enabled
    assert not idp.provider.get_client("simpeg-dinkes").enabled
    with pytest.raises(PermissionDeniedError, match="Invalid client credentials"):
        idp.provider.client_credentials_token("simpeg-dinkes", secret)
    # The signature alone cannot know the client was disabled; asking Keycloak does.
    idp.provider.validate_token(old.token)
    with pytest.raises(PermissionDeniedError, match="no longer active"):
        idp.provider.validate_token(old.token, check_active=True)
    assert not idp.provider.disable_client("simpeg-dinkes").was_enabled  # idempotent, and says it was already off
    assert idp.provider.enable_client("simpeg-dinkes").enabled
    idp.provider.validate_token(idp.provider.client_credentials_token("simpeg-dinkes", secret).token, check_active=True)


def test_rotated_secret_invalidates_the_old_one(idp: IdpHarness) -> None:
    idp.provider.ensure_consumer_client(SPEC)
    old = idp.provider.client_secret("simpeg-dinkes")
    new = idp.provider.rotate_client_secret("simpeg-dinkes")
    assert new.get_secret_value() != old.get_secret_value()
    assert idp.provider.client_secret("simpeg-dinkes").get_secret_value() == new.get_secret_value()
    with pytest.raises(PermissionDeniedError, match="Invalid client or Invalid client credentials") as info:
        idp.provider.client_credentials_token("simpeg-dinkes", old)
    assert old.get_secret_value() not in str(info.value)
    fresh = idp.provider.client_credentials_token("simpeg-dinkes", new)
    idp.provider.validate_token(fresh.token, required_role="kependudukan")
    assert idp.provider.masker(f"x {old.get_secret_value()} {new.get_secret_value()}") == "x ******** ********"


def test_delete_is_the_undo_and_is_idempotent(idp: IdpHarness) -> None:
    idp.provider.ensure_consumer_client(SPEC)
    assert idp.provider.delete_client("simpeg-dinkes") is True
    assert idp.provider.delete_client("simpeg-dinkes") is False
    assert idp.provider.find_client("simpeg-dinkes") is None
    assert idp.clients_named("simpeg-dinkes") == 0
    with pytest.raises(NotFoundError):
        idp.provider.client_secret("simpeg-dinkes")


def test_users_and_realm_roles(idp: IdpHarness) -> None:
    user = idp.provider.get_user("prov-dukcapil")
    assert user.enabled and user.email == "api@disdukcapil.example.go.id"
    assert user.attributes["opd"] == ("Dinas Kependudukan dan Pencatatan Sipil",)
    roles = idp.provider.user_realm_roles("prov-dukcapil")
    assert {"penyedia-api", "offline_access", "default-roles-spbe"} <= roles and "kepala-dinas" not in roles
    assert "penyedia-api" in {r.name for r in idp.provider.realm_roles()}
    providers = [u.username for u in idp.provider.users_with_realm_role("penyedia-api")]
    assert "prov-dukcapil" in providers and "andi" not in providers and providers == sorted(providers)
    assert all("penyedia-api" in idp.provider.user_realm_roles(name) for name in providers)
    with pytest.raises(NotFoundError):
        idp.provider.get_user("mallory")
    with pytest.raises(NotFoundError):
        idp.provider.users_with_realm_role("no-such-role")
    with pytest.raises(InvalidInputError):
        idp.provider.get_user("andi&exact=false")


def test_disable_user_and_logout_ends_every_session(idp: IdpHarness) -> None:
    tokens = [idp.login("andi") for _ in range(2)]
    idp.provider.validate_token(tokens[0], authorized_party="portal", check_active=True)
    done = idp.provider.disable_user_and_logout("andi")
    assert (done.username, done.was_enabled, done.sessions_closed) == ("andi", True, 2)
    assert not idp.provider.get_user("andi").enabled
    for token in tokens:
        with pytest.raises(PermissionDeniedError, match="no longer active"):
            idp.provider.validate_token(token, authorized_party="portal", check_active=True)
    with pytest.raises(PermissionDeniedError):  # a disabled account cannot log in
        idp.login("andi")
    again = idp.provider.disable_user_and_logout("andi")
    assert (again.was_enabled, again.sessions_closed) == (False, 0)
    restored = idp.provider.enable_user("andi")
    assert restored.enabled and restored.email == "andi.pratama@dinkes.example.go.id"  # nothing else changed
    assert restored.attributes["opd"] == ("Dinas Kesehatan",)
    idp.provider.validate_token(idp.login("andi"), authorized_party="portal", check_active=True)


def test_listing_shows_only_the_consumer_clients_spbe_made_with_their_enabled_flag(idp: IdpHarness) -> None:
    assert idp.provider.list_consumer_clients() == []  # the realm's own clients are not consumers
    idp.login("andi")  # a hand-made client (the portal's) appears in the realm, not in the listing
    idp.provider.ensure_consumer_client(SPEC)
    idp.provider.ensure_consumer_client(ConsumerClientSpec(client_id="sipd-bappeda", name="SIPD", api_role="perizinan",
                                                           ticket_id="T-0002"))
    idp.provider.disable_client("sipd-bappeda")
    listed = idp.provider.list_consumer_clients()
    assert [(c.client_id, c.enabled, c.api_roles) for c in listed] == [
        ("simpeg-dinkes", True, frozenset({"kependudukan"})), ("sipd-bappeda", False, frozenset({"perizinan"}))]
    assert idp.clients_named("portal") == 1
