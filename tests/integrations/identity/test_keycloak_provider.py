"""The Keycloak adapter against the Keycloak FAKE (tests/support/keycloak_fake: a real HTTP server on
127.0.0.1 following Keycloak 24's admin REST API and OIDC endpoints; Keycloak itself cannot run
here). Tokens are real RS256 JWTs signed by the fake and validated by our code. What every
`IdentityProvider` must do is the contract suite's (tests/contracts/test_identity_provider.py); here is
what only Keycloak's side shows: the requests made, the clients, users and sessions left in the realm."""

from __future__ import annotations

import pytest
from keycloak.exceptions import KeycloakPostError
from pydantic import ValidationError

from integrations.identity.keycloak import KeycloakIdentityProvider
from tests.support.keycloak_fake import KeycloakFake
from toolkit.bootstrap import App
from toolkit.errors import ConflictError, InvalidInputError
from toolkit.masking import Masker
from toolkit.ports.identity_provider import ConsumerClientSpec, IdentityProvider
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


def test_keycloak_is_left_with_no_duplicate_and_no_leftover(idp: KeycloakIdentityProvider,
                                                             keycloak: KeycloakFake) -> None:
    """The realm's side of the contract suite's create-once, delete and logout tests."""
    idp.ensure_consumer_client(SPEC)
    idp.ensure_consumer_client(SPEC)
    assert _posts(keycloak, "/admin/realms/spbe/clients") == 2  # the consumer, and the API resource client once
    assert idp.delete_client("simpeg-dinkes") is True
    assert keycloak.realm("spbe").user_by_username("service-account-simpeg-dinkes") is None
    from keycloak import KeycloakOpenID

    from tests.support.keycloak_fake.realm import Client

    keycloak.realm("spbe").add_client(Client(client_id="portal", public_client=True, direct_access_grants_enabled=True))
    KeycloakOpenID(server_url=keycloak.url + "/", realm_name="spbe", client_id="portal").token("andi", "andi-pw")
    done = idp.disable_user_and_logout("andi")
    assert done.sessions_closed == 1 and keycloak.realm("spbe").sessions_of(done.user_id) == []
    with pytest.raises(KeycloakPostError, match="Account disabled"):
        KeycloakOpenID(server_url=keycloak.url + "/", realm_name="spbe", client_id="portal").token("andi", "andi-pw")
