"""`GlpiDesk` with the Fields plugin (pluginsGLPI/fields) on the fake GLPI: the GLPI specifics of custom fields that
the shared contract does not pin down (the contract itself runs in test_glpi_contract.py).

What is checked: values are read by the container's class with GLPI's LIKE ``searchText`` filtered to the exact
ticket; a plugin dropdown reads as its entry's name, before and after a change; the values a ticket is opened
with are not changes, a value set later is; GLPI's history cuts a value at 255 characters while the issue has
it whole; a profile without a right on the container writes nothing (the plugin ignores the values); a
container that is not there, a GLPI without the plugin and a label that clashes with a core field are
configuration errors naming the option.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integrations.desks.glpi import GlpiDesk, GlpiOptions
from lab.glpi_fake import GlpiFake
from lab.glpi_fake_fields import RIGHT_READ, FieldsPlugin
from toolkit.errors import ConfigurationError
from toolkit.settings import Settings, load_settings

CONTAINER = "Formulir Permohonan"


@pytest.fixture
def glpi() -> Iterator[GlpiFake]:
    with GlpiFake() as fake:
        yield fake


def _desk(glpi: GlpiFake, tmp_path: Path, container: str = CONTAINER) -> GlpiDesk:
    (tmp_path / "user").write_text(glpi.user_token("spbe"), encoding="utf-8")
    (tmp_path / "app").write_text(glpi.app_token, encoding="utf-8")
    settings: Settings = load_settings(state_dir=tmp_path / "state", secrets={
        "u": {"ref": f"file:{tmp_path / 'user'}"}, "a": {"ref": f"file:{tmp_path / 'app'}"}})
    options = GlpiOptions.model_validate({"base_url": glpi.url, "user_token_secret": "u", "app_token_secret": "a",
                                          "fields_container": container})
    return GlpiDesk(settings, name="glpi", **dict(options))


def _plugin(glpi: GlpiFake) -> FieldsPlugin:
    assert glpi.store.fields_plugin is not None
    return glpi.store.fields_plugin


def _open(glpi: GlpiFake, values: dict[str, str]) -> int:
    return glpi.person("andi").create_ticket("Permohonan", "", entity=1, **_plugin(glpi).input_for(values))


def test_values_are_those_of_the_ticket_itself_not_of_a_like_match(glpi: GlpiFake, tmp_path: Path) -> None:
    first = _open(glpi, {"Instansi": "Dinas Kesehatan", "Layanan": "Pusat Data"})
    for _ in range(9):
        _open(glpi, {})
    eleventh = _open(glpi, {"Instansi": "Dinas Pendidikan", "Layanan": "SPLP"})
    assert (first, eleventh) == (1, 11)  # searchText[items_id]=1 finds the rows of tickets 1, 10 and 11
    with _desk(glpi, tmp_path) as desk:
        one, other = desk.issue("1").fields, desk.issue("11").fields
    assert (one["Instansi"], one["Layanan"]) == ("Dinas Kesehatan", "Pusat Data")
    assert (other["Instansi"], other["Layanan"]) == ("Dinas Pendidikan", "SPLP")
    assert "Spesifikasi" not in one  # an empty value is no value
    assert desk.issue("5").fields.get("Instansi") is None


def test_opening_values_are_not_changes_and_later_ones_are_with_names(glpi: GlpiFake, tmp_path: Path) -> None:
    number = _open(glpi, {"Layanan": "Pusat Data", "Instansi": "Dinas Kesehatan"})
    bare = glpi.person("andi").create_ticket("Tanpa formulir", "", entity=1)
    sari = glpi.person("sari")
    plugin = _plugin(glpi)
    glpi.clock.freeze()
    glpi.clock.tick()
    sari.update_ticket(number, **plugin.input_for({"Layanan": "SPLP"}))
    sari.update_ticket(bare, **plugin.input_for({"Instansi": "Dinas Sosial"}))
    with _desk(glpi, tmp_path) as desk:
        [changed] = desk.changes(str(number))
        [first_set] = desk.changes(str(bare))
        assert desk.issue(str(number)).updated_at == changed.at  # the plugin's write touches the ticket
    assert (changed.account, changed.field_changes) == ("sari", {"Layanan": ("Pusat Data", "SPLP")})
    assert changed.id.startswith("c") and (changed.status_from, changed.note) == (None, "")
    assert (first_set.account, first_set.field_changes) == ("sari", {"Instansi": (None, "Dinas Sosial")})


def test_the_history_cuts_a_long_value_the_issue_has_it_whole(glpi: GlpiFake, tmp_path: Path) -> None:
    number = _open(glpi, {"Instansi": "Dinas Kesehatan"})
    text = "\n".join(f"baris {i}: " + "x" * 40 for i in range(10))
    glpi.person("sari").update_ticket(number, **_plugin(glpi).input_for({"Spesifikasi": text}))
    with _desk(glpi, tmp_path) as desk:
        assert desk.issue(str(number)).fields["Spesifikasi"] == text
        [change] = desk.changes(str(number))
    assert change.field_changes["Spesifikasi"] == (None, text[:255])


def test_a_profile_without_the_right_on_the_container_writes_nothing(glpi: GlpiFake, tmp_path: Path) -> None:
    number = _open(glpi, {"Instansi": "Dinas Kesehatan"})
    plugin = _plugin(glpi)
    plugin.set_right(glpi.store.profile(int(glpi.store.user_by_login("sari")["id"])).id, RIGHT_READ)
    glpi.person("sari").update_ticket(number, **plugin.input_for({"Instansi": "Dinas Pendidikan"}))
    with _desk(glpi, tmp_path) as desk:
        assert desk.issue(str(number)).fields["Instansi"] == "Dinas Kesehatan"
        assert desk.changes(str(number)) == []


def test_capabilities_name_the_containers_fields(glpi: GlpiFake, tmp_path: Path) -> None:
    with _desk(glpi, tmp_path, container="formulirpermohonan") as desk:  # its name works as well as its label
        fields = desk.capabilities().fields
    assert {"category", "Layanan", "Instansi", "Spesifikasi", "Nama host", "Memori (GB)"} <= set(fields)


def test_a_container_that_is_not_there_is_a_configuration_error(glpi: GlpiFake, tmp_path: Path) -> None:
    number = _open(glpi, {})
    with _desk(glpi, tmp_path, container="Formulir Lain") as desk, pytest.raises(ConfigurationError) as caught:
        desk.issue(str(number))
    assert "options.fields_container" in str(caught.value) and "Formulir Permohonan" in str(caught.value)


def test_a_glpi_without_the_plugin_says_so(tmp_path: Path) -> None:
    with GlpiFake(fields_plugin=False) as bare:
        number = bare.person("andi").create_ticket("Permohonan", "", entity=1)
        with _desk(bare, tmp_path) as desk, pytest.raises(ConfigurationError, match="no Fields plugin"):
            desk.issue(str(number))


def test_a_label_that_clashes_with_a_core_field_is_refused(glpi: GlpiFake, tmp_path: Path) -> None:
    fields = glpi.store.items["PluginFieldsField"]
    fields[99] = {**fields[2], "id": 99, "name": "categoryfield", "label": "category", "ranking": 99}
    with _desk(glpi, tmp_path) as desk, pytest.raises(ConfigurationError, match="labelled 'category'"):
        desk.capabilities()
