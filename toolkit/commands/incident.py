"""Recording a branch decision of an SOP (see `toolkit.domain.decisions`), with its audit and timeline entry.

Who may decide is the catalog's answer: the actor role of the step that lists the field in
``decides``. A decision is allowed until that step is done or, for a step the branch skipped, until a
later step is done (a branch can be revised while the procedure has not gone past it). The timeline
entry says what changed and, when the decision moves the SLA (outside help adds seven days; no backup
is 72 hours, not 48), the new total, so the ticket records which total applies and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolkit.commands.desk import _reason
from toolkit.domain import decisions
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.models import EventKind, NewEvent, Ticket, TicketStatus
from toolkit.domain.workflow import StepStatus
from toolkit.engine import scheduler
from toolkit.engine.progress import progress
from toolkit.engine.services import EngineServices
from toolkit.errors import ConflictError


def decide(app: EngineServices, ticket_id: str, principal: Principal, raw: Mapping[str, Any],
           reason: str | None) -> Ticket:
    text_reason = _reason(reason, "a decision")
    ticket = app.tickets.get(ticket_id)
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(f"ticket {ticket_id} is closed", ticket=ticket_id)
    service = app.catalog.get(ticket.service_id)
    clean = decisions.validate(service, raw)
    steps = {name: decisions.deciding_step(service, name) for name in clean}  # InvalidInputError first
    person = app.policy.authorize_decision(principal, service, clean)
    actor = principal.user
    timeline = list(app.policy.trusted(service, ticket, app.tickets.timeline(ticket_id)).events)
    before = progress(service, ticket, timeline, app.queue, app.policy)
    for name, step in steps.items():
        if before.state_of(step.id).status == StepStatus.DONE:
            raise ConflictError(f"step {step.id} is done; '{name}' can no longer be changed", ticket=ticket_id)
        passed = [s.step.id for s in before.steps[service.index_of(step.id) + 1:] if s.status == StepStatus.DONE]
        if passed:  # the procedure already went past this branch point (a skipped step is never "done")
            raise ConflictError(f"'{name}' can no longer be changed: step {passed[0]} after {step.id} is done",
                                ticket=ticket_id)
    current = decisions.effective_fields(ticket.fields, timeline)
    changes = [{"label": service.requirements.field(n).label, "sebelum": current.get(n), "sesudah": v}
               for n, v in clean.items()]
    after_fields = current | clean
    variant = service.sla.select(after_fields)
    text = str(app.renderer.render("comments", "keputusan", {
        "nama": person.name, "perubahan": changes, "alasan": text_reason,
        "sla_berubah": variant.id != before.sla.variant_id, "sla": {"id": variant.id, "label": variant.label},
    }))
    data: dict[str, Any] = {decisions.DECISIONS: clean, "reason": text_reason,
                            "steps": sorted({step.id for step in steps.values()}), "sla_variant": variant.id}
    app.tickets.post(ticket_id, NewEvent(kind=EventKind.COMMENT, actor=actor, text=text, data=data))
    app.audit.append(actor, "ticket.decide", ticket_id,
                     {"decisions": clean, "reason": text_reason, "sla_variant": variant.id} | principal.audit_data())
    scheduler.advance(app, ticket_id)
    return app.tickets.get(ticket_id)
