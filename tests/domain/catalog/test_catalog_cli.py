"""``spbe catalog`` through click's CliRunner, invoking the group directly (no settings object)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.cli import Spbe
from toolkit.cli.catalog_cmd import catalog_group, format_duration, sla_summary
from toolkit.domain.catalog.loader import DEFAULT_DIRECTORY, load_catalog
from toolkit.domain.catalog.models import Service
from toolkit.errors import UnknownServiceError

IDS = ["audit-ti", "insiden-siber", "jaringan-intra", "keamanan-informasi", "pengaduan",
       "permohonan-keamanan-informasi", "pusat-data", "splp", "tanda-tangan-elektronik"]


@pytest.fixture
def runner() -> Spbe:
    return Spbe(command=catalog_group, catch_exceptions=True)


def _wide(runner: Spbe, *args: str, obj: object = None):  # type: ignore[no-untyped-def]
    # A wide terminal keeps rich from folding ids across lines.
    return replace(runner, obj=obj)(*args, env={"COLUMNS": "240"})


def test_list_table(runner: Spbe) -> None:
    result = _wide(runner, "list")
    assert result.exit_code == 0, result.output
    for service_id in IDS:
        assert service_id in result.output
    assert "Layanan Pemanfaatan Pusat Data" in result.output
    assert "3–4 jam / 7 hari" in result.output
    assert "48 jam / 72 jam" in result.output


def test_list_json(runner: Spbe) -> None:
    result = runner("list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["id"] for row in rows] == IDS
    pusat = next(row for row in rows if row["id"] == "pusat-data")
    assert pusat["steps"] == 19  # 13 SOP steps and six of ours (backup add-on, signing, four products)
    assert pusat["sla"][0] == {"id": "tanpa-uat", "label": pusat["sla"][0]["label"], "duration": "PT4H",
                               "min_duration": "PT3H", "unit": "kalender",
                               "when": {"field": "uat", "equals": False, "in": None}}
    assert pusat["provider"] == "Dinas Komunikasi, Informatika dan Statistik Provinsi Gorontalo"


def test_show_table(runner: Spbe) -> None:
    result = _wide(runner, "show", "pusat-data")
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in ("Surat Dari Instansi", "surat_permohonan", "kepala-dinas", "approval",
                     "ansible.provision_server", "konfigurasi-backup", "backup == true", "uat == false",
                     "Hosting Aplikasi", "SP4N Lapor", "ISO IEC 20000",
                     "Keputusan Gubernur Nomor 271/17/VII/2024"):
        assert expected in out, expected
    order = ("instalasi-monitoring", "konfigurasi-backup", "uji-fungsionalitas")
    position = [out.index(step_id) for step_id in order]
    assert position == sorted(position)


def test_show_surakarta_standard_times_and_branches(runner: Spbe) -> None:
    result = _wide(runner, "show", "keamanan-informasi")
    assert result.exit_code == 0, result.output
    for expected in ("10 menit", "30 menit", "7 hari", "bantuan_eksternal == true",
                     "jenis_insiden == keamanan", "evidence.collect", "eskalasi: kepala-bidang-ti",
                     "rahasia", "Lapor Mas Wali"):
        assert expected in result.output, expected


def test_show_json_round_trips(runner: Spbe) -> None:
    result = runner("show", "insiden-siber", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    steps = {step["id"]: step for step in data["steps"]}
    assert steps["press-release-insiden"]["when"] == {"field": "perlu_press_release", "equals": True, "in": None}
    assert Service.model_validate(data) == load_catalog().get("insiden-siber")


def test_unknown_service(runner: Spbe) -> None:
    result = runner("show", "nope")
    assert result.exit_code != 0
    assert isinstance(result.exception, UnknownServiceError)
    assert "nope" in str(result.exception) and "pusat-data" in str(result.exception)
    assert result.exception.exit_code == 3


def test_catalog_dir_from_settings(runner: Spbe, tmp_path: Path) -> None:
    shutil.copy(DEFAULT_DIRECTORY / "splp.yaml", tmp_path / "splp.yaml")
    obj = SimpleNamespace(settings=SimpleNamespace(catalog_dir=tmp_path))
    result = replace(runner, obj=obj)("list", "--json")
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in json.loads(result.output)] == ["splp"]


def test_duration_wording() -> None:
    from datetime import timedelta

    assert format_duration(timedelta(minutes=10)) == "10 menit"
    assert format_duration(timedelta(hours=1, minutes=30)) == "1 jam 30 menit"
    assert format_duration(timedelta(hours=72)) == "72 jam"
    assert format_duration(timedelta(days=1)) == "1 hari"
    assert format_duration(timedelta(days=7)) == "7 hari"
    assert sla_summary(load_catalog().get("keamanan-informasi").sla) == "8 hari / 1 hari"
