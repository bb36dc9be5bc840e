"""The ``rest`` desk's rights: ``endpoints.rights`` names where the desk lists what spbe's account may do and which
of those spbe needs; `capabilities().missing_rights`, and so `spbe desk check`, names the needed ones it lacks.
Against the reference desk (lab/reference_desk.py), whose ``/api/v1/saya/hak`` lists an account's rights and
which enforces ``catatan.tulis`` and ``lampiran.tulis``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from integrations.desks.rest import RestOptions
from integrations.identity.roles_file import RolesFileDirectory
from lab.reference_desk import ReferenceDesk
from tests.integrations.desks.rest_rig import FIELDS, MAPPING, RestRig, mapping_options, settings_for
from toolkit.desks.check import check_desk
from toolkit.desks.mapping import load_mappings
from toolkit.domain.catalog.loader import load_catalog
from toolkit.errors import ConfigurationError
from toolkit.settings import load_settings


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[RestRig]:
    desk = ReferenceDesk().start()
    rig = RestRig(desk, settings_for(desk, tmp_path), tmp_path)
    yield rig
    rig.close()
    desk.stop()


def _check(rig: RestRig, tmp_path: Path) -> list[str]:
    (tmp_path / "desks").mkdir(exist_ok=True)
    shutil.copy(MAPPING, tmp_path / "desks" / "rest.yml")
    directory = RolesFileDirectory(settings=load_settings(state_dir=tmp_path / "state"))
    mapping = load_mappings(tmp_path / "desks", load_catalog(), directory)["rest"]
    return check_desk(mapping, rig.client).problems


def test_the_lab_bot_has_every_right_it_needs(rig: RestRig, tmp_path: Path) -> None:
    assert rig.client.capabilities().missing_rights == ()
    assert _check(rig, tmp_path) == []


def test_a_bot_without_a_right_is_named_by_desk_check_and_its_write_refused(rig: RestRig, tmp_path: Path) -> None:
    rig.desk.rights["spbe"] -= {"catatan.tulis", "status.ubah"}
    assert rig.client.capabilities().missing_rights == ("catatan.tulis", "status.ubah")
    assert [p for p in _check(rig, tmp_path) if p.startswith("rights:")] == [
        "rights: the bot lacks catatan.tulis", "rights: the bot lacks status.ubah"]
    key = rig.actor("andi").open("Permohonan", {FIELDS[0]: "pusat-data"})
    with pytest.raises(ConfigurationError, match="403"):
        rig.client.add_note(key, "Catatan.", "outbox:hak-1")


def test_rights_as_a_list_of_objects_and_an_answer_that_does_not_match(rig: RestRig) -> None:
    # any listing of objects will do to read ``name`` from: here the accounts, "needing" two logins
    objects = {"path": "/api/v1/pengguna", "items": "data", "name": "login", "needed": ["spbe", "hantu"]}
    client = rig.make(endpoints={**mapping_options()["endpoints"], "rights": objects})
    assert client.capabilities().missing_rights == ("hantu",)
    wrong = {"path": "/api/v1/saya", "items": "data.tidak_ada", "needed": ["x"]}
    with pytest.raises(ConfigurationError, match=r"data\.tidak_ada"):
        rig.make(endpoints={**mapping_options()["endpoints"], "rights": wrong}).capabilities()


def test_a_desk_without_a_rights_endpoint_reports_none(rig: RestRig) -> None:
    endpoints: dict[str, Any] = {k: v for k, v in mapping_options()["endpoints"].items() if k != "rights"}
    assert rig.make(endpoints=endpoints).capabilities().missing_rights == ()


@pytest.mark.parametrize("rights", [{"path": "/x", "needed": []}, {"path": "x", "needed": ["a"]},
                                    {"path": "/x", "items": "a..b", "needed": ["a"]}])
def test_a_bad_rights_spec_is_refused_naming_the_option(rights: dict[str, Any]) -> None:
    raw = {**mapping_options(), "base_url": "http://127.0.0.1:1", "token_secret": "desk-rest"}
    raw["endpoints"] = {**raw["endpoints"], "rights": rights}
    with pytest.raises(ValidationError, match="rights"):
        RestOptions.model_validate(raw)
