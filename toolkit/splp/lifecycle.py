"""Lifecycle of issued API consumers: the revocation CSIRT containment calls for a compromised consumer.

`revoke_compromised_consumer` is the hook: it disables every credential of the consumer at the gateway
(the consumer itself stays, for the record and for a later re-issue), writes the decision to the audit
log and returns what it did as data, so the containment step can post it and undo nothing by accident.
Idempotent: revoking an already revoked consumer revokes nothing more and says so.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from toolkit.audit import AuditLog
from toolkit.gateway import Gateway, require_gateway_name
from toolkit.masking import Masker


class Revocation(BaseModel):
    model_config = ConfigDict(frozen=True)
    consumer: str
    gateway: str
    revoked_key_ids: tuple[str, ...]
    already_revoked: bool
    actor: str
    reason: str
    at: datetime


def revoke_compromised_consumer(gateway: Gateway, audit: AuditLog, consumer: str, *, actor: str, reason: str,
                                ticket_id: str | None = None, masker: Masker | None = None) -> Revocation:
    """Revoke every credential of ``consumer`` on ``gateway`` and audit it (``ticket_id``: the incident).

    Raises `toolkit.gateway.GatewayNotFoundError` for an unknown consumer and the gateway's other errors
    (unreachable, auth) unchanged, so containment can retry; never returns a partial success silently."""
    consumer = require_gateway_name(consumer, "consumer")
    mask = masker or Masker()
    revoked = tuple(gateway.revoke(consumer))
    result = Revocation(consumer=consumer, gateway=gateway.name, revoked_key_ids=revoked,
                        already_revoked=not revoked, actor=actor, reason=mask(reason[:500]), at=datetime.now(UTC))
    audit.append(actor, "api.revoke", ticket_id, {"consumer": consumer, "gateway": gateway.name,
                                                  "key_ids": list(revoked), "reason": result.reason})
    return result
