"""The embedded `Directory`: people and their SOP roles from a YAML file.

Approval rules rest entirely on these roles, so the file is checked strictly when it is loaded:
an unknown key, an unknown role id (a typo would silently leave a step without an approver) or a
username listed twice is refused, and the error names the file and the entry so the fix is
obvious. The file is read once, at construction; restart to pick up changes.

Format::

    people:
      - username: sari
        name: Sari Wulandari
        roles: [koordinator-layanan]
        email: sari@diskominfo.example.go.id      # optional
        opd: Dinas Komunikasi dan Informatika      # optional
        title: Koordinator Layanan                 # optional
        unix_user: sari                            # optional: the OS account that acts as her on the CLI
        nip: "198503122010012003"                  # optional: NIP (18 digits), printed under her signature
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from toolkit.adapter_options import AdapterOptions
from toolkit.domain import yaml_doc
from toolkit.domain.catalog.loader import roles_of
from toolkit.domain.tickets.models import Username
from toolkit.errors import ConfigurationError, NotFoundError
from toolkit.ports.directory import Person
from toolkit.settings import Settings

# The role ids of the SOPs: the catalog's role book (toolkit/domain/catalog/roles.yaml), which lists every
# role whether or not a step names it yet, so a role held by nobody yet is still a valid thing to grant.
KNOWN_ROLES: frozenset[str] = roles_of(None).ids()


def _known_role(role: str) -> str:
    if role not in KNOWN_ROLES:
        raise ValueError(f"unknown role '{role}'; known roles: {', '.join(sorted(KNOWN_ROLES))}")
    return role


RoleId = Annotated[str, AfterValidator(_known_role)]


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
    username: Username
    name: str = Field(min_length=1, max_length=200)
    roles: list[RoleId] = Field(min_length=1)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    opd: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    unix_user: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    nip: str | None = Field(default=None, pattern=r"^[0-9]{18}$")


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors(include_url=False)
    )


def load_people(path: Path) -> dict[str, Person]:
    """Parse and check a roles file; every problem is a `ConfigurationError` naming the file."""
    try:
        document: Any = yaml_doc.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"roles file {path} cannot be read: {exc.strerror}",
                                 path=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"roles file {path} is not valid YAML: {exc}", path=str(path)) from None
    shaped = isinstance(document, dict) and set(document) == {"people"}
    if not (shaped and isinstance(document["people"], list)):
        raise ConfigurationError(
            f"roles file {path} must be a mapping with one key, 'people', holding a list", path=str(path)
        )
    people: dict[str, Person] = {}
    unix_users: dict[str, str] = {}
    for index, raw in enumerate(document["people"]):
        label = f"people[{index}]"
        if isinstance(raw, dict) and isinstance(raw.get("username"), str):
            label += f" ({raw['username']})"
        try:
            entry = _Entry.model_validate(raw)
        except ValidationError as exc:
            raise ConfigurationError(f"roles file {path}, {label}: {_describe(exc)}",
                                     path=str(path), index=index) from None
        if entry.username in people:
            raise ConfigurationError(
                f"roles file {path}, {label}: username '{entry.username}' is listed twice",
                path=str(path), index=index,
            )
        if entry.unix_user is not None and entry.unix_user in unix_users:
            raise ConfigurationError(
                f"roles file {path}, {label}: unix_user '{entry.unix_user}' already acts as "
                f"'{unix_users[entry.unix_user]}'", path=str(path), index=index)
        if entry.unix_user is not None:
            unix_users[entry.unix_user] = entry.username
        people[entry.username] = Person(
            username=entry.username, name=entry.name, roles=frozenset(entry.roles),
            email=entry.email, opd=entry.opd, title=entry.title, unix_user=entry.unix_user,
            nip=entry.nip,
        )
    return people


class RolesFileOptions(AdapterOptions):
    """``directory.options`` of roles_file."""

    path: str | None = Field(default=None, min_length=1, description="the roles file; None: settings.roles_file")


class RolesFileDirectory:
    Options = RolesFileOptions

    def __init__(self, *, settings: Settings, path: str | None = None) -> None:
        self.path = Path(path) if path is not None else Path(settings.roles_file)
        self._people = load_people(self.path)

    def person(self, username: str) -> Person:
        found = self._people.get(username)
        if found is None:
            raise NotFoundError(f"no person '{username}' in {self.path}", user=username)
        return found

    def people_with_role(self, role: str) -> list[Person]:
        return sorted((p for p in self._people.values() if role in p.roles), key=lambda p: p.username)

    def person_for_unix_user(self, unix_user: str) -> Person:
        found = next((p for p in self._people.values() if p.unix_user == unix_user), None)
        if found is None:
            raise NotFoundError(f"no person in {self.path} has unix_user '{unix_user}'", unix_user=unix_user)
        return found

    def people(self) -> list[Person]:
        return sorted(self._people.values(), key=lambda p: p.username)
