"""Putting the API gateway (and Keycloak) right for failing ``splp`` rules: a list of calls, each with its inverse.

A plan is data before it is a change: for each failing rule, one call per offender its check names (the
consumers, credentials, routes or OAuth2 clients the finding lists), with the call that undoes it. The
ticket shows the preview; the approver approves the plan's digest. `GatewayRemediator.apply` runs the
calls in order and, when one fails, runs the inverses of those it changed, newest first (a call that found
its target already so changed nothing, and is not reversed); `undo` runs every inverse, newest first: it
puts back the before-state the plan was made from. Every call is a switch that the gateway answers the
same way twice (a disabled consumer disabled again is unchanged), so an undo after a partial apply is safe.

Nothing here deletes: a revoked key or a deleted consumer has no inverse (the secret is gone), so an orphan
consumer and an expired credential are *disabled*. No plan, preview or log line holds a secret: calls name
consumers, key ids, APIs and client ids only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from toolkit.compliance.facts import GatewayFacts
from toolkit.compliance.gateway_checks import Offender
from toolkit.compliance.gathering import RemediationOutcome, RemediationPlan, TargetKind
from toolkit.compliance.models import GatewayChangeRemediation, GatewayRule
from toolkit.errors import ConfigurationError, InvalidInputError, ToolkitError
from toolkit.masking import Masker
from toolkit.ports.gateway import KEY_ID_RE, Gateway, GatewayControls, check_gateway_name
from toolkit.ports.identity_provider import ClientId, IdentityProvider

Op = Literal["disable-consumer", "enable-consumer", "disable-credential", "enable-credential",
             "add-rate-limit", "remove-rate-limit", "disable-oauth2-client", "enable-oauth2-client"]
INVERSE: Mapping[str, str] = {
    "disable-consumer": "enable-consumer", "enable-consumer": "disable-consumer",
    "disable-credential": "enable-credential", "enable-credential": "disable-credential",
    "add-rate-limit": "remove-rate-limit", "remove-rate-limit": "add-rate-limit",
    "disable-oauth2-client": "enable-oauth2-client", "enable-oauth2-client": "disable-oauth2-client",
}
_WORDS = {
    "disable-consumer": "nonaktifkan konsumen {s}", "enable-consumer": "aktifkan kembali konsumen {s}",
    "disable-credential": "nonaktifkan kredensial {s} milik {c}",
    "enable-credential": "aktifkan kembali kredensial {s} milik {c}",
    "add-rate-limit": "pasang batas laju {n}/menit untuk semua konsumen rute {s}",
    "remove-rate-limit": "lepas batas laju semua konsumen rute {s}",
    "disable-oauth2-client": "nonaktifkan klien OAuth2 {s} di Keycloak",
    "enable-oauth2-client": "aktifkan kembali klien OAuth2 {s} di Keycloak",
}
_IDP_OPS = frozenset({"disable-oauth2-client", "enable-oauth2-client"})


class GatewayCall(BaseModel):
    """One call: ``subject`` is a consumer, a key id (of ``consumer``), an API (route) or a client id."""
    model_config = ConfigDict(frozen=True, extra="forbid")
    op: Op
    subject: str
    consumer: str | None = None
    per_minute: int | None = Field(default=None, ge=1, le=100000)

    @field_validator("consumer")
    @classmethod
    def _consumer(cls, value: str | None) -> str | None:
        return None if value is None else check_gateway_name(value, "consumer")

    @model_validator(mode="after")
    def _subject_fits(self) -> GatewayCall:
        if self.op.endswith("-consumer") or self.op.endswith("-rate-limit"):
            check_gateway_name(self.subject, "consumer" if self.op.endswith("-consumer") else "api")
        elif self.op.endswith("-credential"):
            if not KEY_ID_RE.fullmatch(self.subject) or self.consumer is None:
                raise ValueError("a credential call needs a key id and its consumer")
        else:
            _client_id(self.subject)
        if (self.op == "add-rate-limit") != (self.per_minute is not None):
            raise ValueError("per_minute is given for add-rate-limit and only for it")
        return self

    def inverse(self, per_minute: int | None = None) -> GatewayCall:
        op = INVERSE[self.op]
        return GatewayCall(op=op, subject=self.subject, consumer=self.consumer,  # type: ignore[arg-type]
                           per_minute=per_minute if op == "add-rate-limit" else None)

    def text(self) -> str:
        return _WORDS[self.op].format(s=self.subject, c=self.consumer or "-", n=self.per_minute or "-")


_CLIENT_ID: TypeAdapter[str] = TypeAdapter(ClientId)


def _client_id(value: str) -> str:
    try:
        return _CLIENT_ID.validate_python(value)
    except ValidationError:
        raise ValueError(f"client id {value[:80]!r} is not a client id") from None


class GatewayStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    rule_id: str
    call: GatewayCall
    undo: GatewayCall


class GatewayChangePlan(BaseModel):
    """``RemediationPlan.detail`` of the gateway kind, validated back before anything runs."""
    model_config = ConfigDict(frozen=True, extra="forbid")
    gateway: str
    steps: tuple[GatewayStep, ...]


def _call_for(action: str, offender: Offender, per_minute: int | None) -> GatewayCall:
    if action == "disable-consumer":
        return GatewayCall(op="disable-consumer", subject=offender.name)
    if action == "disable-credential":
        return GatewayCall(op="disable-credential", subject=offender.name, consumer=offender.consumer)
    if action == "add-rate-limit":
        return GatewayCall(op="add-rate-limit", subject=offender.name, per_minute=per_minute)
    return GatewayCall(op="disable-oauth2-client", subject=offender.name)


def plan_steps(rules: Sequence[GatewayRule], facts: GatewayFacts) -> tuple[GatewayStep, ...]:
    """One step per offender of each rule, in the profile's order; the same call twice is planned once."""
    steps: list[GatewayStep] = []
    seen: set[GatewayCall] = set()
    for rule in rules:
        remediation = rule.remediation
        if not isinstance(remediation, GatewayChangeRemediation):
            raise InvalidInputError(f"rule {rule.id} has no gateway-change remediation")
        for offender in rule.check.offenders(facts):
            call = _call_for(remediation.action, offender, remediation.per_minute)
            if call not in seen:
                seen.add(call)
                steps.append(GatewayStep(rule_id=rule.id, call=call, undo=call.inverse()))
    return tuple(steps)


def preview(gateway: str, steps: Sequence[GatewayStep]) -> str:
    """The plan as the ticket shows it, in Bahasa Indonesia, each call beside its undo."""
    if not steps:
        return f"Gateway {gateway}: tidak ada perubahan (tidak ada temuan yang dapat diperbaiki)."
    lines = [f"Perubahan pada gateway {gateway} ({len(steps)} langkah, masing-masing dapat dibatalkan):"]
    for number, step in enumerate(steps, start=1):
        lines.append(f"{number}. [{step.rule_id}] {step.call.text()} (pembatalan: {step.undo.text()})")
    return "\n".join(lines)


class GatewayRemediator:
    """`Remediator` of the ``gateway`` kind, through `GatewayControls` and the identity provider."""

    kind: TargetKind = "gateway"

    def __init__(self, *, name: str, gateway: Gateway, identity: IdentityProvider | None = None,
                 masker: Masker | None = None) -> None:
        self.name = name
        self.gateway = gateway
        self.identity = identity
        self.masker = masker or Masker()

    # -- plan ----------------------------------------------------------------------------------------------
    def plan(self, target: str, rules: Sequence[Any], facts: Any, work_dir: Any = None) -> RemediationPlan:
        """Changes nothing. Refused (`ConfigurationError`) when a call needs what this deployment lacks (a
        gateway without switches, no identity provider), so no one approves a plan that cannot run."""
        if target != self.name or not isinstance(facts, GatewayFacts) or facts.gateway != target:
            raise InvalidInputError(f"gateway remediation plans for '{self.name}' from its own facts only")
        gateway_rules = [r for r in rules if isinstance(r, GatewayRule)]
        if not gateway_rules or len(gateway_rules) != len(rules):
            raise InvalidInputError("a gateway remediation plan needs the failing rules of a gateway profile")
        steps = plan_steps(gateway_rules, facts)
        self._check_capable(steps)
        detail = GatewayChangePlan(gateway=target, steps=steps)
        return RemediationPlan(kind="gateway", target=target, rule_ids=tuple(r.id for r in gateway_rules),
                               preview=preview(target, steps), detail=detail.model_dump(mode="json"))

    def _check_capable(self, steps: Sequence[GatewayStep]) -> None:
        ops = {s.call.op for s in steps}
        if ops - _IDP_OPS and not isinstance(self.gateway, GatewayControls):
            raise ConfigurationError(f"gateway '{self.name}' offers no reversible switches (GatewayControls)")
        if ops & _IDP_OPS and self.identity is None:
            raise ConfigurationError("no identity provider is configured (settings.identity) for OAuth2 clients")

    def _detail(self, plan: RemediationPlan) -> GatewayChangePlan:
        if plan.kind != "gateway" or plan.target != self.name:
            raise InvalidInputError(f"not a plan for gateway '{self.name}'")
        try:
            detail = GatewayChangePlan.model_validate(dict(plan.detail))
        except ValidationError as exc:
            raise InvalidInputError(f"gateway remediation plan refused: {exc.error_count()} invalid field(s)") from None
        self._check_capable(detail.steps)
        return detail

    # -- run -----------------------------------------------------------------------------------------------
    def _run(self, call: GatewayCall) -> bool:
        """Make the call; whether it changed anything (the switches answer the state before them)."""
        controls: Any = self.gateway
        op = call.op
        if op in ("disable-consumer", "enable-consumer"):
            wanted = op == "enable-consumer"
            return bool(controls.set_consumer_active(call.subject, wanted)) != wanted
        if op in ("disable-credential", "enable-credential"):
            wanted = op == "enable-credential"
            return bool(controls.set_credential_active(call.consumer, call.subject, wanted)) != wanted
        if op in ("add-rate-limit", "remove-rate-limit"):
            return bool(controls.set_default_rate_limit(call.subject, call.per_minute) != call.per_minute)
        if self.identity is None:  # `_check_capable` refused such a plan already
            raise ConfigurationError("no identity provider is configured (settings.identity)")
        if op == "disable-oauth2-client":
            return self.identity.disable_client(call.subject).was_enabled
        self.identity.enable_client(call.subject)
        return True

    def _error(self, exc: ToolkitError) -> str:
        return self.masker(f"{type(exc).__name__}: {exc}")[:500]

    def apply(self, plan: RemediationPlan, work_dir: Any, log: Callable[[str], None]) -> RemediationOutcome:
        detail = self._detail(plan)
        done: list[GatewayStep] = []
        lines: list[str] = []

        def note(text: str) -> None:
            text = self.masker(text)
            lines.append(text)
            log(text)

        for step in detail.steps:
            try:
                changed = self._run(step.call)
            except ToolkitError as exc:
                error = self._error(exc)
                note(f"FAILED {step.call.op} {step.call.subject}: {error}")
                undo_errors = self._reverse(done, note)
                return RemediationOutcome(ok=False, rolled_back=not undo_errors, log="\n".join(lines),
                                          error=error + ("; rollback incomplete: " + "; ".join(undo_errors)
                                                         if undo_errors else ""))
            if changed:  # a call that found the target already so has nothing to roll back
                done.append(step)
            note(f"ok {step.call.op} {step.call.subject}" + ("" if changed else " (unchanged)"))
        return RemediationOutcome(ok=True, log="\n".join(lines))

    def undo(self, plan: RemediationPlan, work_dir: Any, log: Callable[[str], None]) -> RemediationOutcome:
        detail = self._detail(plan)
        lines: list[str] = []

        def note(text: str) -> None:
            text = self.masker(text)
            lines.append(text)
            log(text)

        errors = self._reverse(list(detail.steps), note)
        return RemediationOutcome(ok=not errors, rolled_back=not errors, log="\n".join(lines),
                                  error="; ".join(errors) or None)

    def _reverse(self, steps: list[GatewayStep], note: Callable[[str], None]) -> list[str]:
        """Every inverse, newest first; one that fails does not stop the others (each is independent)."""
        errors = []
        for step in reversed(steps):
            try:
                self._run(step.undo)
                note(f"undone {step.undo.op} {step.undo.subject}")
            except ToolkitError as exc:
                errors.append(f"{step.undo.op} {step.undo.subject}: {self._error(exc)}")
                note(f"FAILED undo {step.undo.op} {step.undo.subject}: {self._error(exc)}")
        return errors
