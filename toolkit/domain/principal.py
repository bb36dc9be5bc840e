"""Who is acting, and how we know.

Every command takes a `Principal` rather than a bare username, so the audit log can say not only
*who* approved but *how that was established*: the lab's ``--as`` flag proves nothing, an
operating-system account mapped through the directory proves a login on the control node, a portal
session or an OIDC token proves more. Policy decisions do not depend on the method (the SOP's roles
are the same), but an auditor reading the log must be able to tell a lab approval from a real one.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class AuthMethod(StrEnum):
    LAB_AS = "lab-as"  # the --as flag: honoured only in lab and demo deployments
    OS_USER = "os-user"  # the Unix account running the CLI, mapped through the directory's unix_user
    SESSION = "session"  # a portal login
    TOKEN = "token"  # an API token  # noqa: S105 - the name of a login method, not a secret
    OIDC = "oidc"  # a bearer token from the identity provider
    TICKET_SYSTEM = "ticket-system"  # a decision read back from an outside service desk
    ENGINE = "engine"  # spbe itself: automated steps, the outbox, escalations


ENGINE_USER = "spbe"


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    user: str = Field(pattern=r"^[a-z][a-z0-9._-]{0,63}$")
    auth: AuthMethod
    # Where a ticket-system principal came from, ``ticket-system:<desk>:<desk account>``: the directory
    # person is `user`, but the auditor must also see which desk account made the decision.
    via: str | None = Field(default=None, pattern=r"^ticket-system:[a-z][a-z0-9-]{0,39}:[^\s:]{1,120}$")

    @classmethod
    def from_desk(cls, user: str, desk: str, account: str) -> Principal:
        return cls(user=user, auth=AuthMethod.TICKET_SYSTEM, via=f"ticket-system:{desk}:{account}")

    @classmethod
    def engine(cls) -> Principal:
        return cls(user=ENGINE_USER, auth=AuthMethod.ENGINE)

    def audit_data(self) -> dict[str, str]:
        """What every audit entry records about the actor besides the name."""
        return {"auth": self.auth.value} | ({"via": self.via} if self.via else {})

    def __str__(self) -> str:
        return f"{self.user} ({self.auth.value})"
