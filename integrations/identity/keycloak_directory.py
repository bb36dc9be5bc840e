"""The `Directory` backed by Keycloak: who may approve is whoever holds the realm role in Keycloak.

Configured as ``[directory] kind = "keycloak"`` with ``[identity]`` saying where Keycloak is. The
roles file is then not read at all: granting or revoking an approver is done in Keycloak, and takes
effect on the next decision (nothing is cached, so a revoked approver cannot approve even once more).

Realm roles map to the SOP roles of the catalog (`integrations.identity.roles_file.KNOWN_ROLES`):
by default a realm role named like an SOP role *is* that role, optionally behind a prefix
(``role_prefix = "spbe-"``: realm role ``spbe-penyedia-api`` is ``penyedia-api``), and ``role_map``
names any others (``{"kadis" = "kepala-dinas"}``). Realm roles that map to nothing (Keycloak's
``offline_access``, ``default-roles-<realm>``, other applications' roles) are ignored. Roles are
the user's *effective* realm roles, composites expanded, as in the tokens Keycloak issues.

A disabled Keycloak account (for example after CSIRT containment) is a person with no roles: it can
neither open nor decide anything. Service accounts are never people.

The person's ``opd`` and ``title`` come from the Keycloak user attributes of those names, the NIP printed
under a signature from the attribute ``nip_attribute`` (default ``nip``). Keycloak hands every attribute
over as a list of strings (``"attributes": {"nip": ["198503122010012003"]}``). A NIP that is not exactly
18 ASCII digits, or an attribute holding several different values, is left out with a warning that names
the user and the attribute but not the value: a typo in Keycloak must cost a blank NIP line on a
document, never the directory (which every approval asks). With Keycloak 24+ the attribute must be
declared in the realm's user profile (or unmanaged attributes enabled), else Keycloak drops it.
"""

from __future__ import annotations

import logging
import re

from pydantic import Field

from integrations.identity.keycloak import KeycloakIdentityProvider
from integrations.identity.roles_file import KNOWN_ROLES
from toolkit.adapter_options import AdapterOptions
from toolkit.errors import ConfigurationError, NotFoundError
from toolkit.masking import Masker
from toolkit.ports.directory import Person
from toolkit.ports.identity_provider import IdentityProvider, IdpUser
from toolkit.settings import Settings

_SERVICE_ACCOUNT_PREFIX = "service-account-"
# A Keycloak attribute name we read: a plain identifier (no spaces, ':' or quotes to confuse a query or a log).
ATTRIBUTE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
_NIP = re.compile(r"[0-9]{18}")  # ASCII digits only: str.isdigit() would accept other scripts' digits
log = logging.getLogger("spbe.identity.directory")


class KeycloakDirectoryOptions(AdapterOptions):
    """``directory.options`` of keycloak (Keycloak itself is ``[identity]``)."""

    role_prefix: str = Field(default="", max_length=64, description="realm roles are the SOP roles behind this")
    role_map: dict[str, str] = Field(default_factory=dict, description="realm role -> SOP role, for other names")
    nip_attribute: str = Field(default="nip", pattern=ATTRIBUTE_NAME_PATTERN,
                               description="the user attribute holding the NIP (18 digits) printed on documents")


class KeycloakDirectory:
    Options = KeycloakDirectoryOptions

    def __init__(self, *, settings: Settings, role_prefix: str = "", role_map: dict[str, str] | None = None,
                 nip_attribute: str = "nip", provider: IdentityProvider | None = None,
                 masker: Masker | None = None) -> None:
        if not (isinstance(nip_attribute, str) and re.fullmatch(ATTRIBUTE_NAME_PATTERN, nip_attribute)):
            raise ConfigurationError(f"directory.options.nip_attribute {str(nip_attribute)[:80]!r} is not a valid "
                                     "attribute name (letters, digits, '_', '.', '-'; at most 64)")
        self.nip_attribute = nip_attribute
        self.provider: IdentityProvider = provider or KeycloakIdentityProvider(settings=settings, masker=masker)
        self.role_prefix = role_prefix
        self.role_map = dict(role_map or {})
        unknown = sorted({v for v in self.role_map.values() if v not in KNOWN_ROLES})
        if unknown:
            raise ConfigurationError(f"directory.options.role_map maps to unknown SOP roles: {', '.join(unknown)}",
                                     roles=unknown)

    def sop_role(self, realm_role: str) -> str | None:
        """The catalog role a Keycloak realm role stands for, or None."""
        if realm_role in self.role_map:
            return self.role_map[realm_role]
        if self.role_prefix and not realm_role.startswith(self.role_prefix):
            return None
        bare = realm_role[len(self.role_prefix):]
        return bare if bare in KNOWN_ROLES else None

    def realm_roles_for(self, sop_role: str) -> list[str]:
        mapped = [realm for realm, role in self.role_map.items() if role == sop_role]
        default = f"{self.role_prefix}{sop_role}"
        if default not in self.role_map:
            mapped.append(default)
        return mapped

    def _person(self, user: IdpUser, roles: frozenset[str]) -> Person:
        def first(name: str) -> str | None:
            values = user.attributes.get(name, ())
            return values[0][:200] if values else None

        return Person(username=user.username, name=user.display_name[:200],
                      roles=roles if user.enabled else frozenset(), email=user.email, opd=first("opd"),
                      title=first("title"), unix_user=first("unix_user"), nip=self._nip(user))

    def _nip(self, user: IdpUser) -> str | None:
        """The user's NIP, or None (with a warning) when the attribute does not hold one well-formed value."""
        values = set(user.attributes.get(self.nip_attribute, ()))
        if not values:
            return None
        if len(values) > 1:
            log.warning("ignoring Keycloak attribute %r of user %r: %d different values, expected one NIP",
                        self.nip_attribute, user.username, len(values))
            return None
        (value,) = values
        if not _NIP.fullmatch(value):
            log.warning("ignoring Keycloak attribute %r of user %r: not a NIP of 18 digits (%d characters)",
                        self.nip_attribute, user.username, len(value))
            return None
        return value

    def person(self, username: str) -> Person:
        if username.startswith(_SERVICE_ACCOUNT_PREFIX):
            raise NotFoundError(f"'{username}' is a service account, not a person", user=username)
        user = self.provider.get_user(username)
        roles = frozenset(r for r in (self.sop_role(name) for name in self.provider.user_realm_roles(username)) if r)
        return self._person(user, roles)

    def person_for_unix_user(self, unix_user: str) -> Person:
        """The Keycloak user whose ``unix_user`` attribute names this account (exactly one)."""
        users = [u for u in self.provider.users_with_attribute("unix_user", unix_user)
                 if not u.username.startswith(_SERVICE_ACCOUNT_PREFIX)]
        if len(users) != 1:
            problem = "no Keycloak user has" if not users else f"{len(users)} Keycloak users have"
            raise NotFoundError(f"{problem} the attribute unix_user={unix_user}", unix_user=unix_user)
        return self.person(users[0].username)

    def people_with_role(self, role: str) -> list[Person]:
        """Direct members of the mapped realm roles (Keycloak lists direct members only; someone who
        has the role through a composite or a group is still recognised by `person`)."""
        usernames: set[str] = set()
        for realm_role in self.realm_roles_for(role):
            try:
                members = self.provider.users_with_realm_role(realm_role)
            except NotFoundError:
                continue
            usernames.update(u.username for u in members
                             if u.enabled and not u.username.startswith(_SERVICE_ACCOUNT_PREFIX))
        people = [self.person(name) for name in sorted(usernames)]
        return [p for p in people if role in p.roles]
