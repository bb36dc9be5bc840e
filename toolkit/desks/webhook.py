"""The webhook half of desk intake: a signed, fresh, first-seen delivery names an issue; nothing more.

A delivery's body is only a hint of which issue changed: the intake then reads the issue and its changes from
the desk's API with spbe's own credentials, so a forged or stale body can at worst make spbe look at an issue
early. Still, an unsigned, wrongly signed or stale delivery is refused (401) before anything is stored, a
replayed delivery id inside the window is ignored and counted, and a malformed or oversized body is a 400 that
names the problem.

Signature (the mapping's ``webhook.scheme``): ``spbe``, ``hex(HMAC-SHA256(secret, "<timestamp>." + body))`` in
the signature header (a ``sha256=`` prefix, as GitHub and Gitea send it, is accepted), the Unix timestamp in
the timestamp header and a delivery id header; ``glpi``, GLPI 11's own webhooks (``src/Webhook.php``:
``hash_hmac('sha256', $body . $timestamp, $secret)`` in ``X-GLPI-signature``, ``X-GLPI-timestamp``), which
carry no delivery id, so a delivery is known again by its signature (GLPI's queue re-sends the same body and
timestamp, hence the same signature).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.desks.mapping import DeskMapping
from toolkit.desks.records import DeskRecords
from toolkit.errors import AuthenticationError, InvalidInputError
from toolkit.ports.desk import ISSUE_KEY, valid_issue_key


class _IssueRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int | str


class _GlpiItem(_IssueRef):
    """GLPI's ``item``: a Ticket (its ``id``), or an item of one: an ITILFollowup or a Document_Item names it by
    ``itemtype``/``items_id``, a TicketValidation by ``tickets_id``."""

    itemtype: str | None = None
    items_id: int | str | None = None
    tickets_id: int | str | None = None

    def ticket(self) -> str:
        if self.tickets_id is not None:
            return str(self.tickets_id)
        if self.itemtype == "Ticket" and self.items_id is not None:
            return str(self.items_id)
        return str(self.id)


class _Wrapped(BaseModel):
    model_config = ConfigDict(extra="ignore")
    issue: _IssueRef | None = None


class _Payload(BaseModel):
    """What desks send: ``{"issue_key": "..."}`` (spbe's own form and most home-grown desks), Redmine's webhook
    plugins ``{"payload": {"issue": {"id": 5}}}``, GLPI 11 ``{"item": {"id": 5}}``."""

    model_config = ConfigDict(extra="ignore")
    issue_key: str | None = Field(default=None, pattern=ISSUE_KEY.pattern)
    payload: _Wrapped | None = None
    item: _GlpiItem | None = None
    issue: _IssueRef | None = None


def sign(secret: str, timestamp: str, body: bytes, scheme: str = "spbe") -> str:
    message = body + timestamp.encode() if scheme == "glpi" else timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def issue_key(body: bytes) -> str:
    try:
        payload = _Payload.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else None
        where = ".".join(str(p) for p in first["loc"]) if first else "body"
        raise InvalidInputError(f"webhook body: {where}: not a desk issue reference",
                                errors=[(where, "invalid")]) from None
    ref = payload.issue_key
    if ref is None and payload.item is not None:
        ref = payload.item.ticket()
    for candidate in (payload.payload.issue if payload.payload else None, payload.issue):
        if ref is None and candidate is not None:
            ref = str(candidate.id)
    if ref is None or not valid_issue_key(ref):
        raise InvalidInputError("webhook body: names no issue (issue_key, payload.issue.id, item.id or issue.id)",
                                errors=[("issue_key", "missing")])
    return ref


def accept(mapping: DeskMapping, secret: str, headers: Mapping[str, str], body: bytes, records: DeskRecords,
           now: datetime) -> str | None:
    """The issue key of a genuine first delivery; None for a replay (counted). Raises `AuthenticationError`
    (401) for a missing, wrong or stale signature and `InvalidInputError` (400) for a bad body."""
    hook = mapping.webhook
    if hook is None:
        raise AuthenticationError("this desk takes no webhooks", reason="no webhook configured")
    if len(body) > hook.max_body_bytes:
        raise InvalidInputError(f"webhook body: larger than {hook.max_body_bytes} bytes",
                                errors=[("body", "too large")])
    signature = (_header(headers, hook.signature_name) or "").removeprefix("sha256=")
    timestamp = _header(headers, hook.timestamp_name) or ""
    # GLPI's webhooks carry no delivery id: the same delivery has the same MAC (same body and timestamp)
    delivery = f"glpi-{signature[:64]}" if hook.scheme == "glpi" else _header(headers, hook.delivery_header) or ""
    if not signature or not timestamp.isdigit() or len(timestamp) > 12:
        raise AuthenticationError("webhook signature required", reason="unsigned")
    if not hmac.compare_digest(signature, sign(secret, timestamp, body, hook.scheme)):
        raise AuthenticationError("webhook signature required", reason="bad signature")
    sent = datetime.fromtimestamp(int(timestamp), UTC)
    window = timedelta(seconds=hook.window_s)
    if abs(now - sent) > window:
        raise AuthenticationError("webhook signature required", reason="outside the timestamp window")
    if not delivery or len(delivery) > 128 or not delivery.isprintable():
        raise InvalidInputError("webhook: a delivery id header is required", errors=[(hook.delivery_header, "missing")])
    key = issue_key(body)
    if not records.delivery(mapping.name, f"{delivery}", now, now - 2 * window):
        return None
    return key
