"""Validation of catalog data: each mistake a transcriber can make is refused with the key to fix."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from toolkit.domain.catalog.loader import DEFAULT_DIRECTORY, load_catalog
from toolkit.domain.catalog.models import Catalog, Condition, FieldSpec, Service, Sla, SlaVariant, Step
from toolkit.errors import ConfigurationError, NotFoundError, UnknownServiceError

MINIMAL: dict[str, Any] = {
    "id": "contoh",
    "seed": "999_contoh.txt",
    "name": "Layanan Contoh",
    "provider": "Dinas Contoh",
    "requirements": {
        "fields": [
            {"name": "backup", "label": "Backup", "type": "bool", "default": False, "required": False},
            {"name": "produk", "label": "Produk", "type": "enum", "choices": ["a", "b"]},
        ],
        "attachments": [{"name": "surat_permohonan", "label": "Surat", "media_types": ["application/pdf"]}],
    },
    "steps": [
        {"id": "ajukan", "sop_no": 1, "title": "Pemohon mengajukan", "actor": "pemohon", "kind": "human"},
        {"id": "setujui", "sop_no": 2, "title": "Kepala Dinas menyetujui", "actor": "kepala-dinas",
         "kind": "approval"},
        {"id": "pasang", "sop_no": 3, "title": "Instalasi", "actor": "tim-pusat-data", "kind": "action",
         "action": "ansible.provision_server", "standard_time": "PT10M"},
        {"id": "cadangkan", "title": "Backup", "actor": "tim-pusat-data", "kind": "action",
         "action": "ansible.configure_backup", "when": {"field": "backup", "equals": True}},
        {"id": "tutup", "sop_no": 4, "title": "Tutup", "actor": "pemohon", "kind": "notify",
         "action": "notify.penutupan_tiket"},
    ],
    "sla": {"variants": [
        {"id": "cepat", "label": "4 jam", "duration": "PT4H", "min_duration": "PT3H",
         "when": {"field": "produk", "in": ["a"]}},
        {"id": "standar", "label": "1 minggu", "duration": "P7D"},
    ]},
    "cost": "Gratis",
}


def _data(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    data.update(changes)
    return data


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        Service.model_validate(data)
    return str(info.value)


def test_minimal_service_is_valid_and_hashable() -> None:
    service = Service.model_validate(MINIMAL)
    assert service.first_step.id == "ajukan"
    assert service.index_of("pasang") == 2
    assert service.step("pasang").standard_time == timedelta(minutes=10)
    assert service.approver_roles == ("kepala-dinas",)
    assert service.step("pasang").automated and not service.step("setujui").automated
    hash(service)  # used as a cache key by the request-model builder


def test_step_lookup_unknown_raises_not_found() -> None:
    service = Service.model_validate(MINIMAL)
    with pytest.raises(NotFoundError, match="no step 'nope'"):
        service.step("nope")


def test_duplicate_step_id() -> None:
    data = _data()
    data["steps"][2]["id"] = "ajukan"
    assert "steps.2.id: duplicate step id 'ajukan'" in _error(data)


def test_action_missing_on_action_step() -> None:
    data = _data()
    del data["steps"][2]["action"]
    message = _error(data)
    assert "steps.2" in message and "action: required for kind 'action'" in message


def test_action_on_human_step_refused() -> None:
    data = _data()
    data["steps"][0]["action"] = "ansible.provision_server"
    assert "action: a 'human' step" in _error(data)


def test_notify_step_must_bind_notify_template() -> None:
    data = _data()
    data["steps"][4]["action"] = "ansible.provision_server"
    assert "notify.*" in _error(data)


def test_when_naming_unknown_field() -> None:
    data = _data()
    data["steps"][3]["when"] = {"field": "cadangan", "equals": True}
    assert "steps.3.when.field: 'cadangan' is not a declared field" in _error(data)


def test_sla_when_naming_unknown_field() -> None:
    data = _data()
    data["sla"]["variants"][0]["when"] = {"field": "uat", "equals": False}
    assert "sla.variants.0.when.field: 'uat'" in _error(data)


def test_condition_value_must_fit_the_field() -> None:
    data = _data()
    data["steps"][3]["when"] = {"field": "produk", "equals": "c"}
    assert "steps.3.when: 'c' can never be a value of enum field 'produk'" in _error(data)


def test_enum_without_choices() -> None:
    data = _data()
    del data["requirements"]["fields"][1]["choices"]
    message = _error(data)
    assert "requirements.fields.1" in message and "choices: required for type 'enum'" in message


def test_default_must_fit_the_type() -> None:
    with pytest.raises(ValidationError, match="default: 'ya' is not a valid bool"):
        FieldSpec(name="backup", label="Backup", type="bool", default="ya")


@pytest.mark.parametrize("numbers", [(1, 2, 2, 4), (1, 3, 2, 4)])
def test_non_increasing_sop_no(numbers: tuple[int, ...]) -> None:
    data = _data()
    for step, number in zip((s for s in data["steps"] if "sop_no" in s), numbers, strict=True):
        step["sop_no"] = number
    assert "sop_no must strictly increase" in _error(data)


def test_step_kind_must_be_known() -> None:
    data = _data()
    data["steps"][1]["kind"] = "signature"
    assert "steps.1.kind" in _error(data)


def test_sla_default_must_be_last_and_only_last() -> None:
    with pytest.raises(ValidationError, match=r"variants.1.when: the last variant is the default"):
        Sla(variants=(
            SlaVariant(id="a", label="A", duration=timedelta(hours=1), when=Condition(field="x", equals=1)),
            SlaVariant(id="b", label="B", duration=timedelta(hours=2), when=Condition(field="x", equals=2)),
        ))
    with pytest.raises(ValidationError, match=r"variants.0.when: only the last variant"):
        Sla(variants=(SlaVariant(id="a", label="A", duration=timedelta(hours=1)),
                      SlaVariant(id="b", label="B", duration=timedelta(hours=2))))


def test_sla_select() -> None:
    sla = Service.model_validate(MINIMAL).sla
    assert sla.select({"produk": "a"}).id == "cepat"
    assert sla.select({"produk": "b"}).id == "standar"
    assert sla.select({}).id == "standar"
    assert sla.default.id == "standar"


def test_condition_matches_strictly() -> None:
    is_true = Condition(field="backup", equals=True)
    assert is_true.matches({"backup": True})
    assert not is_true.matches({"backup": 1})
    assert not is_true.matches({"backup": "true"})
    assert not is_true.matches({})
    assert Condition(field="n", equals=3).matches({"n": 3})
    one_of = Condition.model_validate({"field": "produk", "in": ["a", "b"]})
    assert one_of.matches({"produk": "b"}) and not one_of.matches({"produk": "c"})
    assert Condition(field="x", equals=None).matches({})
    assert one_of.describe() == "produk in (a, b)"


def test_condition_round_trips_through_json() -> None:
    for condition in (Condition.model_validate({"field": "produk", "in": ["a", None]}),
                      Condition(field="backup", equals=False)):
        dumped = condition.model_dump(mode="json", by_alias=True)
        assert Condition.model_validate(dumped) == condition
        assert Condition.model_validate(condition.model_dump()) == condition


def test_condition_needs_exactly_one_test() -> None:
    with pytest.raises(ValidationError, match="exactly one of 'equals' and 'in'"):
        Condition(field="x")
    with pytest.raises(ValidationError, match="exactly one of 'equals' and 'in'"):
        Condition.model_validate({"field": "x", "equals": 1, "in": [1]})


def test_models_are_frozen() -> None:
    service = Service.model_validate(MINIMAL)
    with pytest.raises(ValidationError):
        service.steps[0].actor = "kepala-dinas"  # type: ignore[misc]


def test_catalog_get_unknown_names_known_ids() -> None:
    catalog = Catalog(entries=(Service.model_validate(MINIMAL),))
    with pytest.raises(UnknownServiceError) as info:
        catalog.get("nope")
    assert "'nope'" in str(info.value) and "contoh" in str(info.value)
    assert info.value.details["known"] == ["contoh"]
    assert "contoh" in catalog and "nope" not in catalog
    assert catalog.services() == [catalog.get("contoh")]


def test_catalog_refuses_duplicate_ids() -> None:
    service = Service.model_validate(MINIMAL)
    with pytest.raises(ValidationError, match="duplicate service id"):
        Catalog(entries=(service, service))


# -- loader ---------------------------------------------------------------------------------------

def _write(directory: Path, name: str, data: Any) -> Path:
    path = directory / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_loader_reads_a_directory(tmp_path: Path) -> None:
    _write(tmp_path, "contoh.yaml", MINIMAL)
    assert load_catalog(tmp_path).ids() == ("contoh",)


def test_broken_yaml_names_the_file(tmp_path: Path) -> None:
    _write(tmp_path, "contoh.yaml", "id: contoh\nsteps: [\n  - broken: {\n")
    with pytest.raises(ConfigurationError, match=r"^contoh\.yaml: not valid YAML \(line \d+"):
        load_catalog(tmp_path)


def test_invalid_value_names_file_and_key_path(tmp_path: Path) -> None:
    data = _data()
    data["steps"][2]["kind"] = "magic"
    _write(tmp_path, "contoh.yaml", data)
    with pytest.raises(ConfigurationError) as info:
        load_catalog(tmp_path)
    assert str(info.value).startswith("contoh.yaml: steps.2.kind: Input should be")
    assert info.value.details["file"].endswith("contoh.yaml")


def test_model_level_problem_gets_full_key_path(tmp_path: Path) -> None:
    data = _data()
    del data["steps"][2]["action"]
    _write(tmp_path, "contoh.yaml", data)
    with pytest.raises(ConfigurationError, match=r"^contoh\.yaml: steps\.2\.action: required for kind"):
        load_catalog(tmp_path)


def test_cross_key_problem_names_the_key(tmp_path: Path) -> None:
    data = _data()
    data["steps"][3]["when"]["field"] = "cadangan"
    _write(tmp_path, "contoh.yaml", data)
    with pytest.raises(ConfigurationError, match=r"^contoh\.yaml: steps\.3\.when\.field: 'cadangan'"):
        load_catalog(tmp_path)


def test_file_name_must_match_id(tmp_path: Path) -> None:
    _write(tmp_path, "lain.yaml", MINIMAL)
    with pytest.raises(ConfigurationError, match=r"lain.yaml: id: 'contoh' does not match the file name"):
        load_catalog(tmp_path)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    _write(tmp_path, "contoh.yaml", "- just\n- a list\n")
    with pytest.raises(ConfigurationError, match=r"contoh.yaml: expected a mapping"):
        load_catalog(tmp_path)


def test_missing_or_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_catalog(tmp_path / "nowhere")
    with pytest.raises(ConfigurationError, match=r"no \*.yaml"):
        load_catalog(tmp_path)


def test_packaged_catalog_loads_by_default() -> None:
    assert load_catalog().ids() == load_catalog(DEFAULT_DIRECTORY).ids()


def test_step_model_directly() -> None:
    with pytest.raises(ValidationError, match="standard_time: must be positive"):
        Step(id="x", title="X", actor="pemohon", kind="human", standard_time=timedelta(0))
    with pytest.raises(ValidationError, match="document template id must be snake_case"):
        Step(id="x", title="X", actor="pemohon", kind="document", action="doc.template")
