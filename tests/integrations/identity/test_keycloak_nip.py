"""The NIP printed under a signature, from a Keycloak user attribute (on the Keycloak FAKE, which holds
attributes as Keycloak's UserRepresentation does: name -> list of strings).

A malformed NIP in Keycloak must cost a blank NIP line, never the directory every approval asks: it is
left out with a warning that does not repeat the value."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.identity.keycloak_directory import KeycloakDirectory
from tests.conftest import TEST_ACTIONS, TEST_CATALOG
from tests.support.keycloak_fake import KeycloakFake
from tests.support.keycloak_fake.fixtures import KEYCLOAK_ADMIN_SECRET
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.document_context import build_context
from toolkit.errors import ConfigurationError
from toolkit.settings import Settings, load_settings

NIP = "198503122010012003"


def _settings(state_dir: Path, fake: KeycloakFake, **directory_options: object) -> Settings:
    return load_settings(
        state_dir=state_dir, catalog_dir=TEST_CATALOG, extra_actions=TEST_ACTIONS,
        directory={"kind": "keycloak", "options": directory_options},
        identity={"server_url": fake.url, "realm": "spbe", "timeout_s": 5},
    )


@pytest.fixture(autouse=True)
def _admin_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPBE_IDP_ADMIN_SECRET", KEYCLOAK_ADMIN_SECRET)


def _set_attribute(fake: KeycloakFake, username: str, name: str, values: list[str]) -> None:
    user = fake.realm("spbe").user_by_username(username)
    assert user is not None
    user.attributes[name] = values


def test_the_nip_attribute_is_the_persons_nip(state_dir: Path, keycloak: KeycloakFake) -> None:
    _set_attribute(keycloak, "kadis", "nip", [NIP])
    directory = App(_settings(state_dir, keycloak)).directory
    assert isinstance(directory, KeycloakDirectory)
    assert directory.person("kadis").nip == NIP
    assert directory.person("kadis2").nip is None  # no attribute: no NIP, no warning needed
    assert [p.nip for p in directory.people_with_role("kepala-dinas") if p.username == "kadis"] == [NIP]


def test_the_attribute_name_is_configurable(state_dir: Path, keycloak: KeycloakFake) -> None:
    _set_attribute(keycloak, "kadis", "nip", ["111111111111111111"])
    _set_attribute(keycloak, "kadis", "nipPegawai", [NIP])
    directory = App(_settings(state_dir, keycloak, nip_attribute="nipPegawai")).directory
    assert directory.person("kadis").nip == NIP


@pytest.mark.parametrize("values", [
    ["12345"],                                   # too short
    [NIP + "0"],                                 # too long
    ["19850312 201001 2 003"],                   # written with spaces
    ["١٩٨٥٠٣١٢٢٠١٠٠١٢٠٠٣"],                      # digits, but not ASCII ones
    [NIP + "\nFAKE LOG LINE"],                   # a newline to forge a log line
    ["{{ 7*7 }}" + NIP],                          # a template expression
    ["$(id);" + NIP],                             # shell
    ["9" * 5000],                                 # oversized
    [NIP, "197001011995031001"],                  # two different NIPs: which one signs?
])
def test_a_malformed_nip_is_ignored_with_a_log_safe_warning(state_dir: Path, keycloak: KeycloakFake,
                                                            caplog: pytest.LogCaptureFixture,
                                                            values: list[str]) -> None:
    _set_attribute(keycloak, "kadis", "nip", values)
    directory = App(_settings(state_dir, keycloak)).directory
    with caplog.at_level(logging.WARNING, logger="spbe.identity.directory"):
        person = directory.person("kadis")
    assert person.nip is None
    assert person.roles == frozenset({"kepala-dinas"})  # the directory still answers, roles and all
    warnings = [r for r in caplog.records if r.name == "spbe.identity.directory"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    text = caplog.text
    assert "'kadis'" in text and "'nip'" in text
    assert all(value not in text for value in values) and NIP not in text and "FAKE LOG LINE" not in text
    assert "\n" not in warnings[0].getMessage()
    assert "@" not in text  # no e-mail: the user record is not logged


def test_the_same_nip_twice_is_one_nip(state_dir: Path, keycloak: KeycloakFake) -> None:
    _set_attribute(keycloak, "kadis", "nip", [NIP, NIP])
    assert App(_settings(state_dir, keycloak)).directory.person("kadis").nip == NIP


@pytest.mark.parametrize("name", [
    "", "nip\nx", "nip;rm -rf /", "$(id)", "../nip", "{{nip}}", "nip:1", "nip name", "n" * 65, "1nip", "nîp",
])
def test_the_attribute_name_option_is_validated(state_dir: Path, keycloak: KeycloakFake, name: str) -> None:
    with pytest.raises(ConfigurationError, match="nip_attribute"):
        App(_settings(state_dir, keycloak, nip_attribute=name)).directory  # noqa: B018
    with pytest.raises(ConfigurationError, match="nip_attribute"):
        KeycloakDirectory(settings=_settings(state_dir, keycloak), nip_attribute=name)


def test_a_document_context_prints_the_nip_from_keycloak(state_dir: Path, keycloak: KeycloakFake) -> None:
    _set_attribute(keycloak, "kadis", "nip", [NIP])
    app = App(_settings(state_dir, keycloak))
    ticket = desk.open_ticket(app, "uji-mesin", as_lab("andi"), "Uji", {"instansi": "Dinas Uji"}, [])
    record = app.tickets.get(ticket.id)
    context = build_context(ticket=record, service=app.catalog.get(record.service_id), prior={},
                            timeline=app.tickets.timeline(ticket.id), directory=app.directory,
                            now=datetime(2026, 12, 7, 10, tzinfo=UTC), roles=app.catalog.roles)
    kadis = context["pihak"]["kepala-dinas"]
    assert (kadis["username"], kadis["nip"]) == ("kadis", NIP)
    assert context["pemohon"]["username"] == "andi"
