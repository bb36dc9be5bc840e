"""The SPLP actions' data: the request they accept (every field ends up in a URL path, a gateway config
or a document, so it is checked here), their plans and the facts they record. The issued secret is
never in any of them: it is in the vault, and the facts name it (``vault_secret``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from toolkit.actions.base import ActionFacts, ActionPlan
from toolkit.ports.gateway import CredentialKind, check_gateway_name

DEFAULT_TTL_DAYS = 365
MAX_NEEDS = 2000


class IssueRequest(BaseModel):
    """The ticket's request, checked before it reaches the gateway (every field ends up in a URL path,
    a gateway config or a document)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    ticket: str
    api: str
    consumer: str
    needs: str = Field(min_length=1, max_length=MAX_NEEDS)
    per_minute: int = Field(ge=1)
    ttl_days: int = Field(default=DEFAULT_TTL_DAYS, ge=1, le=3650)
    oauth2: bool = False

    @field_validator("api", "consumer")
    @classmethod
    def _safe(cls, value: str) -> str:
        return check_gateway_name(value)

    @field_validator("needs")
    @classmethod
    def _text(cls, value: str) -> str:
        if any(ord(c) < 32 and c not in "\n\t" for c in value) or "{{" in value or "{%" in value:
            raise ValueError("contains control characters or template syntax")
        return value


class IssuePlan(ActionPlan):
    action: Literal["gateway.issue_endpoint"] = "gateway.issue_endpoint"
    request: IssueRequest
    gateway: str
    calls: tuple[str, ...]


class IssuedFacts(ActionFacts):
    """What was issued; the secret itself is only in the vault (``vault_secret`` names it)."""

    api: str
    endpoint: str
    consumer: str
    consumer_id: str
    key_id: str
    kind: CredentialKind
    masked_key: str
    acl_group: str
    per_minute: int
    requested_per_minute: int
    expires_at: str
    gateway: str
    vault_secret: str
    oauth2_client: str | None = None
    token_endpoint: str | None = None
    oauth2_endpoint: str | None = None


class IssueFailedFacts(ActionFacts):
    error: str
    undone: list[str]


class TryOutPlan(ActionPlan):
    action: Literal["gateway.try_out"] = "gateway.try_out"
    endpoint: str
    consumer: str
    key_id: str
    consumer_id: str
    kind: CredentialKind = "key-auth"
    path: str = "/"
    api: str = ""
    oauth2_client: str | None = None
    oauth2_endpoint: str | None = None


class TryOutFacts(ActionFacts):
    endpoint: str
    status_with_key: int
    status_without_key: int
    response_bytes: int
    tested_at: str
    oauth2_client: str | None = None
    token_valid: bool | None = None
    token_audience: list[str] | None = None
    token_expires_at: str | None = None
    token_role: str | None = None
    oauth2_endpoint: str | None = None
    status_with_token: int | None = None
    status_without_token: int | None = None
