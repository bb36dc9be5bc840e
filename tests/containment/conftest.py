"""A lab with the incident part (affected host, attacker, CSIRT host, switches) and a verified incident ticket.

Containment changes the affected host's firewall, so these tests get a lab of their own (``$SPBE_TEST_LAB-ir``)
rather than the session's shared one.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from lab import sshd
from lab.manager import LabManager
from lab.models import LabIncident, LabState
from tests.fixtures.lab import settings_for, test_lab_name
from tests.support.cli import Spbe
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.settings import Settings

AFFECTED = "ir-web-01"
# A ruleset the host already has before the incident: release must give back exactly this.
APP_FIREWALL = """table inet app_fw {
  set allowed { type ipv4_addr; elements = { 10.9.9.9 } }
  chain input { type filter hook input priority filter; policy accept; ip saddr @allowed counter accept; }
}
"""


@pytest.fixture(scope="module")
def ir_lab(lab_manager: LabManager, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    extra: dict[str, Any] = {}
    if "with_gateway" in inspect.signature(LabManager).parameters:
        extra["with_gateway"] = False  # the SPLP gateway is not needed here
    manager = LabManager(tmp_path_factory.mktemp("ir-lab"), test_lab_name("-ir"), switches=3, vpn=False,
                         incident=True, with_prometheus=False, **extra)
    state = manager.up()
    try:
        yield state
    finally:
        manager.down()


@pytest.fixture(scope="module")
def incident(ir_lab: LabState) -> LabIncident:
    assert ir_lab.incident is not None
    host_run(ir_lab.incident, "sh", "-c", f"printf '%s' '{APP_FIREWALL}' > /tmp/app.nft && nft -f /tmp/app.nft")
    return ir_lab.incident


def host_run(incident: LabIncident, *argv: str) -> str:
    assert incident.affected.init_pid is not None
    result = sshd.host_exec(incident.affected.init_pid, list(argv))
    assert result.returncode == 0, result.stderr
    return result.stdout


def ruleset(incident: LabIncident) -> str:
    return host_run(incident, "nft", "-s", "list", "ruleset")


@pytest.fixture
def settings(state_dir: Path, ir_lab: LabState) -> Settings:
    return settings_for(ir_lab, state_dir=state_dir)


@pytest.fixture
def app(settings: Settings) -> App:
    return App(settings)


def open_incident(app: App, verify: bool = True) -> str:
    """An insiden-siber ticket for the affected host; verified by the coordinator's approval (SOP step 2)."""
    attachments = [
        AttachmentUpload(name="layar.png", media_type="image/png", content=b"\x89PNG\r\n", kind="tangkapan_layar"),
        AttachmentUpload(name="log.txt", media_type="text/plain", content=b"log", kind="log_sistem"),
        AttachmentUpload(name="ktp.pdf", media_type="application/pdf", content=b"%PDF-1.4", kind="kartu_identitas"),
    ]
    ticket = desk.open_ticket(app, "insiden-siber", as_lab("lina"), "Situs web diretas", {
        "pelapor_nama": "Lina Marlina", "pelapor_kontak": "lina@example.go.id", "objek_terdampak": AFFECTED,
        "deskripsi": "Halaman depan diganti (defacement).", "ada_backup": True}, attachments)
    if verify:
        desk.approve(app, ticket.id, as_lab("sari"), "Laporan terverifikasi sebagai insiden siber")
    return ticket.id


def spbe(settings: Settings, *args: str) -> Result:
    """The real CLI in-process, on the test's settings (state dir, the lab's inventories)."""
    env = {"SPBE_INVENTORY": str(settings.inventory), "SPBE_NETWORK__INVENTORY": str(settings.network.inventory)}
    return Spbe(state_dir=settings.state_dir, env=env)(*args)
