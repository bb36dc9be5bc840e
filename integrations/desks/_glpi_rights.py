"""What the spbe account needs in GLPI, and what `spbe desk check` says it lacks.

GLPI grants by *profile*: ``getActiveProfile`` answers the session's profile as ``{"id", "name", "interface",
"entities", "<right name>": <bit mask>, ...}`` (the ``glpi_profilerights`` of that profile), and
``getMyProfiles`` every profile the account holds. A session works with its active profile only, so a right
that another of the account's profiles has does not help until the active profile is changed (its default
profile, or ``changeActiveProfile``); the message says which profiles the account holds.

The bits are GLPI's constants (``CommonDBTM``, ``Ticket``, ``ITILFollowup``, ``TicketValidation``); each need is
"any of these bits", as GLPI's ``Session::haveRightsOr`` checks it.
"""

from __future__ import annotations

from typing import Any

# (right name, what it is for, bits of which one is enough)
NEEDED: tuple[tuple[str, str, int], ...] = (
    ("ticket", "READALL (see every request, not only its own)", 1024),
    ("ticket", "UPDATE (move a ticket's status)", 2),
    ("followup", "SEEPUBLIC (read followups)", 1),
    ("followup", "ADDALLTICKET (add a followup to any ticket)", 4096),
    ("document", "READ (read the request's files)", 1),
    ("document", "CREATE (attach documents)", 4),
    ("ticketvalidation", "CREATEREQUEST, CREATEINCIDENT, VALIDATEREQUEST or VALIDATEINCIDENT (read the "
                         "approvals)", 1024 | 2048 | 4096 | 8192),
    ("user", "READ (know which account acted)", 1),
)


def missing_rights(active: dict[str, Any], profiles: list[dict[str, Any]]) -> tuple[str, ...]:
    """``profile <name>: <right> <bit> (why)`` for every need the active profile does not grant."""
    name = str(active.get("name") or active.get("id") or "?")
    others = sorted({str(p.get("name")) for p in profiles if str(p.get("name")) != name})
    held = f" (the account also holds: {', '.join(others)})" if others else ""
    missing = []
    for right, what, bits in NEEDED:
        try:
            granted = int(active.get(right) or 0)
        except (TypeError, ValueError):
            granted = 0
        if not granted & bits:
            missing.append(f"profile {name}: {right} {what}{held}")
    return tuple(missing)
