"""A CSIRT member isolates a host from the portal and releases it, proven by traffic on the lab: the
attacker loses the affected web server while contained, and release gives back the exact ruleset.
Needs the incident lab (`tests.containment.conftest.ir_lab`, started from the session's lab manager)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from lab import probe
from lab.models import LabIncident, LabState
from tests.containment.conftest import AFFECTED, incident, ir_lab, open_incident, ruleset  # noqa: F401 - fixtures
from tests.fixtures.browser import Screenshot
from tests.fixtures.lab import settings_for
from tests.web.portal.conftest import FAST_ARGON2, Served, running
from tests.web.portal.test_browser_flow import login
from toolkit.bootstrap import App
from toolkit.containment.models import ContainmentStatus
from toolkit.containment.service import ContainmentService

pytestmark = pytest.mark.lab


@pytest.fixture
def on_lab(state_dir: Path, ir_lab: LabState) -> Iterator[Served]:  # noqa: F811 - the imported fixture
    with running(App(settings_for(ir_lab, state_dir=state_dir, accounts=FAST_ARGON2))) as served:
        yield served


def attacker_reaches_web(lab_incident: LabIncident) -> bool:
    return probe.http_get(lab_incident.attacker_netns, lab_incident.affected_address, lab_incident.web_port, 0.5).ok


def test_a_csirt_member_isolates_a_host_and_releases_it_from_the_portal(
        page: Page, on_lab: Served, incident: LabIncident, screenshot: Screenshot) -> None:  # noqa: F811
    before = ruleset(incident)
    assert attacker_reaches_web(incident)
    ticket_id = open_incident(on_lab.app)  # verified by the koordinator's approval (SOP step 2)
    login(page, on_lab, "rina")
    page.goto(f"{on_lab.url}/tiket/{ticket_id}/penahanan")
    page.get_by_label("Nama host (inventaris)").fill(AFFECTED)
    page.locator("#h-host-alasan").fill("Defacement: putus akses penyerang.")
    page.get_by_role("button", name="Isolasi host").click()
    expect(page.get_by_role("status")).to_contain_text("Penahanan (containment) diterapkan")
    screenshot(page, "01-host-diisolasi")
    (record,) = ContainmentService(on_lab.app).list(ticket_id)
    assert record.status is ContainmentStatus.ACTIVE and record.actor == "rina"
    assert not attacker_reaches_web(incident)
    page.get_by_label("Catatan penahanan yang dilepas").select_option(record.id)
    page.locator("#l-alasan").fill("Host sudah dibersihkan.")
    page.get_by_role("button", name="Lepaskan").click()
    expect(page.get_by_role("status")).to_contain_text("Penahanan dilepas")
    screenshot(page, "02-penahanan-dilepas")
    assert ContainmentService(on_lab.app).list(ticket_id)[0].status is ContainmentStatus.RELEASED
    assert ruleset(incident) == before and attacker_reaches_web(incident)
