"""What the accounts layer takes in and gives back: validated names and scopes, and views without secrets.

A username reaches SQL, the audit log, a terminal and (later) HTML; it is checked here once, at the
boundary, against the same rule as `Principal.user`, so ``;``, ``$()``, a newline, ``../`` or a
megabyte of text is refused with one clear sentence and nothing is looked up or written. Views are
frozen: a caller reads them, it cannot hand a modified one back.

The one-time secrets (a new token, a new session id) are `SecretStr`, so a repr, a log line or an
exception that carries the object shows ``**********``; the caller reads the value once to hand it over.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, SecretStr, StringConstraints, TypeAdapter, ValidationError

from toolkit.domain.principal import Principal
from toolkit.errors import InvalidInputError

USERNAME_RULE = ("1 to 64 characters: a lowercase letter, then lowercase letters, digits, '.', '_' or '-'")
# Principal.user's rule; pydantic's regex engine anchors ``$`` at the very end (no trailing newline passes).
Username = Annotated[str, StringConstraints(strict=True, max_length=64, pattern=r"^[a-z][a-z0-9._-]{0,63}$")]
_USERNAME = TypeAdapter(Username)


def parse_username(raw: object, field: str = "username") -> str:
    """``raw`` validated as a `Username`, or an `InvalidInputError` naming ``field``. Neither the value
    nor pydantic's message (which quotes it) is echoed: it may be huge or carry terminal controls."""
    try:
        return _USERNAME.validate_python(raw)
    except ValidationError:
        raise InvalidInputError(f"invalid {field}: must be {USERNAME_RULE}", errors=[(field, USERNAME_RULE)]) from None


class Scope(StrEnum):
    """What a personal access token may do: ``read`` looks, ``act`` also changes (and includes read)."""

    READ = "read"
    ACT = "act"

    def grants(self) -> frozenset[Scope]:
        return frozenset({Scope.READ, Scope.ACT}) if self is Scope.ACT else frozenset({Scope.READ})


AccountStatus = Literal["active", "disabled", "locked"]


class AccountView(BaseModel):
    model_config = ConfigDict(frozen=True)
    username: str
    status: AccountStatus
    created_at: datetime
    created_by: str
    password_changed_at: datetime
    disabled_at: datetime | None = None
    locked_until: datetime | None = None
    failed_logins: int = 0
    last_login_at: datetime | None = None


class TokenView(BaseModel):
    """A token as anyone may see it: its public id, never its secret or its digest."""

    model_config = ConfigDict(frozen=True)
    id: str
    user: str
    scope: Scope
    created_at: datetime
    created_by: str
    expires_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def status_at(self, now: datetime) -> Literal["active", "revoked", "expired"]:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "active"


class NewToken(BaseModel):
    """A token just made: ``secret`` is the whole bearer token, shown this once and stored nowhere."""

    model_config = ConfigDict(frozen=True)
    token: TokenView
    secret: SecretStr


class TokenAuthentication(NamedTuple):
    """What a valid token proves: who (``auth`` TOKEN) and what they may do with it."""

    principal: Principal
    scopes: frozenset[Scope]
    token_id: str


class SessionView(BaseModel):
    model_config = ConfigDict(frozen=True)
    principal: Principal
    created_at: datetime
    last_seen_at: datetime
    idle_expires_at: datetime
    expires_at: datetime
    csrf_token: SecretStr  # for the forms of this session's pages; compare with `Sessions.verify_csrf`


class NewSession(BaseModel):
    """A login's result: ``session_id`` goes into the HttpOnly cookie and nowhere else."""

    model_config = ConfigDict(frozen=True)
    session_id: SecretStr
    session: SessionView


def parse_expiry(text: str, max_days: int) -> timedelta:
    """``30d`` or ``12h`` (at least an hour, at most ``max_days``) as a duration; anything else, or an
    unbounded request, is an `InvalidInputError` naming ``expires``."""
    match = re.fullmatch(r"([1-9][0-9]{0,4})([dh])", text, re.ASCII) if isinstance(text, str) else None
    if match is None:
        raise InvalidInputError("invalid expiry: give a number of days or hours, e.g. 30d or 12h",
                                errors=[("expires", "format")])
    amount, unit = int(match.group(1)), match.group(2)
    duration = timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
    if duration > timedelta(days=max_days):
        raise InvalidInputError(f"a token may live at most {max_days} days (settings.accounts.token_max_days)",
                                errors=[("expires", "too long")])
    return duration


def parse_scope(text: object) -> Scope:
    try:
        return Scope(str(text))
    except ValueError:
        raise InvalidInputError("invalid scope: 'read' or 'act'", errors=[("scope", "read or act")]) from None
