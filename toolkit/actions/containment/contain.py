"""The catalog's containment actions: ``containment.isolate_host`` and ``containment.inspect``.

As workflow steps they run in a worker, so "who contains" is the person whose decision made the step
current: the actor of the ticket's latest approval / completed step / completeness check who is a person
of the directory (not the engine). The same policy as the CLI applies: that person must hold a
containment role (csirt) and the ticket must be a verified incident; a refusal fails the job, is audited
and is reported on the ticket. The target is the ticket's ``objek_terdampak`` field (a validated hostname),
which must be an inventory host. The ticket comment is the action's result (the worker posts it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

from toolkit.actions.base import (
    ActionContext,
    ActionFacts,
    ActionPlan,
    ActionResult,
    BaseAction,
    RunContext,
    ticket_inputs,
)
from toolkit.containment.models import HostName, IsolateHostRequest, TicketId
from toolkit.containment.service import ContainmentService
from toolkit.domain.policy import COMPLETING_KINDS
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.domain.tickets.models import Username
from toolkit.errors import InvalidInputError, NotFoundError, PermissionDeniedError

TARGET_FIELD = "objek_terdampak"


def trigger_actor(ctx: ActionContext) -> str:
    """The person whose decision started this step (see the module docstring).

    A ticket the koordinator forwarded to the CSIRT ("meneruskan tiket ke tim CSIRT": assigned to a
    member) is acted on by that assignee, whoever recorded the last decision.
    """
    allowed = set(ctx.settings.containment.effective_roles(ctx.roles))
    if ctx.ticket.assignee:
        try:
            if ctx.directory.person(ctx.ticket.assignee).roles & allowed:
                return ctx.ticket.assignee
        except NotFoundError:
            pass
    for event in reversed(ctx.timeline):
        if event.kind in COMPLETING_KINDS:
            try:
                ctx.directory.person(event.actor)
            except NotFoundError:
                continue  # the engine's own entries (step results) are not decisions of a person
            return event.actor
    raise PermissionDeniedError(f"ticket {ctx.ticket.id}: no person's decision precedes step {ctx.step.id}")


def _target(ctx: ActionContext) -> str:
    host = ctx.ticket.fields.get(TARGET_FIELD)
    if not isinstance(host, str) or not host:
        raise InvalidInputError(f"ticket {ctx.ticket.id} names no affected object ({TARGET_FIELD})",
                                errors=[(TARGET_FIELD, "required")])
    return host


class IsolatePlan(ActionPlan):
    action: Literal["containment.isolate_host"] = "containment.isolate_host"
    request: IsolateHostRequest


class IsolateFacts(ActionFacts):
    containment: dict[str, Any]
    applied: dict[str, Any]


class InspectPlan(ActionPlan):
    action: Literal["containment.inspect"] = "containment.inspect"
    ticket_id: TicketId
    actor: Username
    host: HostName


class InspectFacts(ActionFacts):
    host: str
    isolated: str


class _ContainmentAction(BaseAction):
    def inputs(self, ctx: ActionContext) -> Mapping[str, Any]:
        """Besides the fields: who the step is done for (the assignee decides who contains)."""
        return {**ticket_inputs(ctx), "assignee": ctx.ticket.assignee}


class IsolateHostAction(_ContainmentAction):
    """SOP step 'isolasi objek terdampak' / 'pemindahan aset dari jaringan lokal'."""

    name = "containment.isolate_host"
    Plan = IsolatePlan
    Facts = IsolateFacts

    def plan(self, ctx: ActionContext) -> IsolatePlan:
        return IsolatePlan(request=IsolateHostRequest(
            ticket_id=ctx.ticket.id, actor=trigger_actor(ctx), auth=AuthMethod.ENGINE, host=_target(ctx),
            reason=f"Langkah SOP: {ctx.step.title}"))

    def execute(self, ctx: ActionContext, plan: IsolatePlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        service = ContainmentService(run.services, run.log, post_comments=False)
        record = service.isolate_host(plan.request)
        return ActionResult(
            ok=True, summary=f"{record.target} isolated (record {record.id})", comment=service.last_comment,
            facts=IsolateFacts(containment=record.summary(), applied=record.applied),
            changed=[f"{record.target}: isolation table"] if record.applied.get("changed") else [],
            duration_s=time.monotonic() - started)


class InspectAction(_ContainmentAction):
    """SOP step 'pemeriksaan terhadap objek yang terdampak': the host's state, read-only, on the ticket."""

    name = "containment.inspect"
    Plan = InspectPlan
    Facts = InspectFacts

    def plan(self, ctx: ActionContext) -> InspectPlan:
        return InspectPlan(ticket_id=ctx.ticket.id, actor=trigger_actor(ctx), host=_target(ctx))

    def execute(self, ctx: ActionContext, plan: InspectPlan, run: RunContext) -> ActionResult:
        started = time.monotonic()
        service = ContainmentService(run.services, run.log, post_comments=False)
        principal = Principal(user=plan.actor, auth=AuthMethod.ENGINE)
        state = service.inspect_host(plan.ticket_id, principal, plan.host)
        sections = [f"## {key}\n\n```\n{value.strip() or '-'}\n```\n" for key, value in state.items()]
        report = run.write_artifact(f"pemeriksaan-{plan.host}-job{run.job_id}.md",
                                    f"# Pemeriksaan objek terdampak: {plan.host}\n\n" + "\n".join(sections),
                                    kind="pemeriksaan_objek")
        listening = [line for line in state.get("listening", "").splitlines() if line.strip()]
        comment = (f"**{ctx.step.title}**\n\nHasil pemeriksaan host {plan.host}: {len(listening)} soket "
                   f"mendengarkan, diisolasi: {state.get('isolated', '-').strip() or '-'}. "
                   "Rincian (ruleset firewall, soket, proses, pengguna yang masuk) terlampir.\n")
        return ActionResult(ok=True, summary=f"{plan.host} inspected", comment=comment,
                            facts=InspectFacts(host=plan.host, isolated=state.get("isolated", "").strip()),
                            artifacts=[report],
                            duration_s=time.monotonic() - started)
