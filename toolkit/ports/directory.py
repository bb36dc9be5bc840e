"""The `Directory` port: who a person is and which SOP roles they hold.

The embedded default reads a roles file (`integrations.identity.roles_file`); Keycloak realm roles
will implement the same port, so approval rules never depend on where roles come from.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class Person(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    username: str
    name: str
    roles: frozenset[str]
    email: str | None = None
    opd: str | None = None
    title: str | None = None
    unix_user: str | None = None  # the operating-system account that acts as this person on the CLI
    nip: str | None = Field(default=None, pattern=r"^[0-9]{18}$")  # a civil servant's NIP, printed under a signature

    def has_role(self, role: str) -> bool:
        return role in self.roles


@runtime_checkable
class Directory(Protocol):
    def person(self, username: str) -> Person:
        """Raises `toolkit.errors.NotFoundError` for an unknown user."""
        ...

    def people_with_role(self, role: str) -> list[Person]: ...

    def person_for_unix_user(self, unix_user: str) -> Person:
        """The person an operating-system account acts as; `toolkit.errors.NotFoundError` if none."""
        ...
