"""What the Jaringan Intra end-to-end tests share: settings on the running lab, and the engineer's own
view of a switch (a netmiko session outside the toolkit's actions) to check what a ticket did to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lab.models import LabState
from tests.fixtures.lab import settings_for
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import installation_schedule
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.engine.server import run_ticket
from toolkit.network import load_inventory
from toolkit.network.refs import RefResolver
from toolkit.network.runner_factory import session_options
from toolkit.network.session import DeviceSession
from toolkit.settings import Settings

KTP = AttachmentUpload(name="ktp.pdf", media_type="application/pdf", content=b"%PDF-1.4\n%%EOF\n",
                       kind="kartu_identitas")


class _Later:
    """The wall clock moved ``by`` ahead: the engine's "now" once the agreed installation date has come."""

    def __init__(self, by: timedelta) -> None:
        self.by = by

    def now(self) -> datetime:
        return datetime.now(UTC) + self.by


def scheduled(app: App, ticket_id: str, team: str = "yusuf", requester: str = "andi") -> App:
    """SOP 001 steps 5-6: the team proposes a date half an hour ahead, the requester confirms it, nothing is
    installed before it; returns the same settings' App with its clock past that start."""
    start = datetime.now(UTC) + timedelta(minutes=30)
    installation_schedule.propose(app, ticket_id, as_lab(team), start.isoformat(),
                                  (start + timedelta(hours=1)).isoformat(), "Perangkat siap.")
    installation_schedule.confirm(app, ticket_id, as_lab(requester))
    assert run_ticket(app, ticket_id) == [], "the installation ran before its confirmed start"
    return App(app.settings, clock=_Later(timedelta(minutes=31)))


def network_settings(state_dir: object, lab: LabState, probes: int) -> Settings:
    # Merged into the lab file's [network] (its inventory, host keys, prober): only the probes are faster.
    return settings_for(lab, state_dir=state_dir,
                        network={"quality": {"probes": probes, "interval_s": 0.05, "timeout_s": 0.5}})


def device_session(settings: Settings, device: str) -> DeviceSession:
    inventory = load_inventory(settings.network.inventory_file())
    return DeviceSession(RefResolver().device(next(d for d in inventory.devices() if d.name == device)),
                         session_options(settings))


def running_config(settings: Settings, device: str) -> str:
    with device_session(settings, device) as session:
        return session.running_config()
