"""Closing: only through `close`, and re-entrant when the status change did not happen."""

from __future__ import annotations

import pytest

from tests.engine.helpers import approved_ticket
from tests.support.principals import as_lab
from toolkit.commands import desk
from toolkit.domain.tickets.models import EventKind, TicketStatus
from toolkit.engine.server import run_ticket
from toolkit.errors import ConflictError
from toolkit.ports.jobs import JobState


def test_the_closing_step_cannot_be_recorded_as_a_plain_step(engine_app):
    ticket_id = approved_ticket(engine_app)
    run_ticket(engine_app, ticket_id)
    with pytest.raises(ConflictError, match="spbe ticket close"):
        desk.record_step(engine_app, ticket_id, as_lab("sari"), "penutupan", "selesai")
    assert engine_app.tickets.get(ticket_id).status == TicketStatus.IN_PROGRESS


def test_close_finishes_after_a_failed_status_change(engine_app, monkeypatch):
    ticket_id = approved_ticket(engine_app)
    run_ticket(engine_app, ticket_id)
    real = engine_app.tickets.transition

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        from toolkit.errors import UnavailableError

        raise UnavailableError("ticket store unavailable: mid-close")

    monkeypatch.setattr(engine_app.tickets, "transition", broken)
    with pytest.raises(Exception, match="mid-close"):
        desk.close(engine_app, ticket_id, as_lab("sari"), "Selesai.")
    monkeypatch.setattr(engine_app.tickets, "transition", real)
    desk.close(engine_app, ticket_id, as_lab("sari"), "Selesai.")
    assert engine_app.tickets.get(ticket_id).status == TicketStatus.CLOSED
    jobs = run_ticket(engine_app, ticket_id)
    assert [(j.step_id, j.state) for j in jobs] == [("notifikasi", JobState.SUCCEEDED)]
    closes = [e for e in engine_app.tickets.timeline(ticket_id)
              if e.kind == EventKind.STEP_COMPLETED and e.step_id == "penutupan"]
    assert len(closes) == 1
