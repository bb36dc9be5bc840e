"""Refusals of `spbe evidence collect` that need no host: each audited, nothing created."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.actions.test_incident_workflow import LETTER, SURAKARTA
from tests.support.principals import as_lab
from toolkit.bootstrap import App
from toolkit.commands import desk
from toolkit.commands.evidence import collect_for_ticket
from toolkit.domain.tickets.models import TicketStatus
from toolkit.errors import ConflictError, PermissionDeniedError
from toolkit.evidence import bundle as bundles
from toolkit.settings import load_settings


@pytest.fixture
def app(state_dir: Path) -> App:
    return App(load_settings(state_dir=state_dir))


def test_refusals_are_audited_and_change_nothing(app: App) -> None:
    ticket = desk.open_ticket(app, "keamanan-informasi", as_lab("kabid"), "Defacement", SURAKARTA, [LETTER])
    with pytest.raises(PermissionDeniedError):
        collect_for_ticket(app, ticket.id, as_lab("maya"))
    app.tickets.transition(ticket.id, TicketStatus.CLOSED, "sari")
    events = len(app.tickets.timeline(ticket.id))
    with pytest.raises(ConflictError, match="is closed"):
        collect_for_ticket(app, ticket.id, as_lab("rina"))
    refused = [e for e in app.audit.entries(ticket_id=ticket.id) if e.action == "evidence.refused"]
    assert [e.actor for e in refused] == ["maya", "rina"]
    assert len(app.tickets.timeline(ticket.id)) == events
    assert list(bundles.evidence_root(app.settings.state_dir).glob("EV-*")) == []
