"""Lifecycle of issued API credentials: revoke, rotate, expire, and the CSIRT revocation hook.

Issue 4, "Lifecycle": every credential spbe issued (the register in `toolkit.splp.issued`) can be
revoked or rotated by a person entitled to (the provider of that API, the koordinator-layanan, the
CSIRT), with a reason; credentials past their expiry date are revoked by a sweep (``spbe api expire``,
and `spbe serve` on a schedule), once. Each change is made at the gateway first (and at the identity
provider for an OAuth2 client), then in the vault and the register, then written to the audit log
and posted to the ticket in Bahasa Indonesia through the outbox (retried while the ticket system is
down, shown once thanks to a dedupe key).

`revoke_compromised_consumer` is the hook CSIRT containment calls for a consumer by name: it disables
every credential of the consumer at the gateway (the consumer itself stays, for the record and a
later re-issue), audits it and returns what it did as data. Idempotent.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from toolkit.audit.port import AuditTrail
from toolkit.domain.catalog.roles import RoleTrait
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.domain.tickets.models import EventKind
from toolkit.domain.tickets.requests import check_free_text
from toolkit.errors import (
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ToolkitError,
)
from toolkit.masking import Masker
from toolkit.ports.gateway import Gateway, GatewayNotFoundError, require_gateway_name
from toolkit.ports.jobs import event_item
from toolkit.ports.state import IssuedCredentials
from toolkit.ports.state_records import IssuedCredential
from toolkit.services import Services
from toolkit.splp.apis import load_register

log = logging.getLogger("spbe.splp")
API_KEY_SECRET = "api-key"  # noqa: S105 - vault entry names, not secrets
OAUTH2_SECRET = "oauth2-client-secret"  # noqa: S105
SYSTEM = "system"


class Revocation(BaseModel):
    model_config = ConfigDict(frozen=True)
    consumer: str
    gateway: str
    revoked_key_ids: tuple[str, ...]
    already_revoked: bool
    register_revoked: tuple[str, ...] = ()  # tickets whose register row this revocation ended
    actor: str
    reason: str
    at: datetime


class LifecycleOutcome(BaseModel):
    """What one revoke / rotate / expiry did to one ticket's credential (never a secret)."""

    model_config = ConfigDict(frozen=True)
    ticket_id: str
    event: Literal["revoked", "rotated", "expired"]
    consumer: str
    api: str
    changed: bool
    revoked_key_ids: tuple[str, ...] = ()
    new_key_id: str | None = None
    new_masked: str | None = None
    expires_at: datetime | None = None
    oauth2_client: str | None = None
    error: str | None = None


def revoke_compromised_consumer(gateway: Gateway, audit: AuditTrail, consumer: str, *, actor: str, auth: AuthMethod,
                                reason: str,
                                ticket_id: str | None = None, masker: Masker | None = None,
                                register: IssuedCredentials | None = None) -> Revocation:
    """Revoke every credential of ``consumer`` on ``gateway`` and audit it (``ticket_id``: the incident).

    With ``register`` (the SPLP register of issued credentials), every active row of the consumer on
    this gateway is ended as ``revoked`` too, so `spbe api list` says what the gateway now does.

    Raises `toolkit.ports.gateway.GatewayNotFoundError` for an unknown consumer and the gateway's other errors
    (unreachable, auth) unchanged, so containment can retry; never returns a partial success silently."""
    consumer = require_gateway_name(consumer, "consumer")
    mask = masker or Masker()
    revoked = tuple(gateway.revoke(consumer))
    now = datetime.now(UTC)
    why = mask(reason[:500])
    ended: list[str] = []
    if register is not None:
        for cred in register.by_consumer(consumer):
            if cred.gateway == gateway.name and cred.status == "active":
                register.end(cred.ticket_id, "revoked", actor=actor, reason=why, at=now)
                ended.append(cred.ticket_id)
    result = Revocation(consumer=consumer, gateway=gateway.name, revoked_key_ids=revoked,
                        already_revoked=not revoked, register_revoked=tuple(ended), actor=actor, reason=why, at=now)
    audit.append(actor, "api.revoke", ticket_id, {"consumer": consumer, "gateway": gateway.name,
                                                  "key_ids": list(revoked), "register_tickets": ended,
                                                  "reason": result.reason, "auth": auth.value})
    return result


# ------------------------------------------------------------------------------------------ helpers


def _reason(text: str | None) -> str:
    """The free-text rules apply to what was typed, before whitespace is collapsed: ``str.split``
    counts U+001C-U+001F, U+0085 and U+2028 as spaces and would quietly swallow them."""
    value = " ".join(check_free_text(text, "reason", max_length=500).split()) if text and text.strip() else ""
    if len(value) < 3:
        raise InvalidInputError("a reason is required (at least 3 characters)", errors=[("reason", "required")])
    return value


def authorise(app: Services, principal: Principal, cred: IssuedCredential, verb: str) -> str:
    """The provider of the credential's API, the koordinator-layanan or the CSIRT; returns the actor's
    display name. A refusal is audited before it is raised."""
    actor = principal.user
    try:
        person = app.directory.person(actor)
    except NotFoundError:
        person = None
    if person is not None:
        if person.roles & app.catalog.roles.with_trait(RoleTrait.MANAGES_API_CREDENTIALS):
            return str(person.name)
        try:
            providers = load_register(app.settings.splp_register).get(cred.api).providers
        except NotFoundError:
            providers = ()
        if person.roles & app.catalog.roles.with_trait(RoleTrait.API_PROVIDER) and actor in providers:
            return str(person.name)
    app.audit.append(actor[:64] or "-", f"api.{verb}.refused", cred.ticket_id,
                     {"consumer": cred.consumer, "api": cred.api, "reason": "not_authorised",
                      **principal.audit_data()})
    raise PermissionDeniedError(
        f"{actor} may not {verb} the credential of {cred.ticket_id}: needs the provider of API '{cred.api}', "
        "a koordinator-layanan or the CSIRT", user=actor, ticket=cred.ticket_id)


def _post(app: Services, cred: IssuedCredential, event: str, actor: str, key: str, context: dict[str, Any]) -> None:
    text = app.masker(str(app.renderer.render("comments", "kredensial_api", {
        "peristiwa": event, "kredensial": cred.model_dump(), **context})))
    app.queue.add_outbox([event_item(cred.ticket_id, f"{cred.ticket_id}:api-{key}", EventKind.COMMENT, text,
                                     actor=actor, data={"api_lifecycle": event, "consumer": cred.consumer})])
    try:
        app.deliver_outbox()
    except ToolkitError as exc:  # the change stands; the outbox retries the comment later
        log.warning("api %s of %s: comment deferred: %s", event, cred.ticket_id, app.masker(str(exc)))


def _end_secrets(app: Services, ticket_id: str, principal: Principal, reason: str) -> None:
    """Destroy the ticket's stored secrets (the credential is dead at its source)."""
    try:
        vault = app.vault
    except ConfigurationError:
        return
    for record in vault.records(ticket_id):
        if record.name in (API_KEY_SECRET, OAUTH2_SECRET):
            vault.revoke(ticket_id, record.name, actor=principal.user, reason=reason, auth=principal.auth)


def _disable_client(app: Services, client_id: str | None) -> None:
    if client_id:
        try:
            app.identity.disable_client(client_id)
        except NotFoundError:
            pass  # deleted in Keycloak by hand: nothing left to disable


def _revoke_at_gateway(gateway: Gateway, consumer: str) -> tuple[str, ...]:
    try:
        return tuple(gateway.revoke(consumer))
    except GatewayNotFoundError:
        return ()  # the consumer is gone from the gateway: nothing of it can be used any more


# ------------------------------------------------------------------------------------------ operations


def revoke_credential(app: Services, ticket_id: str, *, principal: Principal, reason: str | None) -> LifecycleOutcome:
    actor = principal.user
    why = app.masker(_reason(reason))  # malformed input is refused before anything is looked up or audited
    store = app.state.issued
    cred = store.get(ticket_id)
    name = authorise(app, principal, cred, "revoke")
    if cred.status in ("revoked", "expired"):
        return LifecycleOutcome(ticket_id=ticket_id, event="revoked", consumer=cred.consumer, api=cred.api,
                                changed=False, oauth2_client=cred.oauth2_client)
    gateway = app.gateway
    revoked = _revoke_at_gateway(gateway, cred.consumer)
    _disable_client(app, cred.oauth2_client)
    _end_secrets(app, ticket_id, principal, f"credential revoked: {why}")
    ended = store.end(ticket_id, "revoked", actor=actor, reason=why, at=app.clock.now())
    app.audit.append(actor, "api.revoke", ticket_id, {
        "consumer": cred.consumer, "api": cred.api, "gateway": gateway.name, "key_ids": list(revoked),
        "oauth2_client": cred.oauth2_client, "reason": why, **principal.audit_data()})
    _post(app, cred, "dicabut", actor, f"revoked:{cred.key_id}", {"oleh": name, "alasan": why,
                                                                  "oauth2": cred.oauth2_client})
    return LifecycleOutcome(ticket_id=ticket_id, event="revoked", consumer=cred.consumer, api=cred.api, changed=True,
                            revoked_key_ids=revoked, oauth2_client=cred.oauth2_client, expires_at=ended.expires_at)


def revoke_consumer(app: Services, consumer: str, *, principal: Principal,
                    reason: str | None) -> list[LifecycleOutcome]:
    """Every credential spbe issued to ``consumer`` (one per ticket), revoked."""
    consumer = require_gateway_name(consumer, "consumer")
    _reason(reason)
    found = app.state.issued.by_consumer(consumer)
    if not found:
        raise NotFoundError(f"no API credential issued by spbe for consumer '{consumer}'", consumer=consumer)
    return [revoke_credential(app, c.ticket_id, principal=principal, reason=reason) for c in found]


def rotate_credential(app: Services, ticket_id: str, *, principal: Principal, reason: str | None) -> LifecycleOutcome:
    """A new secret at the gateway (same ACL and quota), the old one refused from now on; the new one
    goes to the vault for the ticket's applicant to reveal once. The validity period stays as long as
    it was, counted from now."""
    from toolkit.vault import VaultMeta

    actor = principal.user
    why = app.masker(_reason(reason))
    store = app.state.issued
    cred = store.get(ticket_id)
    name = authorise(app, principal, cred, "rotate")
    now = app.clock.now()
    if cred.status_at(now) != "active":
        raise ConflictError(f"the credential of {ticket_id} is {cred.status_at(now)}: it cannot be rotated; "
                            "a new SPLP request issues a new one", ticket=ticket_id)
    vault = app.vault  # before any change: without a vault key nothing is rotated
    ttl_days = max(1, round((cred.expires_at - cred.issued_at) / timedelta(days=1)))
    gateway = app.gateway
    new = gateway.rotate(cred.consumer, ttl_days=ttl_days)
    app.masker.add(new.secret)
    expires = new.expires_at or now + timedelta(days=ttl_days)
    attributes = {"consumer": cred.consumer, "consumer_id": cred.consumer_id, "key_id": new.key_id,
                  "endpoint": cred.endpoint, "kind": new.kind, "gateway": gateway.name}
    record = vault.put(ticket_id, API_KEY_SECRET, new.secret, replace=True, actor=actor, auth=principal.auth,
                       meta=VaultMeta(
        recipient=cred.applicant, label=f"Kredensial API {cred.api} (rotasi)", expires_at=expires,
        attributes=attributes))
    if cred.oauth2_client:
        secret = app.identity.rotate_client_secret(cred.oauth2_client)
        vault.put(ticket_id, OAUTH2_SECRET, secret, replace=True, actor=actor, auth=principal.auth,
                  meta=VaultMeta(
            recipient=cred.applicant, label=f"Secret client OAuth2 {cred.oauth2_client} (rotasi)",
            expires_at=expires, attributes={"client_id": cred.oauth2_client}))
    store.rotated(ticket_id, key_id=new.key_id, masked=record.masked, issued_at=now, expires_at=expires)
    app.audit.append(actor, "api.rotate", ticket_id, {
        "consumer": cred.consumer, "api": cred.api, "gateway": gateway.name, "old_key_id": cred.key_id,
        "new_key_id": new.key_id, "masked": record.masked, "oauth2_client": cred.oauth2_client, "reason": why,
        **principal.audit_data()})
    _post(app, cred, "dirotasi", actor, f"rotated:{new.key_id}", {
        "oleh": name, "alasan": why, "oauth2": cred.oauth2_client,
        "baru": {"key_id": new.key_id, "masked": record.masked, "expires_at": expires}})
    return LifecycleOutcome(ticket_id=ticket_id, event="rotated", consumer=cred.consumer, api=cred.api, changed=True,
                            revoked_key_ids=(cred.key_id,), new_key_id=new.key_id, new_masked=record.masked,
                            expires_at=expires, oauth2_client=cred.oauth2_client)


def expire_due(app: Services, now: datetime | None = None) -> list[LifecycleOutcome]:
    """Revoke every active credential past its expiry date, once (rows are claimed atomically); a
    credential whose revocation fails is given back to the next sweep and reported with its error."""
    now = now or app.clock.now()
    store = app.state.issued
    due = store.claim_due(now)
    if not due:
        return []
    try:
        gateway = app.gateway
    except ToolkitError:
        for cred in due:
            store.release(cred.ticket_id)
        raise
    outcomes = []
    for cred in due:
        reason = f"masa berlaku habis pada {cred.expires_at:%d-%m-%Y %H:%M} UTC"
        try:
            revoked = _revoke_at_gateway(gateway, cred.consumer)
            _disable_client(app, cred.oauth2_client)
            _end_secrets(app, cred.ticket_id, Principal(user=SYSTEM, auth=AuthMethod.ENGINE), "credential expired")
        except ToolkitError as exc:
            store.release(cred.ticket_id)
            message = app.masker(str(exc))
            app.audit.append(SYSTEM, "api.expire.failed", cred.ticket_id, {"auth": "engine", "consumer": cred.consumer,
                                                                           "error": message})
            outcomes.append(LifecycleOutcome(ticket_id=cred.ticket_id, event="expired", consumer=cred.consumer,
                                             api=cred.api, changed=False, error=message))
            continue
        store.end(cred.ticket_id, "expired", actor=SYSTEM, reason=reason, at=now)
        app.audit.append(SYSTEM, "api.expire", cred.ticket_id, {"auth": "engine",
            "consumer": cred.consumer, "api": cred.api, "gateway": gateway.name, "key_ids": list(revoked),
            "expires_at": cred.expires_at.isoformat(), "oauth2_client": cred.oauth2_client})
        _post(app, cred, "kedaluwarsa", SYSTEM, f"expired:{cred.key_id}", {
            "oleh": "sistem", "alasan": reason, "oauth2": cred.oauth2_client})
        outcomes.append(LifecycleOutcome(ticket_id=cred.ticket_id, event="expired", consumer=cred.consumer,
                                         api=cred.api, changed=True, revoked_key_ids=revoked,
                                         expires_at=cred.expires_at, oauth2_client=cred.oauth2_client))
    return outcomes


def listing(app: Services, status: str | None = None, now: datetime | None = None,
            live: bool = False) -> list[dict[str, Any]]:
    """`spbe api list`: the register, with the status a person should see (masked key only). ``live``
    also asks the gateway whether each key is still active there: a key revoked outside spbe (by CSIRT
    containment, or by hand) then shows as revoked, with ``gateway_active`` False."""
    now = now or app.clock.now()
    active_at_gateway: dict[str, set[str]] | None = None
    if live:
        gateway = app.gateway
        active_at_gateway = {info.consumer.name: {c.key_id for c in info.credentials if c.active}
                             for info in gateway.list_consumers()}
    rows = []
    for cred in app.state.issued.all():
        shown = cred.status_at(now)
        gateway_active = None
        if active_at_gateway is not None:
            gateway_active = cred.key_id in active_at_gateway.get(cred.consumer, set())
            if shown == "active" and not gateway_active:
                shown = "revoked"
        if status and shown != status:
            continue
        rows.append({"ticket_id": cred.ticket_id, "api": cred.api, "consumer": cred.consumer,
                     "consumer_id": cred.consumer_id, "kind": cred.kind, "oauth2_client": cred.oauth2_client,
                     "key_id": cred.key_id, "masked_key": cred.masked, "per_minute": cred.per_minute,
                     "endpoint": cred.endpoint, "gateway": cred.gateway, "applicant": cred.applicant,
                     "issued_at": cred.issued_at, "expires_at": cred.expires_at, "status": shown,
                     "gateway_active": gateway_active, "ended_at": cred.ended_at, "ended_by": cred.ended_by,
                     "reason": cred.reason})
    return rows
