"""`spbe desk ...` against the real Redmine: check compares the live desk with the mapping, sync and replay take
what is new once, show and status say what was done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lab.redmine_spec import RedmineHandle
from tests.support.cli import Spbe
from tests.support.redmine_desk import HOOK_ENV, HOOK_SECRET, KEY_ENV, LAB_MAPPING, Person

pytestmark = [pytest.mark.redmine]
FIELDS = {"Layanan": "pusat-data", "Instansi": "Dinas Kesehatan", "Perihal": "Permohonan hosting",
          "Produk": "hosting-aplikasi", "Nama aplikasi": "simpus", "Nama host": "cli-app", "Jumlah vCPU": "2",
          "Memori (GB)": "4", "Penyimpanan (GB)": "40", "Email kontak": "it@dinkes.example.go.id"}
LETTER = {"surat-permohonan.pdf": b"%PDF-1.4\n% Surat\n%%EOF\n",
          "persetujuan-aplikasi.pdf": b"%PDF-1.4\n% Persetujuan aplikasi\n%%EOF\n"}


def _cli(redmine: RedmineHandle, tmp_path: Path, **changes: object) -> Spbe:
    folder = tmp_path / "desks"
    folder.mkdir(exist_ok=True)
    mapping = yaml.safe_load(LAB_MAPPING.read_text(encoding="utf-8"))
    mapping["options"] = {"base_url": redmine.base_url, "api_key_secret": "desk-redmine"}
    mapping.update(changes)
    (folder / "redmine.yml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    secrets = {"desk-redmine": {"ref": f"env:{KEY_ENV}"}, "desk-redmine-webhook": {"ref": f"env:{HOOK_ENV}"}}
    return Spbe(state_dir=tmp_path / "state", env={
        "SPBE_DESKS_DIR": str(folder), "SPBE_SECRETS": json.dumps(secrets), KEY_ENV: redmine.api_key("spbe"),
        HOOK_ENV: HOOK_SECRET})


def test_check_says_the_lab_desk_matches_its_mapping(redmine: RedmineHandle, tmp_path: Path) -> None:
    spbe = _cli(redmine, tmp_path)
    listed = spbe.json("desk", "list")
    assert [d["name"] for d in listed] == ["redmine"] and listed[0]["webhook"] is True
    checked = spbe.json("desk", "check", "redmine")
    assert checked == {"desk": "redmine", "account": "spbe", "ok": True, "problems": []}


def test_check_lists_every_missing_status_field_and_account(redmine: RedmineHandle, tmp_path: Path) -> None:
    spbe = _cli(redmine, tmp_path, statuses={"open": "Baru", "closed": "Closed"},
                accounts={"andi": "andi", "hantu": "sari"},
                decisions=[{"decision": "approve", "status_to": "Disahkan"},
                           {"decision": "return", "status_to": "Dikembalikan", "missing_field": "Kurang"}])
    result = spbe("desk", "check", "redmine", "--json")
    assert result.exit_code == 8, result.output
    problems = json.loads(result.stdout)["problems"]
    assert any(p.startswith("statuses.open: 'Baru'") for p in problems)
    assert any(p.startswith("decisions.0.status_to: 'Disahkan'") for p in problems)
    assert any(p.startswith("accounts.hantu") for p in problems)
    assert any(p.startswith("decisions.1.missing_field: 'Kurang' is not a field") for p in problems)
    assert KEY_ENV not in result.output and redmine.api_key("spbe") not in result.output


def test_sync_takes_an_issue_once_and_show_and_status_say_so(redmine: RedmineHandle, tmp_path: Path) -> None:
    spbe = _cli(redmine, tmp_path)
    key = Person(redmine, "andi").open("Permohonan lewat CLI", FIELDS, LETTER)
    synced = spbe.json("desk", "sync", "redmine")
    mine = [i for i in synced["issues"] if i["issue"] == key]
    assert mine and mine[0]["ticket"] and f"open.{key}" in mine[0]["outcomes"]
    shown = spbe.json("desk", "show", "redmine", key)
    assert shown["ticket"] == mine[0]["ticket"]
    again = spbe.json("desk", "sync", "redmine")
    assert all(not i["outcomes"] for i in again["issues"] if i["issue"] == key)
    assert spbe.json("desk", "replay", "redmine", key)["outcomes"] == {}
    status = spbe.json("desk", "status", "redmine")[0]
    assert status["tickets"] >= 1 and status["cursor"] and status["mirror_failures"] == 0
    assert spbe("desk", "replay", "redmine", "../../etc").exit_code == 2
    assert spbe("desk", "check", "tidak-ada").exit_code == 3


def test_check_names_the_rights_the_bot_account_lacks(redmine: RedmineHandle, tmp_path: Path) -> None:
    """An applicant's key as the bot: Redmine would silently drop its status changes (no edit_issues)."""
    spbe = _cli(redmine, tmp_path, bot="andi", accounts={"sari": "sari", "kadis": "kadis"})
    result = spbe("desk", "check", "redmine", "--json", env={KEY_ENV: redmine.api_key("andi")})
    assert result.exit_code == 8, result.output
    problems = json.loads(result.stdout)["problems"]
    assert "rights: the bot lacks spbe-uji: edit_issues" in problems
    assert redmine.api_key("andi") not in result.output
