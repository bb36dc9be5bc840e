"""Compliance runs, the command: sweep a profile, keep the run, turn new failures into Audit TI tickets.

Who may ask: a person holding a role with the ``runs-compliance-checks`` trait (`spbe compliance run`), or
spbe's engine when a schedule fires (`ScheduleRunner`). Either way the sweep only reads; what changes a
target is the Audit TI ticket's remediation step, which runs only after the role the catalog names
approved the plan attached to the ticket.

**One ticket per target and profile** (issue 14, point 4). A target with failures no waiver excuses gets
an Audit TI ticket unless one for the same (profile, target) is still open: then the open one gets a
comment with the run's findings instead. A finding that comes back after its ticket closed opens a new
ticket whose ``tiket_sebelumnya`` names the last closed one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from toolkit.compliance.runner import ComplianceKit, sweep
from toolkit.domain.catalog.models import Service
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.principal import ENGINE_USER, Principal
from toolkit.domain.tickets.models import EventKind, NewEvent, Ticket, TicketDraft, TicketStatus
from toolkit.engine import scheduler
from toolkit.engine.services import EngineServices
from toolkit.errors import ConfigurationError, NotFoundError, PermissionDeniedError, ToolkitError
from toolkit.ports.compliance_records import ComplianceRun, TargetRecord
from toolkit.ports.schedule_records import RunResult, Schedule

OPERATION = "run compliance checks"


class RunReport(BaseModel):
    """What a run did: the run as stored, and per target with failures the ticket that carries them."""
    model_config = ConfigDict(frozen=True)
    run: ComplianceRun
    tickets: dict[str, str]  # target -> ticket id (new or still open)
    opened: tuple[str, ...]  # the ticket ids opened by this run


def _authorise(app: EngineServices, principal: Principal, profile: str) -> None:
    if principal == Principal.engine():
        return
    roles = sorted(app.catalog.roles.with_trait(RoleTrait.RUNS_COMPLIANCE_CHECKS))
    try:
        if not roles:
            raise PermissionDeniedError(f"no role may {OPERATION}: give one the trait 'runs-compliance-checks'",
                                        user=principal.user)
        app.policy.authorize_role(principal, roles, OPERATION)
    except (PermissionDeniedError, NotFoundError) as exc:
        app.audit.append(principal.user, "compliance.run.refused", None,
                         {"profile": profile, "reason": app.masker(str(exc)), **principal.audit_data()})
        if isinstance(exc, PermissionDeniedError):
            raise
        raise PermissionDeniedError(str(exc), user=principal.user) from exc


def audit_service(app: EngineServices) -> Service:
    """The catalog's service for compliance findings: the one whose ``compliance.engine_opens`` is set
    (Audit TI in the packaged catalog); the core names no service."""
    found = [s for s in app.catalog.services() if s.compliance is not None and s.compliance.engine_opens]
    if len(found) != 1:
        raise ConfigurationError(f"the catalog must have exactly one service with compliance.engine_opens "
                                 f"(found {len(found)}): compliance findings have nowhere to go")
    return found[0]


def _audit_tickets_by_target(app: EngineServices, service: Service, profile: str) -> dict[str, list[Ticket]]:
    """The profile's Audit TI tickets by target, oldest first; one read of the ticket system."""
    found: dict[str, list[Ticket]] = {}
    for ticket in app.tickets.list_tickets(service_id=service.id):
        if ticket.fields.get("profil") == profile:
            found.setdefault(str(ticket.fields.get("target")), []).append(ticket)
    return found


def audit_tickets(app: EngineServices, profile: str, target: str) -> list[Ticket]:
    """The Audit TI tickets of one (profile, target), oldest first."""
    return _audit_tickets_by_target(app, audit_service(app), profile).get(target, [])


def _summary(record: TargetRecord) -> str:
    lines = [f"{r.rule_id} ({r.severity}): {r.title}" for r in record.failing()]
    return "\n".join(lines)[:3900]


def _findings_comment(app: EngineServices, run: ComplianceRun, record: TargetRecord, *, again: bool) -> str:
    return str(app.renderer.render("comments", "temuan_kepatuhan", {
        "run": {"id": run.id, "profil": run.profile, "waktu": run.started_at}, "target": record.target,
        "temuan": [r.model_dump() for r in record.failing()], "galat": [r.model_dump() for r in record.errors()],
        "tidak_terjangkau": record.unreachable, "berulang": again}))


def open_findings(app: EngineServices, run: ComplianceRun) -> tuple[dict[str, str], list[str]]:
    """Open (or comment on) one Audit TI ticket per target with unwaived failures."""
    engine = Principal.engine()
    service = audit_service(app)
    app.policy.authorize_engine_open(engine, service)
    tickets: dict[str, str] = {}
    opened: list[str] = []
    failing = [record for record in run.targets if record.failing()]
    known = _audit_tickets_by_target(app, service, run.profile) if failing else {}
    for record in failing:
        mine = known.get(record.target, [])
        still_open = [t for t in mine if t.status != TicketStatus.CLOSED]
        if still_open:
            ticket = still_open[-1]
            app.tickets.post(ticket.id, NewEvent(
                kind=EventKind.COMMENT, actor=ENGINE_USER, text=_findings_comment(app, run, record, again=True),
                data={"compliance_run": run.id}, dedupe_key=f"{ticket.id}:compliance-run:{run.id}"))
            tickets[record.target] = ticket.id
            continue
        previous = mine[-1].id if mine else None
        fields = {"profil": run.profile, "target": record.target, "temuan": _summary(record), "run_id": run.id,
                  **({"tiket_sebelumnya": previous} if previous else {})}
        variant = service.sla.select(fields)
        title = f"Audit TI: {len(record.failing())} temuan {run.profile} pada {record.target}"
        ticket = app.tickets.create(TicketDraft(service_id=service.id, title=title[:200], requester=ENGINE_USER,
                                                fields=fields, attachments=(), sla_variant=variant.id))
        app.tickets.post(ticket.id, NewEvent(
            kind=EventKind.COMMENT, actor=ENGINE_USER, text=_findings_comment(app, run, record, again=False),
            data={"compliance_run": run.id}, dedupe_key=f"{ticket.id}:compliance-run:{run.id}"))
        app.audit.append(ENGINE_USER, "ticket.open", ticket.id, {
            "service": service.id, "profile": run.profile, "target": record.target, "run": run.id,
            "rules": [r.rule_id for r in record.failing()], "previous": previous, **engine.audit_data()})
        tickets[record.target] = ticket.id
        opened.append(ticket.id)
        scheduler.advance(app, ticket.id)
    return tickets, opened


def run_profile(app: EngineServices, kit: ComplianceKit, principal: Principal, profile: str,
                selectors: Sequence[str], *, trigger: str = "manual", trigger_ref: str | None = None,
                progress: Callable[[str], None] | None = None,
                resolved: Callable[[list[str]], None] | None = None) -> RunReport:
    """Authorise, sweep (read-only), store the run, open tickets for new failures, audit."""
    _authorise(app, principal, profile)
    done = sweep(app, kit, profile, selectors, by=principal.user, trigger=trigger,  # type: ignore[arg-type]
                 trigger_ref=trigger_ref, progress=progress, resolved=resolved)
    run = done.run
    app.state.compliance_history.record(run)
    tickets, opened = open_findings(app, run)
    app.audit.append(principal.user, "compliance.run", None, {
        "run": run.id, "profile": run.profile, "trigger": trigger, "trigger_ref": trigger_ref,
        "targets": [t.target for t in run.targets],
        "failing": {t.target: [r.rule_id for r in t.failing()] for t in run.targets if t.failing()},
        "errors": {t.target: len(t.errors()) for t in run.targets if t.errors()},
        "tickets": tickets, **principal.audit_data()})
    return RunReport(run=run, tickets=tickets, opened=tuple(opened))


class ScheduleRunner:
    """What `spbe serve` runs when a compliance schedule fires: the same command as `spbe compliance run`,
    as spbe's engine (the schedule itself was added by a person holding ``manages-compliance-schedules``)."""

    def __init__(self, app: EngineServices, kit: Callable[[], ComplianceKit]) -> None:
        self._app = app
        self._kit = kit

    def run(self, schedule: Schedule, due_at: datetime) -> RunResult:
        try:
            report = run_profile(self._app, self._kit(), Principal.engine(), schedule.profile, schedule.targets,
                                 trigger="schedule", trigger_ref=schedule.id)
        except ToolkitError as exc:
            return RunResult(outcome="failed", detail=f"{type(exc).__name__}: {exc}")
        run = report.run
        failing = sum(1 for t in run.targets if t.failing())
        return RunResult(outcome="done", detail=(
            f"run {run.id}: {len(run.targets)} target(s), {failing} with findings, "
            f"{len(report.opened)} ticket(s) opened"))
