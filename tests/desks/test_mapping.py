"""Desk mappings are refused at start, naming the file and the key, when they are malformed or name what
spbe does not have (a service, a catalog field, a person)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from integrations.identity.roles_file import RolesFileDirectory
from toolkit.desks.mapping import Decision, DeskMapping, load_mappings, parse_mapping
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.tickets.models import TicketStatus
from toolkit.errors import ConfigurationError
from toolkit.settings import load_settings

LAB_MAPPING = Path(__file__).resolve().parents[2] / "lab" / "desks" / "redmine.yml"


@pytest.fixture
def directory(tmp_path: Path) -> RolesFileDirectory:
    return RolesFileDirectory(settings=load_settings(state_dir=tmp_path))


def write(folder: Path, change: dict[str, object] | None = None, drop: str | None = None) -> Path:
    data = yaml.safe_load(LAB_MAPPING.read_text(encoding="utf-8"))
    data.update(change or {})
    if drop:
        data.pop(drop)
    path = folder / "redmine.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_the_lab_mapping_loads_and_routes_by_the_service_field(tmp_path: Path, directory: RolesFileDirectory) -> None:
    write(tmp_path)
    mapping = load_mappings(tmp_path, load_catalog(), directory)["redmine"]
    route = mapping.route("spbe-uji", "Support", {"Layanan": "pusat-data"})
    assert route is not None and route.service == "pusat-data"
    assert mapping.route("spbe-uji", "Support", {"Layanan": "lain"}) is None
    assert mapping.route("proyek-lain", None, {"Layanan": "pusat-data"}) is None
    assert mapping.person("kadis") == "kadis" and mapping.person("tamu") is None
    assert {r.decision for r in mapping.decisions} == set(Decision)


@pytest.mark.parametrize(("change", "key"), [
    ({"routes": [{"project": "spbe-uji", "service": "tidak-ada"}]}, "routes.0.service"),
    ({"fields": {"pusat-data": {"Instansi": "bukan_field"}}}, "fields.pusat-data.Instansi"),
    ({"accounts": {"andi": "orang-asing"}}, "accounts.andi"),
    ({"accounts": {"spbe": "andi"}}, "accounts.spbe"),
    ({"decisions": [{"decision": "approve", "status_to": "Disetujui"},
                    {"decision": "close", "status_to": "Disetujui"}]}, "decisions.1"),
    ({"decisions": [{"decision": "approve", "status_to": "Disetujui", "validation": "accepted"}]}, "decisions.0"),
    ({"decisions": [{"decision": "return", "validation": "refused"}]}, "decisions.0.status_to"),
    ({"decisions": [{"decision": "resubmit", "note": True}]}, "decisions.0"),
    ({"decisions": [{"decision": "approve", "status_to": "Disetujui", "missing_field": "Kekurangan"}]},
     "decisions.0.missing_field"),
    ({"decisions": [{"decision": "return", "status_to": "Dikembalikan", "missing_field": "Nama host"}]},
     "decisions.0.missing_field"),
    ({"decisions": [{"decision": "return", "status_to": "Dikembalikan", "missing_field": "Kekurangan\n"}]},
     "decisions.0.missing_field"),
    ({"routes": [{"project": "spbe-uji\nx", "service": "pusat-data"}]}, "routes.0.project"),
    ({"statuses": {"archived": "Closed"}}, "statuses.archived"),
    ({"name": "lain"}, "name"),
    ({"poll_interval_s": 0}, "poll_interval_s"),
    ({"surplus": 1}, "surplus"),
])
def test_a_bad_mapping_is_refused_naming_file_and_key(tmp_path: Path, directory: RolesFileDirectory,
                                                      change: dict[str, object], key: str) -> None:
    path = write(tmp_path, change)
    with pytest.raises(ConfigurationError) as caught:
        load_mappings(tmp_path, load_catalog(), directory)
    assert str(path) in str(caught.value)
    assert f": {key}" in str(caught.value) or f"{key}:" in str(caught.value)


def test_missing_routes_and_unreadable_yaml_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, drop="routes")
    with pytest.raises(ConfigurationError, match="routes"):
        parse_mapping(path)
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="cannot be read"):
        parse_mapping(path)


def test_no_folder_means_no_desks(tmp_path: Path, directory: RolesFileDirectory) -> None:
    assert load_mappings(tmp_path / "absent", load_catalog(), directory) == {}


def test_the_desk_statuses_that_already_say_a_ticket_status() -> None:
    """The mirror leaves these alone: a status reached by a decision in the desk says what spbe now says."""

    mapping = DeskMapping.model_validate({
        "name": "d", "kind": "redmine", "bot": "spbe", "accounts": {"sari": "sari"},
        "routes": [{"project": "p", "service": "pusat-data"}],
        "decisions": [{"decision": d, "status_to": to} for d, to in (
            ("defer", "Ditunda"), ("return", "Dikembalikan"), ("resubmit", "Diajukan ulang"), ("check", "Diperiksa"),
            ("close", "Selesai"))],
        "statuses": {"open": "New", "deferred": "Ditunda", "closed": "Closed"}})
    assert mapping.statuses_meaning(TicketStatus.DEFERRED) == {"Ditunda", "Dikembalikan"}
    assert mapping.statuses_meaning(TicketStatus.OPEN) == {"New", "Diajukan ulang"}  # a check leaves it open
    assert mapping.statuses_meaning(TicketStatus.CLOSED) == {"Closed", "Selesai"}
    assert mapping.statuses_meaning(TicketStatus.IN_PROGRESS) == frozenset()
