"""The catalog actions containment.isolate_host and containment.inspect, as a worker runs them: the
person whose decision preceded the step must be CSIRT; the target is the ticket's objek_terdampak."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import probe
from lab.models import LabIncident
from tests.containment.conftest import AFFECTED, open_incident, ruleset
from toolkit.actions.base import RunContext
from toolkit.at_rest import open_artifact
from toolkit.bootstrap import App
from toolkit.containment.models import ContainmentKind, ReleaseRequest
from toolkit.containment.service import ContainmentService
from toolkit.domain.principal import AuthMethod
from toolkit.domain.tickets.models import EventKind, NewEvent
from toolkit.engine import scheduler
from toolkit.errors import PermissionDeniedError

pytestmark = pytest.mark.lab


def _run(app: App, tmp_path: Path) -> RunContext:
    lines: list[str] = []
    return RunContext(job_id=1, attempt=1, log=lines.append, should_cancel=lambda: False, work_dir=tmp_path,
                      mask=app.masker, services=app)


def test_isolate_action_after_a_csirt_decision(app: App, incident: LabIncident, tmp_path: Path) -> None:
    ticket = open_incident(app)
    action = app.actions.get("containment.isolate_host")
    assert action is not None
    # The last decision is the coordinator's verification: not a CSIRT member, so the job is refused.
    ctx = scheduler.action_context(app, ticket, "penanganan-insiden")
    plan = action.plan(ctx)
    assert plan.request.actor == "sari" and plan.request.host == AFFECTED
    before = ruleset(incident)
    with pytest.raises(PermissionDeniedError):
        action.execute(ctx, plan, _run(app, tmp_path))
    assert ruleset(incident) == before
    assert app.audit.entries(ticket)[-1].action == "containment.isolate_host.refused"

    # The CSIRT's mitigation strategy is recorded (as `spbe ticket step` would): the action isolates.
    app.tickets.post(ticket, NewEvent(kind=EventKind.STEP_COMPLETED, actor="rina", step_id="strategi-mitigasi",
                                      text="Strategi mitigasi: isolasi host."))
    ctx = scheduler.action_context(app, ticket, "penanganan-insiden")
    result = action.execute(ctx, action.plan(ctx), _run(app, tmp_path))
    assert result.ok and "Penahanan: isolasi host" in result.comment
    assert not probe.http_get(incident.attacker_netns, incident.affected_address, incident.web_port, 0.5).ok
    assert probe.ssh_banner(incident.csirt_netns, incident.affected_address).ok

    inspect = app.actions.get("containment.inspect")
    assert inspect is not None
    ctx = scheduler.action_context(app, ticket, "pemeriksaan-objek")
    report = inspect.execute(ctx, inspect.plan(ctx), _run(app, tmp_path))
    assert report.ok and report.facts.isolated == "ya"
    stored = report.artifacts[0].path.read_bytes()  # encrypted at rest; the outbox attaches it in clear
    assert b"spbe_isolation" not in stored
    assert "spbe_isolation" in open_artifact(stored, app.settings, report.artifacts[0].name).decode()

    ContainmentService(app).release(ReleaseRequest(ticket_id=ticket, actor="rina", auth=AuthMethod.LAB_AS,
                                                   kind=ContainmentKind.ISOLATE_HOST,
                                                   target=AFFECTED))
    assert ruleset(incident) == before
