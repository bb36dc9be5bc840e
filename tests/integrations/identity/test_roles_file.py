"""The roles-file directory: strict loading, and the shipped people the rest of the project uses."""

from __future__ import annotations

from pathlib import Path

import pytest

import spbe_data
from integrations.identity.roles_file import KNOWN_ROLES, RolesFileDirectory
from toolkit.errors import ConfigurationError
from toolkit.settings import Settings

GOOD = """
people:
  - {username: andi, name: Andi Pratama, roles: [pemohon], opd: Dinas Kesehatan}
  - {username: sari, name: Sari Wulandari, roles: [koordinator-layanan], email: sari@example.go.id}
"""


def _directory(tmp_path: Path, text: str) -> RolesFileDirectory:
    path = tmp_path / "roles.yml"
    path.write_text(text, encoding="utf-8")
    return RolesFileDirectory(settings=Settings(state_dir=tmp_path), path=str(path))


# Loading people and roles, an unknown person, people_with_role: the Directory contract suite
# (tests/contracts/test_directory.py) checks them on this directory and on Keycloak's alike.


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{username: andi, name: Andi, roles: [pemohon], jabatan: Staf}", r"people\[1\] \(andi\).*jabatan"),
        ("{username: andi, name: Andi, roles: [kepala-dinass]}",
         r"people\[1\] \(andi\).*roles\.0.*kepala-dinass"),
        ("{username: andi, name: Andi, roles: []}", r"people\[1\] \(andi\).*roles"),
        ("{username: Andi Pratama, name: Andi, roles: [pemohon]}", r"people\[1\].*username"),
        ("{username: andi, roles: [pemohon]}", r"people\[1\] \(andi\).*name"),
        ("{username: andi, name: Andi, roles: [pemohon], email: not-an-email}", r"people\[1\].*email"),
        ("just a string", r"people\[1\]"),
        ("{username: sari, name: Sari Lain, roles: [csirt]}", r"people\[1\] \(sari\).*listed twice"),
    ],
)
def test_bad_entries_are_named(tmp_path: Path, entry: str, expected: str) -> None:
    text = f"people:\n  - {{username: sari, name: Sari, roles: [koordinator-layanan]}}\n  - {entry}\n"
    with pytest.raises(ConfigurationError, match=expected) as info:
        _directory(tmp_path, text)
    assert str(tmp_path / "roles.yml") in str(info.value)
    assert info.value.details["index"] == 1


@pytest.mark.parametrize("text", ["", "people: {}\n", "people: []\nextra: 1\n", "- a\n", "people: [\n"])
def test_bad_documents_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigurationError, match="roles file"):
        _directory(tmp_path, text)


def test_a_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read"):
        RolesFileDirectory(settings=Settings(state_dir=tmp_path), path=str(tmp_path / "absent.yml"))


REQUIRED = {
    "andi": {"pemohon"}, "budi": {"pemohon"}, "sari": {"koordinator-layanan"}, "kadis": {"kepala-dinas"},
    "rudi": {"tim-pusat-data"}, "dewi": {"tim-pengembangan-aplikasi"}, "yusuf": {"tim-jaringan-intra"},
    "rina": {"csirt"}, "eko": {"tim-keamanan-spbe"}, "maya": {"humas"}, "prov-dukcapil": {"penyedia-api"},
    "kabid": {"kepala-bidang-ti"}, "kadis2": {"pemohon", "kepala-dinas"},
}


def test_the_shipped_roles_file_loads_with_the_people_others_rely_on(tmp_path: Path) -> None:
    directory = RolesFileDirectory(settings=Settings(state_dir=tmp_path))
    assert directory.path == spbe_data.data_path("inventory", "roles.yml")
    for username, roles in REQUIRED.items():
        assert directory.person(username).roles == roles, username
    assert directory.person("andi").opd == "Dinas Kesehatan"
    assert directory.person("budi").opd == "Badan Keuangan Daerah"
    assert directory.person("prov-dukcapil").opd == "Dinas Kependudukan dan Pencatatan Sipil"
    for role in KNOWN_ROLES:
        assert directory.people_with_role(role), f"nobody holds {role}"
