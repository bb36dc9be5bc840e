"""Jaringan Intra when things go wrong: bad ticket fields never reach a device, and a device changed by
hand after the analysis is not overwritten while the ticket says which devices were left untouched.
(A push refused mid-way by a device, and the rollback of the others, is tested on the switches in
tests/network/test_device_lab.py.)"""

from __future__ import annotations

import pytest

from tests.e2e.network_support import KTP, device_session, network_settings, running_config, scheduled
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.domain.tickets.models import EventKind
from toolkit.engine.server import run_ticket
from toolkit.ports.jobs import JobState
from toolkit.settings import Settings

pytestmark = [pytest.mark.lab, pytest.mark.slow]

FIELDS = {"instansi": "Badan Kepegawaian Daerah", "lokasi": "bkd", "jumlah_user": "4", "aplikasi": "simpeg",
          "kontak_email": "it@bkd.example.go.id"}


@pytest.fixture
def net_settings(state_dir, lab) -> Settings:  # type: ignore[no-untyped-def]
    return network_settings(state_dir, lab, probes=3)


def _approved(app: App, fields: dict[str, str]) -> str:
    ticket = desk.open_ticket(app, "jaringan-intra", as_lab("budi"), "Jaringan intra BKD", fields, [KTP])
    desk.check(app, ticket.id, as_lab("sari"))
    desk.approve(app, ticket.id, as_lab("kadis"), "Disetujui.")
    return ticket.id


@pytest.mark.parametrize("aplikasi", ["simpeg; reload", "simpeg\nend", "$(reboot)", "{{ 7*7 }}", "../etc/passwd",
                                      "simpeg," + "x" * 5000, "aplikasi-tidak-ada"])
def test_bad_application_field_never_reaches_a_device(lab, net_settings: Settings, aplikasi: str) -> None:
    app = App(net_settings)
    before = running_config(net_settings, "sw-bkd-01")
    try:
        ticket_id = _approved(app, FIELDS | {"aplikasi": aplikasi})
    except Exception as exc:  # noqa: BLE001 - refused already at opening is fine, if it is a clear ToolkitError
        from toolkit.errors import InvalidInputError

        assert isinstance(exc, InvalidInputError), exc  # noqa: PT017 - two outcomes are right here
        return
    jobs = run_ticket(app, ticket_id)
    assert [(j.step_id, j.state) for j in jobs] == [("analisis-kebutuhan", JobState.FAILED)]
    assert "aplikasi" in (jobs[0].error or "")
    failed = [e for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.STEP_FAILED]
    assert failed and "aplikasi" in failed[-1].text
    assert running_config(net_settings, "sw-bkd-01") == before


def test_device_changed_by_hand_after_analysis_is_not_overwritten(lab, net_settings: Settings) -> None:
    app = App(net_settings)
    ticket_id = _approved(app, FIELDS)
    (job,) = run_ticket(app, ticket_id)
    assert job.state == JobState.SUCCEEDED, job.error
    port = job.result["facts"]["network"]["analysis"]["ports"]["sw-bkd-01"][0]
    with device_session(net_settings, "sw-bkd-01") as session:  # someone edits the port by hand meanwhile
        session.send_config([f"interface {port}", " description diubah manual", " exit"])
    before = running_config(net_settings, "sw-bkd-01")
    desk.approve(app, ticket_id, as_lab("kadis"), "Rencana disetujui.")
    app = scheduled(app, ticket_id, requester="budi")
    jobs = run_ticket(app, ticket_id)
    assert [(j.step_id, j.state) for j in jobs] == [("pemasangan-jaringan", JobState.FAILED)]
    assert "changed since the analysis" in (jobs[0].error or jobs[0].result["summary"])
    assert running_config(net_settings, "sw-bkd-01") == before
    comment = [e.text for e in app.tickets.timeline(ticket_id) if e.kind == EventKind.STEP_FAILED][-1]
    assert "sw-bkd-01" in comment and "tidak disentuh" in comment
