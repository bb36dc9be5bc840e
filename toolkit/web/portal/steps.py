"""Which of the SOP's human steps a viewer is offered on a ticket's page, and how a refusal is shown.

The offers mirror the policy (`toolkit.domain.policy`) and the commands' own preconditions
(`desk.record_step`, `desk.close`, `incident.decide`, `desk.assign`, `revision.cancel`), so a person
sees only the forms they may use. They are a courtesy, never the check: every route calls the command,
which asks the policy again, and a forged POST is refused there exactly as from the CLI.

A refused form is drawn again with what was typed and each problem next to its input (`FormErrors`);
the inputs are named as the commands name their fields (``note``, ``reason``, ``assignee``, a decided
field's own name), so a command's ``(field, problem)`` pairs land next to the right input unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from toolkit.domain import decisions
from toolkit.domain.catalog.models import Service, Step, StepKind, StepPurpose
from toolkit.domain.confidentiality import reporter_confidential
from toolkit.domain.tickets.models import Ticket, TicketStatus
from toolkit.domain.workflow import StepStatus
from toolkit.engine.services import EngineServices
from toolkit.errors import InvalidInputError
from toolkit.web.portal import forms
from toolkit.web.portal.views import TicketView
from toolkit.web.portal.web import Viewer

REQUIRED = {"required": "Wajib diisi.", "empty": "Pilih paling sedikit satu keputusan."}
# Steps done through a form of their own, never "record as done": the check, the closing, and the
# jadwal pelaksanaan's proposal and confirmation (routes_schedule.py; proposing completes step 5).
_OWN_FORM = (StepPurpose.COMPLETENESS_CHECK, StepPurpose.CLOSING, StepPurpose.SCHEDULE_PROPOSAL,
             StepPurpose.SCHEDULE_CONFIRMATION)


@dataclass(frozen=True)
class FormErrors:
    """A refused form: which one (``form``), the problem per input, problems of no input, what was typed."""

    form: str
    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, form: str, exc: InvalidInputError, values: Mapping[str, str], known: Iterable[str]) -> FormErrors:
        """``exc``'s ``(field, problem)`` pairs next to the inputs named in ``known``; the rest as general."""
        names = set(known)
        by_field: dict[str, str] = {}
        general: list[str] = []
        for name, problem in exc.details.get("errors", []) or []:
            key = str(name).split(".")[0]
            text = REQUIRED.get(str(problem), str(problem))
            if key in names:
                by_field.setdefault(key, text)
            else:
                general.append(f"{key}: {text}")
        if not by_field and not general:
            general.append(exc.message)
        return cls(form=form, fields=by_field, general=general, values=dict(values))


@dataclass(frozen=True)
class Decision:
    """A branch point the viewer may decide now: the deciding step and one input per decided field."""

    step: Step
    inputs: list[forms.Input]


@dataclass(frozen=True)
class Offers:
    record: Step | None  # the current human step the viewer may record as done
    close: Step | None  # the closing step, when it is current and the viewer's
    decisions: list[Decision]
    assignees: list[tuple[str, str]]  # (username, name) the viewer may forward the ticket to; [] if not theirs
    cancel: bool
    contain: bool  # a CSIRT member on an incident: the containment page is theirs

    @property
    def any(self) -> bool:
        return bool(self.record or self.close or self.decisions or self.assignees or self.cancel or self.contain)


def router_step(service: Service) -> Step | None:
    """Whose the ticket is to route and cancel: the completeness check's role, else the closing step's."""
    return service.step_with(StepPurpose.COMPLETENESS_CHECK) or service.step_with(StepPurpose.CLOSING)


def _may_cancel(service: Service, view: TicketView, viewer: Viewer) -> bool:
    router = router_step(service)
    if not view.mine and (router is None or router.actor not in viewer.roles):
        return False
    approval = next((i for i, s in enumerate(service.steps) if s.kind is StepKind.APPROVAL), None)
    current = service.index_of(view.current.id) if view.current is not None else len(service.steps)
    return approval is not None and current <= approval and view.ticket.status is not TicketStatus.IN_PROGRESS


def _decisions(service: Service, view: TicketView, viewer: Viewer, values: Mapping[str, str]) -> list[Decision]:
    """The deciding steps of the viewer's roles whose branch the procedure has not gone past (as
    `incident.decide` checks), each field shown with its effective value."""
    out = []
    effective = decisions.effective_fields(view.ticket.fields, view.timeline)
    states = view.state.steps
    for index, step in enumerate(service.steps):
        if not step.decides or step.actor not in viewer.roles:
            continue
        if view.state.state_of(step.id).status is StepStatus.DONE:
            continue
        if any(s.status is StepStatus.DONE for s in states[index + 1:]):
            continue
        current = {name: _shown(effective.get(name)) for name in step.decides} | dict(values)
        specs = [service.requirements.field(name) for name in step.decides]
        out.append(Decision(step=step, inputs=[_input(spec, current) for spec in specs]))
    return out


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    return "" if value is None else str(value)


def _input(spec: object, current: Mapping[str, str]) -> forms.Input:
    single = forms.inputs_for([spec], current)  # type: ignore[list-item]
    return single[0]


def assignees(app: EngineServices, service: Service) -> list[tuple[str, str]]:
    """Who a ticket may be forwarded to: for an incident, the CSIRT (the containment roles, as the
    policy's `authorize_containment` reads an assignment); otherwise the people of the service's staff steps."""
    if service.incident is not None or reporter_confidential(service):
        roles: set[str] = set(app.policy.containment_roles)
    else:
        roles = {s.actor for s in service.steps} - set(app.policy.applicant_roles)
    people = {p.username: p.name for role in sorted(roles) for p in app.directory.people_with_role(role)}
    return sorted(people.items(), key=lambda item: item[1])


def offers(app: EngineServices, viewer: Viewer, view: TicketView, values: Mapping[str, str] | None = None) -> Offers:
    """What this viewer may do on this ticket now (the forms the page draws)."""
    service = view.service
    ticket: Ticket = view.ticket
    if ticket.status is TicketStatus.CLOSED:
        return Offers(None, None, [], [], False, False)
    step = view.current
    record = (step if step is not None and step.kind is StepKind.HUMAN and step.actor in viewer.roles
              and step.purpose not in _OWN_FORM else None)
    closing = service.step_with(StepPurpose.CLOSING)
    close = closing if closing is not None and step is not None and step.id == closing.id \
        and closing.actor in viewer.roles else None
    router = router_step(service)
    routes = router is not None and router.actor in viewer.roles
    contain = bool(viewer.roles & set(app.policy.containment_roles)) and service.incident is not None
    return Offers(record=record, close=close, decisions=_decisions(service, view, viewer, values or {}),
                  assignees=assignees(app, service) if routes else [], cancel=_may_cancel(service, view, viewer),
                  contain=contain)
