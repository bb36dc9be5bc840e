"""What the Jaringan Intra end-to-end tests share: settings on the running lab, and the engineer's own
view of a switch (a netmiko session outside the toolkit's actions) to check what a ticket did to it."""

from __future__ import annotations

from lab.models import LabState
from tests.fixtures.lab import settings_for
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.network import load_inventory
from toolkit.network.refs import RefResolver
from toolkit.network.runner_factory import session_options
from toolkit.network.session import DeviceSession
from toolkit.settings import Settings

KTP = AttachmentUpload(name="ktp.pdf", media_type="application/pdf", content=b"%PDF-1.4\n%%EOF\n",
                       kind="kartu_identitas")


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
