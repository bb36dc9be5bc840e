"""What the Jaringan Intra end-to-end tests share: settings on the running lab, and the engineer's own
view of a switch (a netmiko session outside the toolkit's actions) to check what a ticket did to it."""

from __future__ import annotations

from lab.models import LabState
from toolkit.network import load_inventory
from toolkit.network.refs import RefResolver
from toolkit.network.session import DeviceSession
from toolkit.settings import Settings, load_settings
from toolkit.tickets.models import AttachmentUpload

KTP = AttachmentUpload(name="ktp.pdf", media_type="application/pdf", content=b"%PDF-1.4\n%%EOF\n",
                       kind="kartu_identitas")


def network_settings(state_dir: object, lab: LabState, probes: int) -> Settings:
    return load_settings(state_dir=state_dir, inventory=lab.inventory, lab_dir=lab.lab_dir, lab_name=lab.name,
                         network={"quality": {"probes": probes, "interval_s": 0.05, "timeout_s": 0.5}})


def device_session(settings: Settings, device: str) -> DeviceSession:
    inventory = load_inventory(settings.network.inventory)
    return DeviceSession(RefResolver.from_lab_dir(settings.lab_dir, settings.lab_name).device(
        next(d for d in inventory.devices() if d.name == device)))


def running_config(settings: Settings, device: str) -> str:
    with device_session(settings, device) as session:
        return session.running_config()
