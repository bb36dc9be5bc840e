"""Keycloak realm roles as the source of truth for approvers, against the Keycloak FAKE
(tests/support/keycloak_fake: a real HTTP server following Keycloak 24's admin REST API; Keycloak
itself cannot run here). The realm is seeded from inventory/roles.yml, as an office would."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.identity.keycloak_directory import KeycloakDirectory
from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.support.keycloak_fake import KeycloakFake
from tests.support.keycloak_fake.fixtures import KEYCLOAK_ADMIN_SECRET
from tests.support.keycloak_fake.seed import seed_realm
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.errors import ConfigurationError, NotFoundError, PermissionDeniedError, UnavailableError
from toolkit.ports.directory import Directory
from toolkit.settings import Settings, load_settings


def _settings(state_dir: Path, fake: KeycloakFake, realm: str = "spbe", **directory_options: object) -> Settings:
    return load_settings(
        state_dir=state_dir, catalog_dir=TEST_CATALOG, extra_actions=TEST_ACTIONS,
        directory={"kind": "keycloak", "options": directory_options},
        identity={"server_url": fake.url, "realm": realm, "timeout_s": 5},
    )


@pytest.fixture
def app(state_dir: Path, keycloak: KeycloakFake, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("SPBE_IDP_ADMIN_SECRET", KEYCLOAK_ADMIN_SECRET)
    return App(_settings(state_dir, keycloak))


def test_configured_directory_reads_people_and_roles_from_keycloak(app: App) -> None:
    directory = app.directory
    assert isinstance(directory, KeycloakDirectory) and isinstance(directory, Directory)
    person = directory.person("prov-dukcapil")
    assert person.roles == frozenset({"penyedia-api"})  # default-roles-spbe, unrelated-app-role ignored
    assert (person.name, person.opd) == ("Admin API Disdukcapil", "Dinas Kependudukan dan Pencatatan Sipil")
    assert person.email == "api@disdukcapil.example.go.id"
    assert directory.person("kadis2").roles == frozenset({"pemohon", "kepala-dinas"})
    assert [p.username for p in directory.people_with_role("kepala-dinas")] == ["kadis", "kadis2"]
    assert directory.people_with_role("pelapor") == [directory.person("lina")]
    with pytest.raises(NotFoundError):
        directory.person("mallory")
    with pytest.raises(NotFoundError):
        directory.person("service-account-spbe-automation")


def test_approvals_follow_keycloak_roles(app: App, keycloak: KeycloakFake) -> None:
    ticket = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji", {"instansi": "Dinas Uji"}, [])
    desk.check(app, ticket.id, as_lab("sari"))
    with pytest.raises(PermissionDeniedError, match="only a 'kepala-dinas'"):
        desk.approve(app, ticket.id, as_lab("prov-dukcapil"), "Setuju.")
    # Revoked in Keycloak: refused on the very next decision, nothing cached.
    keycloak.realm("spbe").user_by_username("kadis").realm_roles.discard("kepala-dinas")  # type: ignore[union-attr]
    with pytest.raises(PermissionDeniedError, match="only a 'kepala-dinas'"):
        desk.approve(app, ticket.id, as_lab("kadis"), "Setuju.")
    # Granted in Keycloak: the new head of office may approve at once.
    keycloak.realm("spbe").user_by_username("hartono").realm_roles.add("kepala-dinas")  # type: ignore[union-attr]
    approved = desk.approve(app, ticket.id, as_lab("hartono"), "Disetujui.")
    assert any(e.actor == "hartono" and e.kind == "approved" for e in app.tickets.timeline(approved.id))


def test_a_contained_account_can_decide_nothing(app: App) -> None:
    ticket = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji", {"instansi": "Dinas Uji"}, [])
    desk.check(app, ticket.id, as_lab("sari"))
    app.identity.disable_user_and_logout("kadis")
    assert app.directory.person("kadis").roles == frozenset()
    with pytest.raises(PermissionDeniedError):
        desk.approve(app, ticket.id, as_lab("kadis"), "Setuju.")
    assert "kadis" not in [p.username for p in app.directory.people_with_role("kepala-dinas")]


def test_keycloak_down_refuses_the_decision_and_changes_nothing(app: App, keycloak: KeycloakFake) -> None:
    ticket = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji", {"instansi": "Dinas Uji"}, [])
    desk.check(app, ticket.id, as_lab("sari"))
    before = app.tickets.timeline(ticket.id)
    keycloak.down()
    try:
        with pytest.raises(UnavailableError, match="unreachable"):
            desk.approve(app, ticket.id, as_lab("kadis"), "Setuju.")
    finally:
        keycloak.up()
    assert app.tickets.timeline(ticket.id) == before
    desk.approve(app, ticket.id, as_lab("kadis"), "Setuju.")  # once Keycloak is back, the same decision goes through


def test_prefix_and_role_map(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_IDP_ADMIN_SECRET", KEYCLOAK_ADMIN_SECRET)
    with KeycloakFake() as fake:
        seed_realm(fake, KEYCLOAK_ADMIN_SECRET, realm="kantor", role_prefix="spbe-")
        realm = fake.realm("kantor")
        realm.add_role("kadis")
        realm.user_by_username("hartono").realm_roles.add("kadis")  # type: ignore[union-attr]
        realm.add_role("penyedia-api")  # unprefixed: another application's role of the same name
        realm.user_by_username("andi").realm_roles.add("penyedia-api")  # type: ignore[union-attr]
        directory = App(_settings(state_dir, fake, "kantor", role_prefix="spbe-",
                                  role_map={"kadis": "kepala-dinas"})).directory
        assert directory.person("hartono").roles == frozenset({"opd-pemilik-aset", "kepala-dinas"})
        assert directory.person("andi").roles == frozenset({"pemohon"})
        assert [p.username for p in directory.people_with_role("kepala-dinas")] == ["hartono", "kadis", "kadis2"]
        with pytest.raises(ConfigurationError, match="unknown SOP roles: kepala-dinass"):
            App(_settings(state_dir, fake, "kantor", role_map={"kadis": "kepala-dinass"})).directory  # noqa: B018
