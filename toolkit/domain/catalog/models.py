"""The service catalog: each SOP (*standar pelayanan*) as validated, immutable data.

The YAML files under ``services/`` are transcriptions of the SOPs in ``seeds/``; these models are
where a transcription mistake is caught (an unbound automated step, a condition on a field the
applicant never fills in, steps out of the SOP's order) before a ticket ever reaches it.

Everything stays hashable (tuples, frozen models) so a ``Service`` can key caches such as the
per-service request model in ``toolkit.domain.tickets.requests``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from toolkit.domain.catalog.requirements import DEFAULT_MAX_LENGTH as DEFAULT_MAX_LENGTH
from toolkit.domain.catalog.requirements import AttachmentSpec as AttachmentSpec
from toolkit.domain.catalog.requirements import Condition as Condition
from toolkit.domain.catalog.requirements import FieldSpec as FieldSpec
from toolkit.domain.catalog.requirements import FieldType as FieldType
from toolkit.domain.catalog.requirements import Identifier as Identifier
from toolkit.domain.catalog.requirements import Requirements as Requirements
from toolkit.domain.catalog.requirements import Scalar as Scalar
from toolkit.domain.catalog.requirements import Slug as Slug
from toolkit.domain.catalog.requirements import Text as Text
from toolkit.domain.catalog.requirements import _Frozen
from toolkit.domain.catalog.roles import RoleBook
from toolkit.errors import NotFoundError, UnknownServiceError
from toolkit.worktime.config import check_zone

_ACTION_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_TEMPLATE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class StepKind(StrEnum):
    HUMAN = "human"
    APPROVAL = "approval"
    ACTION = "action"
    DOCUMENT = "document"
    NOTIFY = "notify"


AUTOMATED_KINDS = frozenset({StepKind.ACTION, StepKind.DOCUMENT, StepKind.NOTIFY})


class TimeUnit(StrEnum):
    """How an SOP counts a standard time or an SLA (`toolkit.worktime.calendar`): calendar time (the
    default: "8 jam", "7 Hari"), *hari kerja* (the duration's whole days are working days) or *jam kerja*
    (the duration is office time)."""

    KALENDER = "kalender"
    HARI_KERJA = "hari-kerja"
    JAM_KERJA = "jam-kerja"


def _check_unit(duration: timedelta, unit: TimeUnit, what: str) -> None:
    if unit is TimeUnit.HARI_KERJA and duration % timedelta(days=1):
        raise ValueError(f"{what}: hari kerja are whole days (P1D, P5D), got {duration}")


class StepPurpose(StrEnum):
    """What a step means to the engine beyond its kind, declared in the catalog instead of guessed
    from positions: the koordinator's completeness check, the closing step, the approval of a
    rendered network plan (the plan's digest is what is approved). The schedule trio (SOP 001 steps
    5-7, `toolkit.domain.install_schedule`): the step whose role proposes the *jadwal pelaksanaan*, the
    step the requester completes by confirming it, and the automated step that waits for its start."""

    COMPLETENESS_CHECK = "completeness-check"
    CLOSING = "closing"
    PLAN_APPROVAL = "plan-approval"
    SCHEDULE_PROPOSAL = "schedule-proposal"
    SCHEDULE_CONFIRMATION = "schedule-confirmation"
    SCHEDULED = "scheduled"


_PURPOSE_KIND = {StepPurpose.COMPLETENESS_CHECK: StepKind.HUMAN, StepPurpose.CLOSING: StepKind.HUMAN,
                 StepPurpose.PLAN_APPROVAL: StepKind.APPROVAL, StepPurpose.SCHEDULE_PROPOSAL: StepKind.HUMAN,
                 StepPurpose.SCHEDULE_CONFIRMATION: StepKind.HUMAN, StepPurpose.SCHEDULED: StepKind.ACTION}
_SCHEDULE_PURPOSES = (StepPurpose.SCHEDULE_PROPOSAL, StepPurpose.SCHEDULE_CONFIRMATION, StepPurpose.SCHEDULED)


class AllOf(_Frozen):
    """Several conditions that must all hold, written in the catalog as a list under ``when``: the Pusat
    Data backup add-on runs for ``produk in (hosting, cloud)`` *and* ``backup == true``. It answers the
    same ``matches``/``describe`` as a single `Condition`, so the workflow reads either alike."""

    all: tuple[Condition, ...] = Field(min_length=1)

    def matches(self, values: Mapping[str, Any]) -> bool:
        return all(condition.matches(values) for condition in self.all)

    def describe(self) -> str:
        return " and ".join(condition.describe() for condition in self.all)


def _step_condition(value: Any) -> Any:
    """A YAML list under a step's ``when`` is an `AllOf`."""
    return {"all": value} if isinstance(value, list | tuple) else value


class Step(_Frozen):
    """One procedure of the SOP. ``actor`` is the role the SOP names as doing the step (for a
    *notify* step where the SOP says "Pemohon menerima notifikasi", the recipient). ``action`` is
    an action name (``family.name``) for *action*, a notification template (``notify.name``) for
    *notify*, a document template id for *document*. ``inputs``/``outputs`` are the SOP's
    *kelengkapan* and *output* columns, ``notes`` its *keterangan*."""

    id: Slug
    sop_no: int | None = Field(None, ge=1)
    title: Text
    actor: Slug
    kind: StepKind
    action: str | None = None
    standard_time: timedelta | None = None
    standard_time_unit: TimeUnit = TimeUnit.KALENDER
    supervisor: Slug | None = None
    when: Annotated[Condition | AllOf | None, BeforeValidator(_step_condition)] = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    participants: tuple[Slug, ...] = ()
    notes: str | None = None
    # Fields whose value this step's actor decides during the procedure (a branch of the SOP: the kind
    # of incident, the need for outside help); see `toolkit.domain.decisions`.
    decides: tuple[Identifier, ...] = ()
    purpose: StepPurpose | None = None
    # Who signs the step's document electronically, in the SOP's order (`toolkit.commands.signing`). On a
    # document step, its own document; on a human step (the SOP's signing step), the document ``signs``
    # names (a document step's template id): the step is done when the last of them has signed.
    signers: tuple[Slug, ...] = ()
    signs: str | None = None

    @model_validator(mode="after")
    def _bound(self) -> Step:
        wanted = _PURPOSE_KIND.get(self.purpose) if self.purpose else None
        if wanted is not None and self.kind is not wanted:
            raise ValueError(f"purpose: a '{self.purpose}' step must be of kind '{wanted}', not '{self.kind}'")
        if self.kind in AUTOMATED_KINDS:
            if not self.action:
                raise ValueError(f"action: required for kind '{self.kind}' (step '{self.id}')")
            if self.kind is StepKind.DOCUMENT:
                if not _TEMPLATE_ID.match(self.action):
                    raise ValueError(f"action: document template id must be snake_case, got '{self.action}'")
            elif not _ACTION_NAME.match(self.action):
                raise ValueError(f"action: must look like 'family.name', got '{self.action}'")
            elif self.kind is StepKind.NOTIFY and not self.action.startswith("notify."):
                raise ValueError(f"action: a notify step binds a 'notify.*' template, got '{self.action}'")
        elif self.action is not None:
            raise ValueError(f"action: a '{self.kind}' step is done by a person and binds no action")
        if self.standard_time is not None and self.standard_time <= timedelta(0):
            raise ValueError("standard_time: must be positive")
        if self.standard_time_unit is TimeUnit.HARI_KERJA and self.standard_time is not None:
            _check_unit(self.standard_time, self.standard_time_unit, "standard_time")
        self._check_signers()
        return self

    def _check_signers(self) -> None:
        if len(set(self.signers)) != len(self.signers):
            raise ValueError("signers: a role signs once")
        if self.signs is not None and (self.kind is not StepKind.HUMAN or not _TEMPLATE_ID.match(self.signs)):
            raise ValueError("signs: only a human step names the document its signers sign (a template id)")
        if self.signers and self.kind is StepKind.HUMAN and self.signs is None:
            raise ValueError("signers: a human signing step names its document in 'signs'")
        if self.signers and self.kind not in (StepKind.HUMAN, StepKind.DOCUMENT):
            raise ValueError("signers: only a document step or a human signing step has signers")

    @property
    def signed_document(self) -> str | None:
        """The template id of the document this step's signers sign (None: nobody signs here)."""
        if not self.signers:
            return None
        return self.signs if self.kind is StepKind.HUMAN else self.action

    @property
    def automated(self) -> bool:
        return self.kind in AUTOMATED_KINDS

    def applies_to(self, values: Mapping[str, Any]) -> bool:
        return self.when is None or self.when.matches(values)


class SlaVariant(_Frozen):
    id: Slug
    label: Text
    duration: timedelta
    min_duration: timedelta | None = None
    unit: TimeUnit = TimeUnit.KALENDER
    when: Condition | None = None

    @model_validator(mode="after")
    def _ordered(self) -> SlaVariant:
        if self.duration <= timedelta(0):
            raise ValueError("duration: must be positive")
        _check_unit(self.duration, self.unit, "duration")
        if self.min_duration is not None and not timedelta(0) < self.min_duration <= self.duration:
            raise ValueError("min_duration: must be positive and not exceed duration")
        return self


class Sla(_Frozen):
    """The *jangka waktu pelayanan*. Variants are tried in order; the last one has no condition
    and is the default, so every ticket gets exactly one deadline."""

    variants: tuple[SlaVariant, ...]

    @model_validator(mode="after")
    def _default_last(self) -> Sla:
        if not self.variants:
            raise ValueError("variants: at least one variant is required")
        for index, variant in enumerate(self.variants):
            last = index == len(self.variants) - 1
            if last and variant.when is not None:
                raise ValueError(f"variants.{index}.when: the last variant is the default and has no 'when'")
            if not last and variant.when is None:
                raise ValueError(f"variants.{index}.when: only the last variant may omit 'when'")
        ids = [v.id for v in self.variants]
        if len(set(ids)) != len(ids):
            raise ValueError(f"variants: duplicate variant id in {ids}")
        return self

    def select(self, values: Mapping[str, Any]) -> SlaVariant:
        return next(v for v in self.variants if v.when is None or v.when.matches(values))

    @property
    def default(self) -> SlaVariant:
        return self.variants[-1]


class IncidentSpec(_Frozen):
    """The service handles security incidents: the CSIRT may contain only once the step named here is
    done (and, where the SOP branches, only when ``verified_when`` holds: Surakarta's row 4 makes it a
    security incident only when ``jenis_insiden`` is ``keamanan``)."""

    verification_step: Slug
    verified_when: Condition | None = None
    # The verification may find that the report is no incident at all (Gorontalo step 2: the ticket goes on
    # only "jika laporan terverifikasi"): its role then closes the ticket with the reason and the reporter is
    # told (`toolkit.commands.incident.reject`). Without it the verification can only pass or be deferred.
    closes_unverified: bool = False


class ComplianceSpec(_Frozen):
    """A service whose tickets come from compliance findings (Audit TI): spbe itself may open them
    (``engine_opens``; no person is the applicant of a scheduled check's finding) and closes them when
    every step is done (``closes_itself``: the last step is the re-check, so nothing is left to judge)."""

    engine_opens: bool = False
    closes_itself: bool = False


class ApprovalScope(_Frozen):
    """Approvals of this service are scoped to the providers of one API: the ticket field named here
    holds the API id, and only a provider of that API in the SPLP register may approve (SOP 004 step 3)."""

    provider_of_field: Identifier


class ComplaintSpec(_Frozen):
    """The service is the desk's channel for *pengaduan, saran dan masukan* (the last item of every SOP's
    service standard; `toolkit.complaints`). Anyone in the directory may file one (not only the first step's
    role), and spbe itself opens one for each e-mail read from the complaints mailbox (``engine_opens``).
    ``anonymous_field`` is the bool field a complainant sets to stay anonymous: the requester and the
    ``identity_fields`` (name, contact) are then hidden from every viewer but the complainant, the
    koordinator included (`toolkit.domain.confidentiality`). ``answer_step`` is the step whose completion is
    the answer (its standard time is the stated response time, ``[complaints] response_days``)."""

    related_service_field: Identifier
    related_ticket_field: Identifier
    anonymous_field: Identifier
    identity_fields: tuple[Identifier, ...] = ()
    kind_field: Identifier  # pengaduan / saran / masukan: an enum, its first choice the default
    forward_step: Slug
    answer_step: Slug
    engine_opens: bool = False


class Service(_Frozen):
    id: Slug
    seed: Text
    name: Text
    provider: Text
    timezone: str | None = Field(default=None, description=(
        "the zone of the office that runs the service (Asia/Makassar: WITA, Gorontalo); None: the deployment's"))
    legal_basis: tuple[str, ...] = ()
    requirements: Requirements
    steps: tuple[Step, ...] = Field(min_length=1)
    sla: Sla
    cost: Text
    products: tuple[str, ...] = ()
    complaint_channels: tuple[str, ...] = ()
    guarantees: tuple[str, ...] = ()
    incident: IncidentSpec | None = None
    approval_scope: ApprovalScope | None = None
    compliance: ComplianceSpec | None = None
    complaints: ComplaintSpec | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else check_zone(value)

    @model_validator(mode="after")
    def _coherent(self) -> Service:
        self._check_purposes()
        seen: set[str] = set()
        last_no = 0
        for index, step in enumerate(self.steps):
            if step.id in seen:
                raise ValueError(f"steps.{index}.id: duplicate step id '{step.id}'")
            seen.add(step.id)
            if step.sop_no is not None:
                if step.sop_no <= last_no:
                    problem = f"{step.sop_no} after {last_no}; sop_no must strictly increase"
                    raise ValueError(f"steps.{index}.sop_no: {problem}")
                last_no = step.sop_no
            if isinstance(step.when, AllOf):
                for n, condition in enumerate(step.when.all):
                    self._check_condition(condition, f"steps.{index}.when.{n}")
            elif step.when is not None:
                self._check_condition(step.when, f"steps.{index}.when")
            if step.signs is not None and step.signs not in {s.action for s in self.steps[:index]
                                                                 if s.kind is StepKind.DOCUMENT}:
                raise ValueError(f"steps.{index}.signs: '{step.signs}' is not the document of an earlier step")
            for name in step.decides:
                if name not in {spec.name for spec in self.requirements.fields}:
                    raise ValueError(f"steps.{index}.decides: '{name}' is not a declared field")
        for index, spec in enumerate(self.requirements.fields):
            if spec.required_when is not None:
                self._check_condition(spec.required_when, f"requirements.fields.{index}.required_when")
        for index, att in enumerate(self.requirements.attachments):
            if att.required_when is not None:
                self._check_condition(att.required_when, f"requirements.attachments.{index}.required_when")
        for index, variant in enumerate(self.sla.variants):
            if variant.when is not None:
                self._check_condition(variant.when, f"sla.variants.{index}.when")
        return self

    def _check_schedule(self, ids: list[str]) -> None:
        """All three schedule purposes or none, in the order propose, confirm, scheduled step."""
        marked = [next((s.id for s in self.steps if s.purpose is p), None) for p in _SCHEDULE_PURPOSES]
        if any(marked) and not all(marked):
            raise ValueError("steps: a schedule needs the three purposes " +
                             ", ".join(_SCHEDULE_PURPOSES) + f"; found {[m for m in marked if m]}")
        if all(marked) and [ids.index(str(m)) for m in marked] != sorted(ids.index(str(m)) for m in marked):
            raise ValueError("steps: the schedule is proposed, then confirmed, then the scheduled step runs")

    def _check_purposes(self) -> None:
        ids = [s.id for s in self.steps]
        self._check_schedule(ids)
        for purpose in (StepPurpose.COMPLETENESS_CHECK, StepPurpose.CLOSING, *_SCHEDULE_PURPOSES):
            marked = [s.id for s in self.steps if s.purpose is purpose]
            if len(marked) > 1:
                raise ValueError(f"steps: more than one '{purpose}' step: {', '.join(marked)}")
        closing = self.step_with(StepPurpose.CLOSING)
        if closing is not None:
            after = self.steps[ids.index(closing.id) + 1:]
            if any(s.kind is not StepKind.NOTIFY for s in after):
                raise ValueError(f"steps: only notify steps may follow the closing step '{closing.id}'")
        check = self.step_with(StepPurpose.COMPLETENESS_CHECK)
        approvals = [i for i, s in enumerate(self.steps) if s.kind is StepKind.APPROVAL]
        if check is not None and approvals and ids.index(check.id) > approvals[0]:
            raise ValueError(f"steps: the completeness check '{check.id}' must come before the first approval")
        if self.incident is not None:
            if self.incident.verification_step not in ids:
                raise ValueError(f"incident.verification_step: '{self.incident.verification_step}' is not a step")
            if self.incident.verified_when is not None:
                self._check_condition(self.incident.verified_when, "incident.verified_when")
            if self.incident.closes_unverified and self.step(self.incident.verification_step).automated:
                raise ValueError("incident.closes_unverified: the verification step must be done by a person")
        if self.compliance is not None and self.compliance.closes_itself and closing is not None:
            raise ValueError(f"compliance.closes_itself: the service closes itself, so the closing step "
                             f"'{closing.id}' would never be done by a person")
        if self.complaints is not None:
            self._check_complaints(self.complaints, ids)
        if self.approval_scope is not None:
            field = self.approval_scope.provider_of_field
            if field not in {spec.name for spec in self.requirements.fields}:
                raise ValueError(f"approval_scope.provider_of_field: '{field}' is not a declared field")

    def _check_complaints(self, spec: ComplaintSpec, ids: list[str]) -> None:
        declared = {f.name: f for f in self.requirements.fields}
        named = (spec.related_service_field, spec.related_ticket_field, spec.anonymous_field, spec.kind_field,
                 *spec.identity_fields)
        for name in named:
            if name not in declared:
                raise ValueError(f"complaints: '{name}' is not a declared field")
        if declared[spec.anonymous_field].type is not FieldType.BOOL:
            raise ValueError(f"complaints.anonymous_field: '{spec.anonymous_field}' must be a bool field")
        if declared[spec.kind_field].type is not FieldType.ENUM:
            raise ValueError(f"complaints.kind_field: '{spec.kind_field}' must be an enum field")
        for key, step_id in (("forward_step", spec.forward_step), ("answer_step", spec.answer_step)):
            if step_id not in ids or self.step(step_id).kind is not StepKind.HUMAN:
                raise ValueError(f"complaints.{key}: '{step_id}' is not a human step")
        if ids.index(spec.forward_step) >= ids.index(spec.answer_step):
            raise ValueError("complaints.forward_step: the complaint is forwarded before it is answered")

    def signing_step(self, document: str) -> Step | None:
        """The step whose signers sign ``document`` (a template id): a human signing step before the
        document step itself, so the SOP's own signing step decides when signing is complete."""
        steps = [s for s in self.steps if s.signed_document == document]
        return next((s for s in steps if s.kind is StepKind.HUMAN), steps[0] if steps else None)

    def step_with(self, purpose: StepPurpose) -> Step | None:
        """The step the catalog declares for ``purpose`` (the first, for purposes several steps may share)."""
        return next((s for s in self.steps if s.purpose is purpose), None)

    def _check_condition(self, condition: Condition, path: str) -> None:
        declared = {spec.name: spec for spec in self.requirements.fields}
        spec = declared.get(condition.field)
        if spec is None:
            raise ValueError(
                f"{path}.field: '{condition.field}' is not a declared field (declared: {', '.join(declared)})"
            )
        bad = [v for v in condition.values if v is not None and not spec.accepts(v)]
        if bad:
            raise ValueError(f"{path}: {bad[0]!r} can never be a value of {spec.type} field '{spec.name}'")

    @property
    def approver_roles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.actor for s in self.steps if s.kind is StepKind.APPROVAL))

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role the procedure involves (actors, participants, supervisors), in first-seen order."""
        found: dict[str, None] = {}
        for step in self.steps:
            for role in (step.actor, *step.participants, *step.signers, step.supervisor):
                if role:
                    found.setdefault(role)
        return tuple(found)

    @property
    def first_step(self) -> Step:
        return self.steps[0]

    def step(self, step_id: str) -> Step:
        return self.steps[self.index_of(step_id)]

    def index_of(self, step_id: str) -> int:
        for index, step in enumerate(self.steps):
            if step.id == step_id:
                return index
        known = ", ".join(s.id for s in self.steps)
        raise NotFoundError(f"service '{self.id}' has no step '{step_id}'; steps: {known}",
                            service=self.id, step=step_id)

    def steps_for(self, values: Mapping[str, Any]) -> tuple[Step, ...]:
        """The steps a ticket with these field values goes through, in order."""
        return tuple(step for step in self.steps if step.applies_to(values))


class Catalog(_Frozen):
    entries: tuple[Service, ...] = ()
    roles: RoleBook = Field(default_factory=lambda: RoleBook(roles=()))

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalog:
        ids = [s.id for s in self.entries]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"entries: duplicate service id(s): {', '.join(duplicates)}")
        known = self.roles.ids()
        for service in self.entries if known else ():
            unknown = sorted(set(service.roles) - known)
            if unknown:
                raise ValueError(f"entries: {service.id} names role(s) not in roles.yaml: {', '.join(unknown)}")
        return self

    def get(self, service_id: str) -> Service:
        for service in self.entries:
            if service.id == service_id:
                return service
        known = self.ids()
        listing = ", ".join(known) or "(none)"
        raise UnknownServiceError(f"unknown service '{service_id}'; known services: {listing}",
                                  service=service_id, known=list(known))

    def services(self) -> list[Service]:
        return list(self.entries)

    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.entries)

    def __contains__(self, service_id: object) -> bool:
        return any(s.id == service_id for s in self.entries)
