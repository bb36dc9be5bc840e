"""The people half of the Keycloak identity provider: users, realm roles, and a user's containment
(disable and log out, enable again). A mixin of `KeycloakIdentityProvider`, which supplies ``_call`` (errors
mapped and masked), ``_admin`` (python-keycloak's KeycloakAdmin) and ``cfg``; split out to keep each file
readable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from keycloak import KeycloakAdmin
from pydantic import Field, TypeAdapter, ValidationError

from toolkit.errors import InvalidInputError, NotFoundError
from toolkit.ports.identity_provider import IdpUser, IdpUsername, RealmRole, UserContainment
from toolkit.settings import IdentitySettings

T = TypeVar("T")
_USERNAME = TypeAdapter(IdpUsername)
# Attribute names and the values searched for (a Unix account name): no spaces or ':' to break q=.
_ATTRIBUTE = TypeAdapter(Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_.-]{0,63}$")])


def checked(adapter: TypeAdapter[str], value: str, what: str) -> str:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        raise InvalidInputError(f"{what} {value[:80]!r} is not valid", errors=[(what, "invalid")]) from None


class KeycloakUsers:
    cfg: IdentitySettings
    _admin: KeycloakAdmin

    if TYPE_CHECKING:
        def _call(self, what: str, fn: Callable[..., T], *args: Any, **context: Any) -> T: ...

    # -- people and roles ------------------------------------------------------------------------------
    def _user_rep(self, username: str) -> dict[str, Any]:
        username = checked(_USERNAME, username.lower(), "username")
        found = self._call(f"looking up user {username}", self._admin.get_users,
                           {"username": username, "exact": True}, user=username)
        for rep in found:
            if rep.get("username") == username:
                return dict(rep)
        raise NotFoundError(f"no user '{username}' in realm {self.cfg.realm}", user=username)

    @staticmethod
    def _user(rep: dict[str, Any]) -> IdpUser:
        attributes = rep.get("attributes") or {}
        return IdpUser(
            id=rep["id"], username=rep["username"], enabled=bool(rep.get("enabled")), email=rep.get("email") or None,
            first_name=rep.get("firstName") or None, last_name=rep.get("lastName") or None,
            attributes={str(k): tuple(str(x) for x in v) for k, v in attributes.items() if isinstance(v, list)},
        )

    def get_user(self, username: str) -> IdpUser:
        return self._user(self._user_rep(username))

    def user_realm_roles(self, username: str) -> frozenset[str]:
        rep = self._user_rep(username)
        roles = self._call(f"reading the realm roles of {username}", self._admin.get_composite_realm_roles_of_user,
                           rep["id"], user=username)
        return frozenset(r["name"] for r in roles)

    def realm_roles(self) -> list[RealmRole]:
        roles = self._call("listing realm roles", self._admin.get_realm_roles)
        return sorted((RealmRole(name=r["name"], description=r.get("description") or None) for r in roles),
                      key=lambda r: r.name)

    def users_with_realm_role(self, role: str) -> list[IdpUser]:
        members = self._call(f"listing members of realm role {role}", self._admin.get_realm_role_members, role,
                             role=role)
        return sorted((self._user(m) for m in members), key=lambda u: u.username)

    def users_with_attribute(self, name: str, value: str) -> list[IdpUser]:
        name = checked(_ATTRIBUTE, name, "attribute name")
        value = checked(_ATTRIBUTE, value, "attribute value")
        found = self._call(f"searching users by {name}", self._admin.get_users, {"q": f"{name}:{value}"},
                           attribute=name)
        # Whether q= matches attribute values exactly or as a substring has varied between Keycloak versions.
        users = [self._user(rep) for rep in found]
        return sorted((u for u in users if value in u.attributes.get(name, ())), key=lambda u: u.username)

    # -- containment -----------------------------------------------------------------------------------
    def disable_user_and_logout(self, username: str) -> UserContainment:
        rep = self._user_rep(username)
        was = bool(rep.get("enabled"))
        if was:  # disable first, so no new session can start between the logout and the disable
            self._call(f"disabling user {username}", self._admin.update_user, rep["id"], {**rep, "enabled": False},
                       user=username)
        sessions = self._call(f"listing sessions of {username}", self._admin.get_sessions, rep["id"], user=username)
        self._call(f"logging out {username}", self._admin.user_logout, rep["id"], user=username)
        return UserContainment(username=rep["username"], user_id=rep["id"], was_enabled=was,
                               sessions_closed=len(sessions))

    def enable_user(self, username: str) -> IdpUser:
        rep = self._user_rep(username)
        if not rep.get("enabled"):
            self._call(f"enabling user {username}", self._admin.update_user, rep["id"], {**rep, "enabled": True},
                       user=username)
        return self._user({**rep, "enabled": True})
