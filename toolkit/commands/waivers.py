"""Compliance waivers, the commands: request, approve, reject, revoke (and list, which changes nothing).

A waiver excuses one rule on one target until a date (issue 14, point 5). Who may ask and who may decide
are traits of the role book (``requests-compliance-waivers``, ``approves-compliance-waivers``), asked of the
one policy (`Policy.authorize_role`); the core names no role. Accepting a risk is the four-eyes kind of
decision, so whoever requested a waiver never decides it, whatever roles they hold.

Everything a person typed is checked before anything is authorised or stored: the reason as free text
(at least `MIN_REASON` characters that are not blank), the expiry date (not before today, at most a year
ahead; today in the deployment's zone, ``settings.compliance.timezone``), the profile and the rule against
the loaded profiles, the target's shape by the model. Every change and every refusal of a person is audited
with the principal's ``auth``.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ValidationError

from toolkit.compliance.waivers import expiry_problem, today_in
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.principal import Principal
from toolkit.domain.tickets.requests import check_free_text
from toolkit.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from toolkit.ports.compliance_records import Waiver, WaiverRequest, WaiverStatus
from toolkit.services import Services

Decision = Literal["approve", "reject", "revoke"]
DECISIONS: dict[Decision, WaiverStatus] = {"approve": "approved", "reject": "rejected", "revoke": "revoked"}
MIN_REASON = 10
_OPERATIONS = {RoleTrait.REQUESTS_COMPLIANCE_WAIVERS: "request compliance waivers",
               RoleTrait.APPROVES_COMPLIANCE_WAIVERS: "decide compliance waivers"}


def _refused(app: Services, principal: Principal, action: str, subject: dict[str, str],
             exc: PermissionDeniedError | NotFoundError) -> PermissionDeniedError:
    app.audit.append(principal.user, f"waiver.{action}.refused", None,
                     {**subject, "reason": app.masker(str(exc)), **principal.audit_data()})
    if isinstance(exc, PermissionDeniedError):
        return exc
    return PermissionDeniedError(str(exc), user=principal.user)  # not a person of the directory


def _authorise(app: Services, principal: Principal, trait: RoleTrait, action: str, subject: dict[str, str]) -> None:
    """The policy's answer; a refusal (an unknown person included) is audited before it is raised."""
    roles = sorted(app.catalog.roles.with_trait(trait))
    operation = _OPERATIONS[trait]
    try:
        if not roles:
            raise PermissionDeniedError(f"no role may {operation}: give one the trait '{trait.value}' in the "
                                        "role book", user=principal.user)
        app.policy.authorize_role(principal, roles, operation)
    except (PermissionDeniedError, NotFoundError) as exc:
        raise _refused(app, principal, action, subject, exc) from exc


def waiver_request(*, profile: str, rule_id: str, target: str, reason: str, expires_on: date | str | None,
                   ) -> WaiverRequest:
    """The request from what a person typed (the CLI's and the API's options); pydantic's errors as field
    errors, each naming its field (a missing expiry: ``expires_on: required``)."""
    if expires_on is None or (isinstance(expires_on, str) and not expires_on.strip()):
        raise InvalidInputError("a waiver needs an expiry date (expires_on)", errors=[("expires_on", "required")])
    if not reason or not reason.strip():
        raise InvalidInputError("a waiver needs a written reason", errors=[("reason", "required")])
    try:
        return WaiverRequest(profile=profile, rule_id=rule_id, target=target, reason=reason,
                             expires_on=expires_on)  # type: ignore[arg-type]  # a str is parsed as ISO
    except ValidationError as exc:
        errors = [(".".join(str(p) for p in e["loc"]) or "waiver", e["msg"]) for e in exc.errors()]
        text = "; ".join(f"{field}: {msg}" for field, msg in errors)
        raise InvalidInputError(f"invalid waiver request: {text}", errors=errors) from None


def _check(app: Services, req: WaiverRequest) -> None:
    reason = check_free_text(req.reason, "reason", max_length=2000)
    if len(reason.strip()) < MIN_REASON:
        raise InvalidInputError(f"the reason must say why in at least {MIN_REASON} characters",
                                errors=[("reason", "too short")])
    try:
        profile = app.compliance.profile(req.profile)  # the root's loaded profiles: packaged + the site's
    except NotFoundError as exc:
        raise InvalidInputError(str(exc), errors=[("profile", "unknown")]) from None
    if req.rule_id not in {rule.id for rule in profile.rules}:
        raise InvalidInputError(f"profile {req.profile} has no rule {req.rule_id!r}", errors=[("rule_id", "unknown")])
    problem = expiry_problem(req.expires_on, today_in(app.clock.now(), app.settings.compliance.zone()))
    if problem is not None:
        raise InvalidInputError(f"invalid waiver request: {problem}", errors=[("expires_on", problem)])


def request_waiver(app: Services, principal: Principal, req: WaiverRequest) -> Waiver:
    """Validate, authorise, store (``requested``, the next ``W-NNNN``), audit."""
    _check(app, req)
    subject = {"profile": req.profile, "rule": req.rule_id, "target": req.target}
    _authorise(app, principal, RoleTrait.REQUESTS_COMPLIANCE_WAIVERS, "request", subject)
    waiver = app.state.waivers.request(req, principal.user, app.clock.now())
    app.audit.append(principal.user, "waiver.request", None, {
        "waiver": waiver.id, **subject, "expires_on": waiver.expires_on.isoformat(),
        "reason": app.masker(waiver.reason), **principal.audit_data()})
    return waiver


def decide_waiver(app: Services, principal: Principal, waiver_id: str, decision: Decision,
                  note: str | None = None) -> Waiver:
    """Approve or reject a requested waiver, or revoke an approved one: a holder of the approving trait who
    did not request it. Rejecting and revoking need a note (why); a second decision is a `ConflictError`."""
    if decision not in DECISIONS:
        raise InvalidInputError(f"unknown decision {decision!r} (approve, reject, revoke)",
                                errors=[("decision", "unknown")])
    if note is not None or decision != "approve":
        if note is None or not note.strip():
            raise InvalidInputError(f"to {decision} a waiver needs a written note", errors=[("note", "required")])
        note = check_free_text(note, "note", max_length=2000)
    _authorise(app, principal, RoleTrait.APPROVES_COMPLIANCE_WAIVERS, decision, {"waiver": waiver_id})
    waiver = app.state.waivers.get(waiver_id)  # after the trait: only deciders learn which ids exist
    subject = {"waiver": waiver.id, "profile": waiver.profile, "rule": waiver.rule_id, "target": waiver.target}
    if principal.user == waiver.requested_by:
        own = PermissionDeniedError(f"{principal.user} requested waiver {waiver.id} and may not decide it",
                                    user=principal.user, waiver=waiver.id)
        raise _refused(app, principal, decision, subject, own)
    decided = app.state.waivers.decide(waiver.id, DECISIONS[decision], principal.user, app.clock.now(), note)
    app.audit.append(principal.user, f"waiver.{decision}", None, {
        **subject, "status": decided.status, "note": app.masker(note or ""), **principal.audit_data()})
    return decided


def list_waivers(app: Services, profile: str | None = None, target: str | None = None) -> list[Waiver]:
    """Every waiver (optionally of one profile or target); reading them needs no role."""
    return app.state.waivers.list(profile=profile, target=target)
