"""The jadwal pelaksanaan from the command line (`spbe ticket schedule ...`, `spbe ticket show`), in the catalog
(the three purposes, declared together and in order; Jaringan Intra uses them) and in the documents' context."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.conftest import TEST_ACTIONS
from tests.domain.catalog.test_models import MINIMAL
from tests.support.cli import Spbe
from toolkit.document_context import build_context
from toolkit.domain import install_schedule
from toolkit.domain.catalog.loader import load_catalog
from toolkit.domain.catalog.models import Service, StepPurpose

CATALOG = Path(__file__).parent / "jadwal_catalog"


@pytest.fixture
def cli(spbe: Spbe) -> Spbe:
    return spbe.with_env(SPBE_CATALOG_DIR=str(CATALOG), SPBE_EXTRA_ACTIONS='["' + '","'.join(TEST_ACTIONS) + '"]')


def _approved(cli: Spbe) -> str:
    ticket = str(cli.json("ticket", "open", "uji-jadwal", "--as", "andi", "--title", "Uji", "-f",
                          "instansi=Dinas Uji")["id"])
    assert cli("ticket", "check", ticket, "--as", "sari").exit_code == 0
    assert cli("ticket", "approve", ticket, "--as", "kadis", "--reason", "Setuju").exit_code == 0
    return ticket


def _wita(days: float) -> str:
    moment = datetime.now(UTC) + timedelta(days=days)
    return moment.astimezone(install_schedule.zone_of(None)).replace(tzinfo=None).isoformat(timespec="minutes")


def test_propose_confirm_and_show(cli: Spbe) -> None:
    ticket = _approved(cli)
    start, end = _wita(3), _wita(3.1)
    assert cli("ticket", "schedule", "propose", ticket, "--as", "andi", "--start", start, "--end", end).exit_code == 4
    assert cli("ticket", "schedule", "propose", ticket, "--as", "yusuf", "--start", end, "--end", start).exit_code == 2
    assert cli("ticket", "schedule", "propose", ticket, "--as", "yusuf", "--start", "2020-01-01T09:00",
               "--end", "2020-01-01T10:00").exit_code == 2
    proposed = cli.json("ticket", "schedule", "propose", ticket, "--as", "yusuf", "--start", start, "--end", end,
                        "--note", "Membawa kabel UTP")
    assert proposed["acted"] and proposed["schedule"]["status"] == "proposed"
    assert cli("ticket", "schedule", "confirm", ticket, "--as", "yusuf").exit_code == 4  # the team cannot confirm
    assert cli("ticket", "advance", ticket, "--as", "andi", "--step", "konfirmasi-jadwal",
               "--note", "ok").exit_code == 5
    result = cli("ticket", "schedule", "confirm", ticket, "--as", "andi")
    assert result.exit_code == 0 and "jadwal dikonfirmasi" in result.output and "WITA" in result.output
    again = cli("ticket", "schedule", "confirm", ticket, "--as", "andi")
    assert again.exit_code == 0 and "tidak berubah" in again.output

    shown = cli.json("ticket", "show", ticket)
    assert shown["jadwal"]["status"] == "confirmed" and shown["jadwal"]["mulai"].endswith("WITA")
    assert shown["jadwal"]["note"] == "Membawa kabel UTP"
    steps = {s["id"]: s["status"] for s in shown["steps"]}
    assert steps["konfirmasi-jadwal"] == "done" and steps["pemasangan"] == "current"
    text = cli("ticket", "show", ticket).output
    assert "Jadwal pelaksanaan:" in text and "dikonfirmasi pemohon" in text


def test_reject_needs_a_reason_and_the_requester(cli: Spbe) -> None:
    ticket = _approved(cli)
    assert cli("ticket", "schedule", "propose", ticket, "--as", "yusuf", "--start", _wita(2),
               "--end", _wita(2.1)).exit_code == 0
    assert cli("ticket", "schedule", "reject", ticket, "--as", "budi", "--reason", "x").exit_code == 4
    assert cli("ticket", "schedule", "reject", ticket, "--as", "andi", "--reason", " ").exit_code == 2
    assert cli("ticket", "schedule", "reject", ticket, "--as", "andi", "--reason", "Hari libur daerah").exit_code == 0
    assert cli.json("ticket", "show", ticket)["jadwal"]["status"] == "rejected"
    assert cli("ticket", "schedule", "confirm", ticket, "--as", "andi").exit_code == 5


def test_a_service_without_a_schedule_refuses(spbe: Spbe) -> None:
    cli = spbe.with_env(SPBE_CATALOG_DIR=str(Path(__file__).parents[1] / "support" / "catalog"),
                        SPBE_EXTRA_ACTIONS='["' + '","'.join(TEST_ACTIONS) + '"]')
    ticket = str(cli.json("ticket", "open", "uji-mesin", "--as", "andi", "--title", "Uji", "-f",
                          "instansi=Dinas Uji")["id"])
    assert cli("ticket", "schedule", "propose", ticket, "--as", "yusuf", "--start", _wita(2),
               "--end", _wita(2.1)).exit_code == 5
    assert cli.json("ticket", "show", ticket)["jadwal"] is None


def _with_purposes(*purposes: tuple[int, str]) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    for index, purpose in purposes:
        data["steps"][index]["purpose"] = purpose
    return data


def test_catalog_declares_the_three_purposes_together_and_in_order() -> None:
    data = copy.deepcopy(MINIMAL)
    data["steps"].insert(2, {"id": "siapkan", "title": "Persiapan", "actor": "tim-pusat-data", "kind": "human",
                             "purpose": "schedule-proposal"})
    data["steps"].insert(3, {"id": "konfirmasi", "title": "Konfirmasi", "actor": "pemohon", "kind": "human",
                             "purpose": "schedule-confirmation"})
    with pytest.raises(ValidationError, match="three purposes"):
        Service.model_validate(data)
    data["steps"][4]["purpose"] = "scheduled"  # pasang: the action after them
    Service.model_validate(data)
    data["steps"][2]["purpose"], data["steps"][3]["purpose"] = "schedule-confirmation", "schedule-proposal"
    with pytest.raises(ValidationError, match="proposed, then confirmed"):
        Service.model_validate(data)
    with pytest.raises(ValidationError, match="must be of kind 'action'"):
        Service.model_validate(_with_purposes((0, "scheduled")))


def test_jaringan_intra_schedules_its_installation_in_wita() -> None:
    service = load_catalog().get("jaringan-intra")
    ids = [service.step_with(p).id for p in (StepPurpose.SCHEDULE_PROPOSAL, StepPurpose.SCHEDULE_CONFIRMATION,
                                             StepPurpose.SCHEDULED)]  # type: ignore[union-attr]
    assert ids == ["persiapan-pemasangan", "konfirmasi-jadwal", "pemasangan-jaringan"]
    assert install_schedule.zone_label(install_schedule.zone_of(service)) == "WITA"


def test_unknown_zone_is_refused() -> None:
    class Elsewhere:
        timezone = "Asia/Atlantis"

    with pytest.raises(Exception, match="unknown time zone"):
        install_schedule.zone_of(Elsewhere())


def test_documents_get_the_schedule(cli: Spbe, state_dir: Path) -> None:
    ticket = _approved(cli)
    assert cli("ticket", "schedule", "propose", ticket, "--as", "yusuf", "--start", "2030-01-01T09:00+08:00",
               "--end", "2030-01-01T10:00+08:00").exit_code == 2  # more than 180 days ahead
    start = _wita(1)
    assert cli("ticket", "schedule", "propose", ticket, "--as", "yusuf", "--start", start,
               "--end", _wita(1.1)).exit_code == 0
    assert cli("ticket", "schedule", "confirm", ticket, "--as", "andi").exit_code == 0
    from toolkit.bootstrap import App
    from toolkit.settings import load_settings

    app = App(load_settings(state_dir=state_dir, catalog_dir=CATALOG, extra_actions=TEST_ACTIONS))
    try:
        record = app.tickets.get(ticket)
        service = app.catalog.get(record.service_id)
        context = build_context(ticket=record, service=service, prior={}, timeline=app.tickets.timeline(ticket),
                                directory=app.directory, now=datetime.now(UTC), roles=app.catalog.roles)
    finally:
        app.close()
    jadwal = context["jadwal"]
    assert jadwal["status"] == "dikonfirmasi" and jadwal["mulai_teks"].endswith("WITA")
    assert jadwal["mulai_teks"].startswith(f"{start[8:10]}-{start[5:7]}-{start[:4]} {start[11:16]}")
    assert jadwal["diusulkan_oleh"] == "Yusuf Hidayat" and jadwal["dikonfirmasi_oleh"]
