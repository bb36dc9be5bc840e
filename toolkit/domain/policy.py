"""One answer to "may this person do this?", for commands and for events read back from a store.

The same rules guard both doors. A command (check, approve, decide, complete a step, contain) asks
before it writes anything; the engine asks again of every decision event it finds on a ticket before
that event may make a step done, pick an SOP branch or verify an incident, because an approval is
only a row in a store: the CLI, a portal, a webhook, an outside ticket system or a person with write
access to the database could each have written it. Rules, from the catalog and the directory:

* the requester never decides on their own ticket;
* only a holder of the step's role performs it (a check, an approval, a human step);
* an approval scoped to an API (``approval_scope``) needs a provider of *that* API;
* a branch field is decided by the role of the step that ``decides`` it;
* an incident is verified by the declared verification step, done by its role, and the CSIRT
  contains only once it is;
* automated steps are done only when the job queue says so: a timeline entry claiming an
  automated step is informational, never a reason to move on.

Pure: the directory and the API register are ports passed in; nothing here reads a file or a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from toolkit.domain import install_schedule
from toolkit.domain.catalog.models import Catalog, Service, Step, StepKind, StepPurpose
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.principal import ENGINE_USER, Principal
from toolkit.domain.tickets.models import EventKind, Ticket, TimelineEvent
from toolkit.errors import NotFoundError, PermissionDeniedError
from toolkit.ports.directory import Directory, Person

DECISIONS = "decisions"
INCIDENT_VERIFIED = "incident_verified"
SIGNATURE = "signature"  # a signature record in a comment's data (written by toolkit.commands.signing)
# The event kinds that complete a step: the one definition the workflow, documents and actions share.
COMPLETING_KINDS = frozenset({EventKind.APPROVED, EventKind.STEP_COMPLETED, EventKind.CHECKED})

ApiProviders = Callable[[str], Sequence[str]]


class Refusal(BaseModel):
    """A decision event the policy did not accept: it runs nothing and is reported once."""

    model_config = ConfigDict(frozen=True)
    seq: int
    actor: str
    kind: str
    step_id: str | None
    reason: str


class TrustedTimeline(BaseModel):
    """A ticket's timeline split into what counts and what was refused."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    events: tuple[TimelineEvent, ...]
    refusals: tuple[Refusal, ...]


class Policy:
    def __init__(self, catalog: Catalog, directory: Directory, api_providers: ApiProviders,
                 containment_roles: Sequence[str]) -> None:
        self._directory = directory
        self._api_providers = api_providers
        self.containment_roles = tuple(containment_roles)
        self.roles = catalog.roles
        # Applicants (pemohon, pelapor) are not staff: the role book says which; a catalog without one
        # (a test's) falls back to whoever opens a ticket of some service.
        self.applicant_roles = (catalog.roles.with_trait(RoleTrait.APPLICANT)
                                or frozenset(service.steps[0].actor for service in catalog.services()))

    # -- people -------------------------------------------------------------------------------
    def person(self, principal: Principal | str) -> Person:
        """The directory's person (NotFoundError for an unknown user)."""
        return self._directory.person(principal.user if isinstance(principal, Principal) else principal)

    def _known(self, user: str) -> Person | None:
        try:
            return self._directory.person(user)
        except NotFoundError:
            return None

    # -- rules, as reasons (None: allowed) ----------------------------------------------------
    def _role_reason(self, person: Person | None, user: str, role: str, what: str) -> str | None:
        if person is None:
            return f"{user} is not a person of the directory"
        if not person.has_role(role):
            held = ", ".join(sorted(person.roles)) or "none"
            return f"{what} is done by a '{role}'; {user} holds: {held}"
        return None

    def _opening_reason(self, service: Service, ticket: Ticket) -> str | None:
        if ticket.requester == ENGINE_USER:
            return self._engine_opening_reason(service)
        if service.complaints is not None:  # anyone in the directory may complain
            known = self._known(ticket.requester) is not None
            return None if known else f"{ticket.requester} is not a person of the directory"
        first = service.steps[0]
        return self._role_reason(self._known(ticket.requester), ticket.requester, first.actor,
                                 f"opening a {service.id} ticket")

    @staticmethod
    def _engine_opening_reason(service: Service) -> str | None:
        if service.complaints is not None and service.complaints.engine_opens:
            return None  # a complaint read from the mailbox (toolkit.complaints.mail)
        if service.compliance is None or not service.compliance.engine_opens:
            return f"spbe itself may not open a {service.id} ticket (the catalog does not say compliance.engine_opens)"
        return None

    def _approval_reason(self, service: Service, ticket: Ticket, step: Step, user: str) -> str | None:
        if step.kind is not StepKind.APPROVAL:
            return f"step '{step.id}' is not an approval"
        if user == ticket.requester:
            return f"{user} opened ticket {ticket.id} and may not decide on it"
        person = self._known(user)
        reason = self._role_reason(person, user, step.actor, f"the decision on '{step.id}'")
        if person is not None and reason is not None:
            held = ", ".join(sorted(person.roles)) or "none"
            reason = f"only a '{step.actor}' may decide on ticket {ticket.id}; {user} holds: {held}"
        if reason is None and service.approval_scope is not None:
            api_id = str(ticket.fields.get(service.approval_scope.provider_of_field, ""))
            try:
                providers = tuple(self._api_providers(api_id))
            except NotFoundError as exc:
                return str(exc)
            if user not in providers:
                return f"only a provider of API '{api_id}' may approve this request; {user} is not one"
        return reason

    def _check_reason(self, step: Step, user: str) -> str | None:
        if step.purpose is not StepPurpose.COMPLETENESS_CHECK:
            return f"step '{step.id}' is not the completeness check"
        return self._role_reason(self._known(user), user, step.actor, "the completeness check")

    def _human_step_reason(self, step: Step, user: str) -> str | None:
        if step.kind is not StepKind.HUMAN:
            return f"step '{step.id}' is a {step.kind} step, not done by recording it"
        return self._role_reason(self._known(user), user, step.actor, f"step '{step.id}'")

    def _decision_reason(self, service: Service, fields: Iterable[str], user: str) -> str | None:
        person = self._known(user)
        for name in fields:
            step = next((s for s in service.steps if name in s.decides), None)
            if step is None:
                return f"no step of {service.id} decides '{name}'"
            reason = self._role_reason(person, user, step.actor, f"deciding '{name}' (step {step.id})")
            if reason:
                return reason
        return None

    def _verification_reason(self, service: Service, user: str) -> str | None:
        if service.incident is None:
            return f"service {service.id} handles no incidents"
        step = service.step(service.incident.verification_step)
        person = self._known(user)
        if person is not None and (person.has_role(step.actor) or person.roles & set(self.containment_roles)):
            return None
        return self._role_reason(person, user, step.actor, "verifying an incident")

    # -- commands: raise before anything is written -------------------------------------------
    def _deny(self, reason: str | None, principal: Principal, **context: Any) -> Person:
        if reason is not None:
            raise PermissionDeniedError(reason, user=principal.user, auth=principal.auth.value, **context)
        return self.person(principal)

    def authorize_open(self, principal: Principal, service: Service) -> Person:
        first = service.steps[0]
        person = self.person(principal)
        if service.complaints is not None:
            return person  # anyone in the directory may file a complaint, suggestion or feedback
        return self._deny(self._role_reason(person, principal.user, first.actor,
                                            f"opening a {service.id} ticket"), principal)

    def authorize_engine_open(self, principal: Principal, service: Service) -> None:
        """spbe opening a ticket of its own (a compliance finding): only the engine, only where the catalog
        says so. No person is the applicant, so no approval can be the applicant's own."""
        if principal != Principal.engine():
            raise PermissionDeniedError(f"{principal.user} is not spbe's engine", user=principal.user)
        reason = self._engine_opening_reason(service)
        if reason is not None:
            raise PermissionDeniedError(reason, user=principal.user, service=service.id)

    def authorize_check(self, principal: Principal, step: Step) -> Person:
        self.person(principal)
        return self._deny(self._check_reason(step, principal.user), principal, step=step.id)

    def authorize_approval(self, principal: Principal, service: Service, ticket: Ticket, step: Step) -> Person:
        self.person(principal)
        return self._deny(self._approval_reason(service, ticket, step, principal.user), principal,
                          step=step.id, required=step.actor)

    def authorize_step(self, principal: Principal, step: Step) -> Person:
        self.person(principal)
        return self._deny(self._human_step_reason(step, principal.user), principal, step=step.id,
                          required=step.actor)

    def authorize_decision(self, principal: Principal, service: Service, fields: Iterable[str]) -> Person:
        self.person(principal)
        return self._deny(self._decision_reason(service, fields, principal.user), principal)

    def authorize_role(self, principal: Principal, roles: Sequence[str], operation: str) -> Person:
        person = self.person(principal)
        if not any(person.has_role(role) for role in roles):
            held = ", ".join(sorted(person.roles)) or "none"
            raise PermissionDeniedError(f"only {' / '.join(roles)} may {operation}; {principal.user} holds: {held}",
                                        user=principal.user, required=list(roles))
        return person

    def authorize_containment(self, principal: Principal, ticket: Ticket, operation: str) -> Person:
        """The CSIRT contains; once the koordinator forwarded the incident to one CSIRT member (assigned
        it), only that member does."""
        person = self.authorize_role(principal, self.containment_roles, operation)
        assignee = ticket.assignee
        if assignee and assignee != principal.user:
            forwarded = self._known(assignee)
            if forwarded is not None and forwarded.roles & set(self.containment_roles):
                raise PermissionDeniedError(
                    f"ticket {ticket.id} was forwarded to {assignee}; only they may {operation}",
                    user=principal.user, assignee=assignee)
        return person

    def may_view(self, principal: Principal, service: Service, ticket: Ticket) -> bool:
        """Who may see a ticket: its requester and its assignee; staff whose role performs a step of its
        service (an applicant's role does not count: every applicant opens tickets of every service);
        and the roles that see confidential reports (the koordinator, the CSIRT). An unknown person sees
        nothing. What a viewer sees of a confidential reporter is `toolkit.domain.confidentiality`'s call."""
        user = principal.user
        if user in (ticket.requester, ticket.assignee):
            return True
        person = self._known(user)
        if person is None:
            return False
        acting = {step.actor for step in service.steps} - set(self.applicant_roles)
        return bool(person.roles & acting) or bool(person.roles & self.roles.with_trait(RoleTrait.SEES_CONFIDENTIAL))

    def is_staff(self, principal: Principal) -> bool:
        """Holds a role that is not an applicant's: may see jobs and their logs for the tickets it may view."""
        person = self._known(principal.user)
        return person is not None and bool(person.roles - set(self.applicant_roles))

    # -- events: the engine's second look -----------------------------------------------------
    def vet(self, service: Service, ticket: Ticket, event: TimelineEvent) -> str | None:
        """Why this event may not count (None: it counts, or it decides nothing)."""
        reasons = []
        if event.kind == EventKind.OPENED:
            reasons.append(self._opening_reason(service, ticket))
        elif event.kind in COMPLETING_KINDS and event.step_id:
            reasons.append(self._completion_reason(service, ticket, event))
        data = event.data if isinstance(event.data, Mapping) else {}
        decided = data.get(DECISIONS)
        if decided is not None:
            reasons.append(self._decision_reason(service, decided, event.actor) if isinstance(decided, Mapping)
                           else "a decision must map fields to values")
        if data.get(INCIDENT_VERIFIED) is True:
            reasons.append(self._verification_reason(service, event.actor))
        if data.get(install_schedule.SCHEDULE) is not None:  # the jadwal pelaksanaan's rules
            person = self._known(event.actor)
            reasons.append(install_schedule.event_reason(service, ticket, event,
                                                         frozenset(person.roles) if person else None))
        return next((r for r in reasons if r), None)

    def _completion_reason(self, service: Service, ticket: Ticket, event: TimelineEvent) -> str | None:
        try:
            step = service.step(str(event.step_id))
        except NotFoundError:
            return f"service {service.id} has no step '{event.step_id}'"
        if step.automated:
            if event.actor == ENGINE_USER and event.kind == EventKind.STEP_COMPLETED:
                return None  # the outbox's copy of a job result; progress counts the job record itself
            return f"step '{step.id}' is automated: only the engine's job completes it"
        if event.kind == EventKind.APPROVED:
            return self._approval_reason(service, ticket, step, event.actor)
        if event.kind == EventKind.CHECKED:
            return self._check_reason(step, event.actor)
        if step.kind is StepKind.APPROVAL:
            return f"step '{step.id}' is an approval: only an approval completes it"
        if step.purpose is StepPurpose.SCHEDULE_CONFIRMATION and install_schedule.SCHEDULE not in event.data:
            return f"step '{step.id}' is completed only by the requester's confirmation of a schedule"
        return self._human_step_reason(step, event.actor)

    def signatures(self, ticket: Ticket, step: Step, events: Iterable[TimelineEvent]) -> list[TimelineEvent]:
        """The signature records of ``step.signs`` that count, in the SOP's order: each posted by the signer and
        by whoever's turn it was (someone holding that role; the ticket's own requester for an applicant's
        role). A record out of turn or by someone else is ignored, wherever it came from."""
        counted: list[TimelineEvent] = []
        for event in events:
            if len(counted) >= len(step.signers):
                break
            record = event.data.get(SIGNATURE) if isinstance(event.data, Mapping) else None
            if event.kind != EventKind.COMMENT or not isinstance(record, Mapping) \
                    or record.get("document") != step.signed_document or record.get("signer") != event.actor:
                continue
            role = step.signers[len(counted)]
            person = self._known(event.actor)
            if (event.actor == ticket.requester if role in self.applicant_roles
                    else person is not None and role in person.roles):
                counted.append(event)
        return counted

    def _signing_reason(self, service: Service, ticket: Ticket, event: TimelineEvent,
                        earlier: Sequence[TimelineEvent]) -> str | None:
        """A signing step (``signs``) counts as done only after every party's signature (`signatures`): a
        completion written straight into the store cannot skip them."""
        if event.kind not in COMPLETING_KINDS or not event.step_id:
            return None
        step = next((s for s in service.steps if s.id == event.step_id), None)
        if step is None or not step.signs or not step.signers:
            return None
        signed = len(self.signatures(ticket, step, earlier))
        if signed < len(step.signers):
            return (f"step '{step.id}' is done only when every party has signed '{step.signs}' "
                    f"({signed} of {len(step.signers)} signatures)")
        return None

    def trusted(self, service: Service, ticket: Ticket, timeline: Iterable[TimelineEvent]) -> TrustedTimeline:
        """The timeline the workflow may act on, and the refusals to report."""
        kept: list[TimelineEvent] = []
        refused: list[Refusal] = []
        for event in timeline:
            reason = self.vet(service, ticket, event) or self._signing_reason(service, ticket, event, kept)
            if reason is None:
                kept.append(event)
            else:
                refused.append(Refusal(seq=event.seq, actor=event.actor, kind=event.kind.value,
                                       step_id=event.step_id, reason=reason))
        return TrustedTimeline(events=tuple(kept), refusals=tuple(refused))
