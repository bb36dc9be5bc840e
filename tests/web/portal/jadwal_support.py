"""The portal with the schedule tests' ``uji-jadwal`` service (tests/commands/jadwal_catalog): the packaged
catalog plus that service, whose installation is the counting test action, served for real as the other
portal tests are; Yusuf (the Jaringan Intra team) has an account beside the usual test people."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.clock import ManualClock
from tests.support.principals import as_lab
from tests.web.portal.conftest import Served, add_accounts, catalog_dir, portal_settings, running
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain import install_schedule

JADWAL = Path(__file__).resolve().parents[2] / "commands" / "jadwal_catalog" / "uji-jadwal.yaml"


def jadwal_app(state_dir: Path, clock: ManualClock | None = None) -> App:
    shutil.copy(JADWAL, catalog_dir(state_dir.parent))
    return App(portal_settings(state_dir)) if clock is None else App(portal_settings(state_dir), clock=clock)


@contextmanager
def serving(app: App) -> Iterator[Served]:
    with running(app) as served:
        add_accounts(app, served.accounts, ("yusuf",))
        yield served


def approved(app: App) -> str:
    """A ``uji-jadwal`` request by Andi, checked and approved: the team's preparation step is current."""
    ticket = desk.open_ticket(app, "uji-jadwal", as_lab("andi"), "Pemasangan jaringan", {"instansi": "Dinkes"}, [])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Setuju.")
    return ticket.id


def wita(days: float) -> datetime:
    """``days`` from now in the service's zone, to the minute (what a ``datetime-local`` input holds)."""
    moment = (datetime.now(UTC) + timedelta(days=days)).astimezone(install_schedule.zone_of(None))
    return moment.replace(second=0, microsecond=0)


def typed(moment: datetime) -> str:
    """As the browser sends a ``datetime-local`` value: naive, to the minute."""
    return moment.replace(tzinfo=None).isoformat(timespec="minutes")


def shown(moment: datetime) -> str:
    """As the ticket page writes it: ``10-12-2026 09:00 WITA``."""
    return f"{moment:%d-%m-%Y %H:%M} WITA"
