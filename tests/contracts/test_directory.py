"""The `Directory` contract on every implementation: the roles file and Keycloak realm roles (on the fake),
both loaded from the same people (conftest.ROLES), must answer the same."""

from __future__ import annotations

import pytest
import yaml

from tests.contracts.conftest import ROLES
from toolkit.errors import NotFoundError
from toolkit.ports.directory import Directory

PEOPLE = {p["username"]: p for p in yaml.safe_load(ROLES)["people"]}


def test_it_is_a_directory(directory: Directory) -> None:
    assert isinstance(directory, Directory)


@pytest.mark.parametrize("username", sorted(PEOPLE))
def test_a_person_has_exactly_the_roles_and_details_given(directory: Directory, username: str) -> None:
    expected = PEOPLE[username]
    person = directory.person(username)
    assert person.username == username and person.name == expected["name"]
    assert person.roles == frozenset(expected["roles"])
    assert (person.email, person.opd, person.title, person.nip) == (
        expected.get("email"), expected.get("opd"), expected.get("title"), expected.get("nip"))
    assert all(person.has_role(role) for role in expected["roles"]) and not person.has_role("csirt")


def test_an_unknown_person_is_not_found(directory: Directory) -> None:
    with pytest.raises(NotFoundError):
        directory.person("mallory")


def test_people_with_a_role_are_all_its_holders_and_nobody_else(directory: Directory) -> None:
    for role in ("kepala-dinas", "pemohon", "koordinator-layanan"):
        holders = {p.username for p in directory.people_with_role(role)}
        assert holders == {name for name, p in PEOPLE.items() if role in p["roles"]}, role
    assert directory.people_with_role("csirt") == []  # a known role nobody holds


def test_the_os_account_finds_its_person_and_only_its_person(directory: Directory) -> None:
    assert directory.person_for_unix_user("sari").username == "sari"
    with pytest.raises(NotFoundError):
        directory.person_for_unix_user("andi")  # andi has no unix_user: the name alone proves nothing
