"""GLPI as a desk in its two real setups, and `spbe desk check` on it (against the fake GLPI of lab/glpi_fake.py).

* With the Fields plugin: the request form is a container of custom fields ("Formulir Permohonan"), named by
  ``options.fields_container``; the service is the container's dropdown "Layanan". The mapping is the lab's
  (lab/desks/glpi.yml) with its options, routes and form switched over, so both variants map the same fields.
* Without it: the form travels in the description (``form_in_description``), on a GLPI that has no plugin.

`spbe desk check` asks GLPI for the bot's active profile and its rights, and for the session's active entities:
a bot without a right spbe's writes need, or whose session does not cover the mapped entity, is named.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.glpi_fake import GlpiFake
from lab.glpi_fake_rights import FOLLOWUP_ADDALLTICKET, READ
from tests.support.cli import Spbe
from toolkit.bootstrap import App
from toolkit.settings import load_settings

LAB_MAPPING = Path(__file__).resolve().parents[2] / "lab" / "desks" / "glpi.yml"
FORM = {"Layanan": "Pusat Data", "Instansi": "Dinas Kesehatan", "Perihal": "Permohonan hosting SIMPUS",
        "Produk": "hosting-aplikasi", "Nama aplikasi": "simpus", "Nama host": "fields-app", "Jumlah vCPU": "2",
        "Memori (GB)": "4", "Penyimpanan (GB)": "40", "Email kontak": "it@dinkes.example.go.id"}
DESCRIPTION = "Permohonan pemanfaatan Pusat Data.\n\n" + "\n".join(
    f"{label}: {value}" for label, value in FORM.items() if label != "Layanan")
LETTER = b"%PDF-1.4\n% Surat permohonan\n%%EOF\n"
APPROVAL = b"%PDF-1.4\n% Persetujuan aplikasi\n%%EOF\n"  # hosting needs it (SOP 002 step 4)


def _mapping(glpi: GlpiFake, plugin: bool) -> dict[str, Any]:
    mapping: dict[str, Any] = yaml.safe_load(LAB_MAPPING.read_text(encoding="utf-8"))
    mapping["options"]["base_url"] = glpi.url
    if plugin:  # the Fields plugin variant: the same desk fields, as custom fields; the service by its dropdown
        mapping["options"]["fields_container"] = "Formulir Permohonan"
        mapping["form_in_description"] = False
        mapping["routes"] = [{"project": "Root entity > Diskominfo", "field": "Layanan", "value": "Pusat Data",
                              "service": "pusat-data"}]
    return mapping


def _write(glpi: GlpiFake, folder: Path, mapping: dict[str, Any]) -> dict[str, dict[str, str]]:
    (folder / "desks").mkdir(exist_ok=True)
    (folder / "desks" / "glpi.yml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    (folder / "user").write_text(glpi.user_token("spbe"), encoding="utf-8")
    (folder / "app").write_text(glpi.app_token, encoding="utf-8")
    return {"desk-glpi-user": {"ref": f"file:{folder / 'user'}"}, "desk-glpi-app": {"ref": f"file:{folder / 'app'}"},
            "backup_password": {"ref": "env:SPBE_BACKUP_PASSWORD"}}


@pytest.fixture
def glpi() -> Iterator[GlpiFake]:
    with GlpiFake() as fake:
        yield fake


@pytest.fixture
def bare_glpi() -> Iterator[GlpiFake]:
    with GlpiFake(fields_plugin=False) as fake:
        yield fake


def _app(glpi: GlpiFake, tmp_path: Path, plugin: bool) -> App:
    secrets = _write(glpi, tmp_path, _mapping(glpi, plugin))
    return App(load_settings(state_dir=tmp_path / "state", desks_dir=tmp_path / "desks", secrets=secrets))


def _taken(app: App, number: int) -> dict[str, Any]:
    assert not app.desks.get("glpi").poller.poll_once().failed
    ticket_id = app.desks.records.ticket_for("glpi", str(number))
    assert ticket_id is not None
    ticket = app.tickets.get(ticket_id)
    assert ticket.requester == "andi"
    assert [a.kind for a in ticket.attachments] == ["surat_permohonan", "dokumen_persetujuan_aplikasi"]
    return dict(ticket.fields)


def test_a_request_whose_form_is_in_custom_fields_is_taken(glpi: GlpiFake, tmp_path: Path) -> None:
    assert glpi.store.fields_plugin is not None
    andi = glpi.person("andi")
    number = andi.create_ticket("Hosting SIMPUS", "Untuk puskesmas.", entity=1, category=0,
                                **glpi.store.fields_plugin.input_for(FORM))
    andi.upload(number, "surat-permohonan.pdf", LETTER)
    andi.upload(number, "persetujuan-aplikasi.pdf", APPROVAL)
    app = _app(glpi, tmp_path, plugin=True)
    try:
        fields = _taken(app, number)
    finally:
        app.close()
    assert (fields["hostname"], fields["instansi"], fields["vcpu"]) == ("fields-app", "Dinas Kesehatan", 2)


def test_a_request_whose_form_is_in_the_description_is_taken_on_a_glpi_without_the_plugin(
        bare_glpi: GlpiFake, tmp_path: Path) -> None:
    andi = bare_glpi.person("andi")
    number = andi.create_ticket("Hosting SIMPUS", DESCRIPTION, entity=1, category=1)
    andi.upload(number, "surat-permohonan.pdf", LETTER)
    andi.upload(number, "persetujuan-aplikasi.pdf", APPROVAL)
    app = _app(bare_glpi, tmp_path, plugin=False)
    try:
        fields = _taken(app, number)
    finally:
        app.close()
    assert (fields["hostname"], fields["instansi"]) == ("fields-app", "Dinas Kesehatan")


def _check(glpi: GlpiFake, tmp_path: Path, plugin: bool) -> tuple[int, dict[str, Any], str]:
    secrets = _write(glpi, tmp_path, _mapping(glpi, plugin))
    spbe = Spbe(state_dir=tmp_path / "state", env={"SPBE_DESKS_DIR": str(tmp_path / "desks"),
                                                   "SPBE_SECRETS": json.dumps(secrets)})
    result = spbe("desk", "check", "glpi", "--json")
    assert glpi.user_token("spbe") not in result.output and glpi.app_token not in result.output
    return result.exit_code, (json.loads(result.stdout) if result.stdout.startswith("{") else {}), result.output


@pytest.mark.parametrize("plugin", [True, False], ids=["fields-plugin", "form-in-description"])
def test_check_says_the_lab_glpi_matches_its_mapping(glpi: GlpiFake, tmp_path: Path, plugin: bool) -> None:
    code, checked, output = _check(glpi, tmp_path, plugin)
    assert (code, checked) == (0, {"desk": "glpi", "account": "spbe", "ok": True, "problems": []}), output


def test_check_names_the_rights_the_bots_active_profile_lacks(glpi: GlpiFake, tmp_path: Path) -> None:
    glpi.store.revoke("spbe", "followup", FOLLOWUP_ADDALLTICKET)
    glpi.store.revoke("spbe", "user", READ)
    code, checked, output = _check(glpi, tmp_path, plugin=True)
    assert code == 8 and checked, output
    rights = [p for p in checked["problems"] if p.startswith("rights:")]
    assert rights == ["rights: the bot lacks profile Super-Admin: followup ADDALLTICKET (add a followup to any "
                      "ticket)", "rights: the bot lacks profile Super-Admin: user READ (know which account acted)"]


def test_check_says_when_the_bots_session_does_not_cover_the_mapped_entity(glpi: GlpiFake, tmp_path: Path) -> None:
    glpi.store.set_active_entity("spbe", 2, recursive=False)  # Dinas Pendidikan only
    code, checked, output = _check(glpi, tmp_path, plugin=True)
    assert code == 8, output
    assert "routes.0.project: 'Root entity > Diskominfo' is not a project the bot can see" in checked["problems"]


def test_check_names_a_container_that_is_not_there(bare_glpi: GlpiFake, tmp_path: Path) -> None:
    code, _, output = _check(bare_glpi, tmp_path, plugin=True)
    assert code != 0 and "fields_container" in output and "no Fields plugin" in output, output
