"""The `Directory` port: who a person is and which SOP roles they hold.

The embedded default reads a roles file (`integrations.identity.roles_file`); Keycloak realm roles
will implement the same port, so approval rules never depend on where roles come from.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict


class Person(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    username: str
    name: str
    roles: frozenset[str]
    email: str | None = None
    opd: str | None = None
    title: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles


@runtime_checkable
class Directory(Protocol):
    def person(self, username: str) -> Person:
        """Raises `toolkit.errors.NotFoundError` for an unknown user."""
        ...

    def people_with_role(self, role: str) -> list[Person]: ...
