"""Refused containment: each a clear error with its exit code, nothing changed on any host (the ruleset is
compared), no record left open, and the attempt in the audit log."""

from __future__ import annotations

import pytest

from lab import probe
from lab.models import LabIncident, LabState
from tests.containment.conftest import AFFECTED, open_incident, ruleset, spbe
from toolkit.bootstrap import App
from toolkit.containment.service import ContainmentService
from toolkit.settings import Settings

pytestmark = pytest.mark.lab


def _refused(settings: Settings, app: App, incident: LabIncident, ticket: str, exit_code: int, needle: str,
             *args: str) -> None:
    before = ruleset(incident)
    result = spbe(settings, *args)
    assert result.exit_code == exit_code, result.output
    assert needle in result.output
    assert ruleset(incident) == before
    assert "spbe_isolation" not in before
    assert probe.http_get(incident.attacker_netns, incident.affected_address, incident.web_port, 0.5).ok
    entry = app.audit.entries(ticket)[-1]
    assert entry.action.startswith("containment.") and entry.action.endswith(".refused"), entry
    assert ContainmentService(app).list(ticket, None) == [] or all(
        r.status.value != "active" for r in ContainmentService(app).list(ticket, None))


def test_non_csirt_user_is_refused(settings: Settings, app: App, incident: LabIncident) -> None:
    ticket = open_incident(app)
    for user, needle in (("agus", "only csirt"), ("sari", "only csirt"), ("lina", "only csirt")):
        _refused(settings, app, incident, ticket, 4, needle, "contain", "host", AFFECTED, "--ticket", ticket,
                 "--as", user)
    _refused(settings, app, incident, ticket, 4, "only csirt", "release", "host", AFFECTED, "--ticket", ticket,
             "--as", "agus")


def test_unknown_user_is_refused(settings: Settings, app: App, incident: LabIncident) -> None:
    ticket = open_incident(app)
    _refused(settings, app, incident, ticket, 3, "nobody", "contain", "host", AFFECTED, "--ticket", ticket,
             "--as", "nobody")


def test_host_not_in_inventory_is_refused(settings: Settings, app: App, incident: LabIncident) -> None:
    ticket = open_incident(app)
    _refused(settings, app, incident, ticket, 3, "not in the inventory", "contain", "host", "web-99", "--ticket",
             ticket, "--as", "rina")


def test_unverified_ticket_is_refused(settings: Settings, app: App, incident: LabIncident) -> None:
    ticket = open_incident(app, verify=False)
    _refused(settings, app, incident, ticket, 5, "not verified as an incident", "contain", "host", AFFECTED,
             "--ticket", ticket, "--as", "rina")


@pytest.mark.parametrize(("mgmt", "needle"), [
    (("10.213.0.0/32",), "leave out"),            # CSIRT host only in name: the control node is left out
    (("0.0.0.0/0",), "isolate nothing"),
    (("::/0", "10.0.0.0/8"), "isolate nothing"),
    (("10.213.1.1/33",), "not a network address"),
    (("$(id)",), "not a network address"),
    (("10.0.0.1/32;reboot",), "not a network address"),
])
def test_management_list_that_locks_csirt_out_is_refused(settings: Settings, app: App, incident: LabIncident,
                                                         mgmt: tuple[str, ...], needle: str) -> None:
    ticket = open_incident(app)
    args = [arg for cidr in mgmt for arg in ("--mgmt", cidr)]
    # 10.213.0.0/32 stands for "a list without the control node's address", whatever the lab's octet.
    if mgmt == ("10.213.0.0/32",):
        args = ["--mgmt", f"{incident.csirt_address}/32"]
    _refused(settings, app, incident, ticket, 2, needle, "contain", "host", AFFECTED, "--ticket", ticket,
             "--as", "rina", *args)


def test_empty_management_list_is_refused(settings: Settings, app: App, ir_lab: LabState,
                                          incident: LabIncident) -> None:
    """pd-app-01 has no CSIRT management list in the inventory and the settings give none: refused."""
    ticket = open_incident(app)
    pd_before = ruleset(incident)
    result = spbe(settings, "contain", "host", "pd-app-01", "--ticket", ticket, "--as", "rina")
    assert result.exit_code == 2 and "empty" in result.output
    assert ruleset(incident) == pd_before
    assert app.audit.entries(ticket)[-1].action == "containment.isolate_host.refused"


@pytest.mark.parametrize("host", ["ir-web-01;reboot", "ir-web-01\nx", "../etc", "{{ lookup('pipe','id') }}",
                                  "a" * 300])
def test_injected_host_names_are_refused(settings: Settings, app: App, incident: LabIncident, host: str) -> None:
    ticket = open_incident(app)
    before = ruleset(incident)
    result = spbe(settings, "contain", "host", host, "--ticket", ticket, "--as", "rina")
    assert result.exit_code == 2, result.output
    assert "host" in result.output
    assert ruleset(incident) == before
    assert app.audit.entries(ticket)[-1].action == "containment.isolate_host.refused"


def test_release_without_prior_containment_is_refused(settings: Settings, app: App, incident: LabIncident) -> None:
    ticket = open_incident(app)
    _refused(settings, app, incident, ticket, 5, "no containment", "release", "host", AFFECTED, "--ticket", ticket,
             "--as", "rina")
    _refused(settings, app, incident, ticket, 5, "no containment", "release", "port", "sw-dinkes-01",
             "FastEthernet0/6", "--ticket", ticket, "--as", "rina")
    _refused(settings, app, incident, ticket, 3, "does not exist", "release", "record", "C999", "--ticket", ticket,
             "--as", "rina")
