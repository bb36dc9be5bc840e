"""Who the CLI acts as: the OS account's person in production, ``--as`` only in a lab or demo, and
the audit log says which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import TEST_CATALOG
from tests.support.cli import Spbe
from toolkit.audit import AuditLog
from toolkit.cli.principal import os_account

ROLES = Path(__file__).resolve().parents[2] / "inventory" / "roles.yml"


def _roles_with_unix_user(tmp_path: Path, username: str) -> Path:
    """The shipped roles file with ``username`` acting for the OS account running the tests."""
    data = yaml.safe_load(ROLES.read_text())
    for person in data["people"]:
        person.pop("unix_user", None)
        if person["username"] == username:
            person["unix_user"] = os_account()
    path = tmp_path / "roles.yml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def spbe(state_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    def invoke(*args: str, deployment: str = "production", roles: Path = ROLES):  # type: ignore[no-untyped-def]
        env = {"SPBE_DEPLOYMENT": deployment, "SPBE_CATALOG_DIR": str(TEST_CATALOG), "SPBE_ROLES_FILE": str(roles)}
        return Spbe(state_dir=state_dir, env=env)(*args)

    return invoke


def _open(spbe) -> str:  # type: ignore[no-untyped-def]
    result = spbe("ticket", "open", "uji-mesin", "--as", "andi", "--title", "Uji", "-f", "instansi=Dinas Uji",
                  "--json", deployment="lab")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.output)["id"])


def test_as_is_refused_in_production_and_changes_nothing(spbe, state_dir):
    ticket_id = _open(spbe)
    result = spbe("ticket", "check", ticket_id, "--as", "sari")
    assert result.exit_code == 4
    assert "--as is honoured only in a lab or demo deployment" in result.output
    shown = json.loads(spbe("ticket", "show", ticket_id, "--json").output)
    assert [e["kind"] for e in shown["timeline"]] == ["opened"]


def test_the_os_account_acts_as_its_mapped_person_and_the_audit_says_how(spbe, state_dir, tmp_path):
    ticket_id = _open(spbe)
    roles = _roles_with_unix_user(tmp_path, "sari")
    result = spbe("ticket", "check", ticket_id, roles=roles)
    assert result.exit_code == 0, result.output
    entries = AuditLog(state_dir / "audit.db").entries(ticket_id=ticket_id)
    by_action = {e.action: e for e in entries}
    assert by_action["ticket.open"].actor == "andi" and by_action["ticket.open"].data["auth"] == "lab-as"
    assert by_action["ticket.check"].actor == "sari" and by_action["ticket.check"].data["auth"] == "os-user"


def test_the_os_account_holds_only_its_persons_roles(spbe, tmp_path):
    ticket_id = _open(spbe)
    roles = _roles_with_unix_user(tmp_path, "andi")  # the requester's account cannot check, nor approve
    result = spbe("ticket", "check", ticket_id, roles=roles)
    assert result.exit_code == 4 and "koordinator-layanan" in result.output


def test_an_unmapped_os_account_acts_as_nobody(spbe):
    ticket_id = _open(spbe)
    result = spbe("ticket", "check", ticket_id)
    assert result.exit_code == 4
    assert f"the OS account '{os_account()}' acts as nobody" in result.output


def test_as_names_a_known_person_even_in_a_lab(spbe):
    ticket_id = _open(spbe)
    result = spbe("ticket", "check", ticket_id, "--as", "mallory", deployment="lab")
    assert result.exit_code == 3 and "mallory" in result.output


def test_two_people_cannot_share_one_unix_user(spbe, tmp_path):
    data = yaml.safe_load(ROLES.read_text())
    for person in data["people"][:2]:
        person["unix_user"] = "shared"
    path = tmp_path / "roles.yml"
    path.write_text(yaml.safe_dump(data))
    result = spbe("ticket", "list", roles=path)
    ticket = spbe("ticket", "check", "SPBE-2026-00001", roles=path)
    assert result.exit_code == 0  # listing needs no principal, so no directory is read
    assert ticket.exit_code == 8 and "unix_user 'shared'" in ticket.output
