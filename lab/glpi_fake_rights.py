"""Profiles and rights of the fake GLPI (`lab.glpi_fake`): what ``getActiveProfile`` and ``getMyProfiles`` answer,
and what the store checks before a write.

GLPI keeps a profile's rights as one integer per *right name* (``glpi_profilerights``: ``ticket``, ``followup``,
``document``, ``ticketvalidation``, ``user``...), a bit mask of the itemtype's constants, and copies the active
profile into the session: ``GET getActiveProfile`` answers ``{"active_profile": {"id", "name", "interface",
"entities": [...], "<right name>": <int>, ...}}``. The constants below are GLPI's own (``CommonDBTM``: READ 1,
UPDATE 2, CREATE 4, DELETE 8, PURGE 16; ``Ticket::READALL`` 1024; ``ITILFollowup``: SEEPUBLIC 1, UPDATEMY 2,
ADDMYTICKET 4, UPDATEALL 1024, ADDGROUPTICKET 2048, ADDALLTICKET 4096, SEEPRIVATE 8192; ``TicketValidation``:
CREATEREQUEST 1024, CREATEINCIDENT 2048, VALIDATEREQUEST 4096, VALIDATEINCIDENT 8192), and the profile ids are
GLPI's default ones (1 Self-Service, 4 Super-Admin, 6 Technician, 7 Supervisor).

The values are reduced to the rights the desk client's calls need; the store enforces those (see
`lab.glpi_fake_store`). Tests take a right away with `GlpiStore.revoke` to see `spbe desk check` name it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

READ, UPDATE, CREATE, DELETE, PURGE = 1, 2, 4, 8, 16
TICKET_READALL, TICKET_OWN = 1024, 32768
FOLLOWUP_SEEPUBLIC, FOLLOWUP_UPDATEMY, FOLLOWUP_ADDMYTICKET = 1, 2, 4
FOLLOWUP_UPDATEALL, FOLLOWUP_ADDGROUPTICKET, FOLLOWUP_ADDALLTICKET, FOLLOWUP_SEEPRIVATE = 1024, 2048, 4096, 8192
VALIDATION_CREATEREQUEST, VALIDATION_CREATEINCIDENT = 1024, 2048
VALIDATION_VALIDATEREQUEST, VALIDATION_VALIDATEINCIDENT = 4096, 8192

_ALL_STANDARD = READ | UPDATE | CREATE | DELETE | PURGE
_TECH_TICKET = _ALL_STANDARD | TICKET_READALL | TICKET_OWN
_TECH_FOLLOWUP = (FOLLOWUP_SEEPUBLIC | FOLLOWUP_UPDATEMY | FOLLOWUP_ADDMYTICKET | FOLLOWUP_UPDATEALL
                  | FOLLOWUP_ADDGROUPTICKET | FOLLOWUP_ADDALLTICKET | FOLLOWUP_SEEPRIVATE)
_ASK = VALIDATION_CREATEREQUEST | VALIDATION_CREATEINCIDENT
_ANSWER = VALIDATION_VALIDATEREQUEST | VALIDATION_VALIDATEINCIDENT


@dataclass
class Profile:
    id: int
    name: str
    interface: str  # "central" or "helpdesk" (the simplified interface of Self-Service)
    rights: dict[str, int] = field(default_factory=dict)

    def has(self, right: str, bits: int) -> bool:
        """Any of ``bits`` granted (GLPI's Session::haveRightsOr)."""
        return bool(self.rights.get(right, 0) & bits)


def default_profiles() -> dict[int, Profile]:
    return {
        1: Profile(1, "Self-Service", "helpdesk", {
            "ticket": READ | CREATE, "followup": FOLLOWUP_SEEPUBLIC | FOLLOWUP_ADDMYTICKET,
            "document": READ | CREATE, "ticketvalidation": 0, "user": 0}),
        4: Profile(4, "Super-Admin", "central", {
            "ticket": _TECH_TICKET, "followup": _TECH_FOLLOWUP, "document": _ALL_STANDARD,
            "ticketvalidation": _ASK | _ANSWER, "user": _ALL_STANDARD}),
        6: Profile(6, "Technician", "central", {
            "ticket": _TECH_TICKET, "followup": _TECH_FOLLOWUP, "document": READ | UPDATE | CREATE,
            "ticketvalidation": _ASK, "user": READ}),
        7: Profile(7, "Supervisor", "central", {
            "ticket": _TECH_TICKET, "followup": _TECH_FOLLOWUP, "document": READ | UPDATE | CREATE,
            "ticketvalidation": _ASK | _ANSWER, "user": READ}),
    }


def profile_id(profiles: dict[int, Profile], name: str) -> int:
    return next(pid for pid, profile in profiles.items() if profile.name == name)


class SessionRights:
    """The store's profiles, active entities and right checks (a mixin of `lab.glpi_fake_store.GlpiStore`)."""

    items: dict[str, dict[int, dict[str, Any]]]
    profiles: dict[int, Profile]
    active_entities: dict[int, tuple[int, bool]]
    lock: threading.RLock

    def user_by_login(self, login: str) -> dict[str, Any]:
        raise NotImplementedError

    def profile(self, user_id: int) -> Profile:
        return self.profiles[int(self.items["User"][user_id]["profiles_id"])]

    def revoke(self, login: str, right: str, bits: int) -> None:
        """Take ``bits`` of ``right`` from the profile ``login`` uses (every user of that profile loses them)."""
        with self.lock:
            profile = self.profile(int(self.user_by_login(login)["id"]))
            profile.rights[right] = profile.rights.get(right, 0) & ~bits

    def set_active_entity(self, login: str, entity: int, recursive: bool) -> None:
        """What ``changeActiveEntities`` would leave in the session of ``login``."""
        self.active_entities[int(self.user_by_login(login)["id"])] = (entity, recursive)

    def entity_ids(self, user_id: int) -> list[int]:
        entity, recursive = self.active_entities.get(user_id, (0, True))
        if not recursive:
            return [entity]
        found, frontier = [entity], [entity]
        while frontier:
            parent = frontier.pop()
            sons = [e["id"] for e in self.items["Entity"].values() if e["entities_id"] == parent and e["id"] != parent]
            found += sons
            frontier += sons
        return found

    def _profile_entities(self) -> list[dict[str, Any]]:
        return [{"id": e["id"], "name": e["completename"], "is_recursive": 1} for e in self.items["Entity"].values()]

    def my_profiles(self, user_id: int) -> list[dict[str, Any]]:
        profile = self.profile(user_id)
        return [{"id": profile.id, "name": profile.name, "entities": self._profile_entities()}]

    def active_profile(self, user_id: int) -> dict[str, Any]:
        """``$_SESSION['glpiactiveprofile']``: the profile's columns and one integer per right name."""
        profile = self.profile(user_id)
        return {"id": profile.id, "name": profile.name, "interface": profile.interface,
                "entities": self._profile_entities(), **profile.rights}

    def full_rights(self, user_id: int) -> bool:
        """Sees every ticket (``ticket`` READALL)."""
        return self.profile(user_id).has("ticket", TICKET_READALL)

    def allowed(self, user_id: int, right: str, bits: int) -> bool:
        return self.profile(user_id).has(right, bits)
