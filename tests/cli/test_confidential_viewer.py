"""Who may see a confidential reporter on ``spbe ticket show``: the viewer is a principal like every other.

``ticket show --as`` was once taken at its word outside the lab, so any shell account could read the
reporter's name and contact as the koordinator; and the roles trusted with them came from the packaged
role book, not from the deployment's catalog. Both are checked here with the real CLI.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.actions.test_incident_workflow import EVIDENCE, GORONTALO
from tests.cli.test_principal import ROLES, _roles_with_unix_user
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.catalog.loader import DEFAULT_DIRECTORY
from toolkit.settings import load_settings

CONTACT = GORONTALO["pelapor_kontak"]


@pytest.fixture
def ticket_id(state_dir: Path) -> str:
    app = App(load_settings(state_dir=state_dir))
    return desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Situs Disdik diretas", GORONTALO, EVIDENCE).id


def _show(state_dir: Path, ticket_id: str, *args: str, roles: Path = ROLES, **env: str):  # type: ignore[no-untyped-def]
    return Spbe(state_dir=state_dir, env={"SPBE_DEPLOYMENT": "production", "SPBE_ROLES_FILE": str(roles), **env})(
        "ticket", "show", ticket_id, "--json", *args)


def test_as_does_not_unmask_the_reporter_in_production(state_dir: Path, ticket_id: str) -> None:
    result = _show(state_dir, ticket_id, "--as", "sari")
    assert result.exit_code == 4
    assert CONTACT not in result.output and "Siti Pelapor" not in result.output


def test_an_unmapped_os_account_sees_what_everyone_may_see(state_dir: Path, ticket_id: str) -> None:
    result = _show(state_dir, ticket_id)
    assert result.exit_code == 0, result.output
    assert CONTACT not in result.output
    assert json.loads(result.output)["ticket"]["requester"] == "[dirahasiakan]"


def test_the_koordinator_mapped_to_the_os_account_sees_the_reporter(state_dir: Path, ticket_id: str,
                                                                    tmp_path: Path) -> None:
    result = _show(state_dir, ticket_id, roles=_roles_with_unix_user(tmp_path, "sari"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ticket"]["fields"]["pelapor_kontak"] == CONTACT


def test_the_deployments_role_book_decides_who_sees_the_reporter(state_dir: Path, ticket_id: str,
                                                                 tmp_path: Path) -> None:
    """A catalog whose roles.yaml takes ``sees-confidential`` from the koordinator: the koordinator no
    longer sees the reporter (the packaged role book would still have shown it)."""
    catalog = tmp_path / "catalog"
    shutil.copytree(DEFAULT_DIRECTORY, catalog)
    shutil.copy(DEFAULT_DIRECTORY.parent / "roles.yaml", catalog / "roles.yaml")
    book = yaml.safe_load((catalog / "roles.yaml").read_text(encoding="utf-8"))
    for role in book["roles"]:
        if role["id"] == "koordinator-layanan":
            role["traits"] = [t for t in role["traits"] if t != "sees-confidential"]
    (catalog / "roles.yaml").write_text(yaml.safe_dump(book), encoding="utf-8")
    result = _show(state_dir, ticket_id, roles=_roles_with_unix_user(tmp_path, "sari"),
                   SPBE_CATALOG_DIR=str(catalog))
    assert result.exit_code == 0, result.output
    assert CONTACT not in result.output
