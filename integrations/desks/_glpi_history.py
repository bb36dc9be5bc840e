"""Reading a GLPI ticket's history (``Ticket/:id/Log``): which entries are status changes, which belong to a
followup written in the same request, which are custom field changes of the Fields plugin.

GLPI writes one ``glpi_logs`` row per change of a ticket: ``id_search_option`` names the field (12 = status;
76665 + id = a Fields plugin field), ``linked_action`` says when the row is about a linked item instead (17 = a
sub-item added, with ``itemtype_link`` and the new item's id in ``new_value``; 20 = the ticket created),
``user_name`` is ``"<friendly name> (<user id>)"`` and ``date_mod`` the request's time (``glpi_currenttime``,
one value for every row a request writes).

Two writes of one person are one change: GLPI's followup form has a split button "add and change the status"
(``_status`` in the followup's input); ``ITILFollowup::post_addItem`` updates the ticket's status (its history
row) and then logs the followup's "sub-item added" row, in the same request. So a status row directly before a
followup's "sub-item added" row, by the same user in the same second, is that followup's status change
(`split_button`).
"""

from __future__ import annotations

import re
from typing import Any

STATUS_OPTION = 12
HISTORY_ADD_SUBITEM = 17
USER_ID = re.compile(r"\((\d+)\)\s*$")


def by_id(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(logs, key=lambda r: int(r["id"]))


def is_status(row: dict[str, Any]) -> bool:
    return int(row.get("id_search_option") or 0) == STATUS_OPTION and not int(row.get("linked_action") or 0)


def log_user(row: dict[str, Any]) -> str | None:
    found = USER_ID.search(str(row.get("user_name") or ""))
    return found.group(1) if found else None


def split_button(logs: list[dict[str, Any]], merged: set[int], followup: int) -> dict[str, Any] | None:
    """The status row written in the same request as ``followup`` (see the module docstring), if any; it is
    added to ``merged`` so it is not read again as a change of its own."""
    ordered = by_id(logs)
    for index, row in enumerate(ordered):
        if (int(row.get("linked_action") or 0) == HISTORY_ADD_SUBITEM and row.get("itemtype_link") == "ITILFollowup"
                and str(row.get("new_value")) == str(followup)):
            before = ordered[index - 1] if index else None
            same = before is not None and all(before.get(k) == row.get(k) for k in ("user_name", "date_mod"))
            if before is not None and same and is_status(before) and int(before["id"]) not in merged:
                merged.add(int(before["id"]))
                return before
            return None
    return None
