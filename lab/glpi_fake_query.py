"""Reads of the fake GLPI: get an item, get all items, get sub items, and the search engine (``search/Ticket``).

Followed from GLPI's apirest.md (10.0 branch: "Get an item", "Get all items", "Get sub items", "Search items"):

* ``range`` is ``start-end``, both inclusive, default ``0-49``; the answer carries ``Content-Range:
  start-end/total`` and ``Accept-Range: <itemtype> <max>``, and is ``206 Partial Content`` when rows remain past
  ``end``. A start past the last row is ``400 ["ERROR_RANGE_EXCEED_TOTAL", ...]``.
* ``sort`` is a field name for item listings (searchoption id for the search engine), ``order`` ASC or DESC;
  ``searchText[field]=text`` filters listings with a wildcard match (SQL LIKE '%text%').
* The search engine takes PHP-style nested query parameters (``criteria[0][field]=19``), fields are search
  option ids, and answers ``{"totalcount", "count", "sort", "order", "data": [{"2": id, "19": ...}]}``.
  Its ``morethan``/``lessthan`` on dates are *strict* (``>``/``<``, as GLPI's Search::addWhere builds them):
  a client that wants "at or after" asks for "after one second earlier".
* Users are served without their credentials (GLPI strips ``password``, ``api_token``, ``personal_token``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lab.glpi_fake_rights import READ
from lab.glpi_fake_store import GlpiApiError, GlpiStore, not_found

MAX_RANGE = 1000
HIDDEN_FIELDS = ("api_token", "password", "personal_token", "cookie_token")
SUB_ITEMS: dict[str, Callable[[dict[str, Any], int], bool]] = {  # parent Ticket -> how a sub-item row points at it
    "ITILFollowup": lambda row, tid: row["itemtype"] == "Ticket" and row["items_id"] == tid,
    "TicketValidation": lambda row, tid: row["tickets_id"] == tid,
    "Document_Item": lambda row, tid: row["itemtype"] == "Ticket" and row["items_id"] == tid,
    "Log": lambda row, tid: row["itemtype"] == "Ticket" and row["items_id"] == tid,
}
# Ticket search options the fake knows: id -> (column, how `equals` compares, how the column displays)
TICKET_OPTIONS: dict[int, str] = {1: "name", 2: "id", 7: "itilcategories_id", 12: "status", 15: "date",
                                  19: "date_mod", 21: "content", 22: "users_id_recipient", 80: "entities_id"}


def php_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``a[0][b]=c`` pairs as PHP's $_GET builds them (nested dicts; numeric keys stay strings)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        path = [head] + (re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [])
        node = out
        for index, part in enumerate(path):
            last = index == len(path) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise GlpiApiError(400, "ERROR_BAD_ARRAY", f"parameter {head} is not an array")
    return out


def public(itemtype: str, row: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in row.items() if not (itemtype == "User" and k in HIDDEN_FIELDS)}
    return shown


def get_item(store: GlpiStore, user_id: int, itemtype: str, item_id: int) -> dict[str, Any]:
    with store.lock:
        if itemtype == "Ticket":
            return public(itemtype, store.ticket_for(user_id, item_id))
        row = store.items[itemtype].get(item_id)
        if row is None:
            raise not_found()
        if not store.visible(user_id, itemtype, row):
            raise GlpiApiError(403, "ERROR_RIGHT_MISSING", "You don't have permission to perform this action.")
        return public(itemtype, dict(row))


def parse_range(value: str | None) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)-(\d+)", value or "0-49")
    if not match or int(match.group(1)) > int(match.group(2)):
        raise GlpiApiError(400, "ERROR_RANGE_EXCEED_TOTAL", "Provided range exceed total count of data")
    start, end = int(match.group(1)), int(match.group(2))
    return start, min(end, start + MAX_RANGE - 1)


def page(rows: list[dict[str, Any]], range_param: str | None) -> tuple[list[dict[str, Any]], int, int, int]:
    """(page rows, start, end, total); raises ERROR_RANGE_EXCEED_TOTAL for a start past the rows."""
    start, end = parse_range(range_param)
    total = len(rows)
    if total and start >= total:
        raise GlpiApiError(400, "ERROR_RANGE_EXCEED_TOTAL", "Provided range exceed total count of data")
    end = min(end, max(total - 1, 0))
    return rows[start:end + 1], start, end, total


def _sorted(rows: list[dict[str, Any]], sort: str | None, order: str | None) -> list[dict[str, Any]]:
    key = sort if sort and sort != "1" and rows and sort in rows[0] else "id"
    return sorted(rows, key=lambda r: (str(r[key]) if key != "id" else r["id"], r["id"]),
                  reverse=(order or "ASC").upper() == "DESC")


def list_items(store: GlpiStore, user_id: int, itemtype: str, params: dict[str, Any],
               parent: tuple[str, int] | None = None) -> tuple[list[dict[str, Any]], int, int, int]:
    with store.lock:
        if parent is not None:
            parent_type, parent_id = parent
            if parent_type != "Ticket" or itemtype not in SUB_ITEMS:
                raise GlpiApiError(400, "ERROR_ITEMTYPE_NOT_FOUND_NOR_COMMONDBTM", f"{parent_type}/{itemtype}")
            store.ticket_for(user_id, parent_id)
            match = SUB_ITEMS[itemtype]
            rows = [dict(r) for r in store.items[itemtype].values() if match(r, parent_id)]
            if not store.full_rights(user_id):
                rows = [r for r in rows if not r.get("is_private")]
        else:
            rows = [dict(r) for r in store.items[itemtype].values()
                    if store.visible(user_id, itemtype, r) and not r.get("is_deleted")]
            if itemtype == "User" and not store.allowed(user_id, "user", READ):
                raise GlpiApiError(403, "ERROR_RIGHT_MISSING", "You don't have permission to perform this action.")
        search_text = params.get("searchText") or {}
        for column, text in (search_text.items() if isinstance(search_text, dict) else ()):
            rows = [r for r in rows if str(text).lower() in str(r.get(column, "")).lower()]
        rows = [public(itemtype, r) for r in _sorted(rows, params.get("sort"), params.get("order"))]
    return page(rows, params.get("range"))


def _criterion_matches(store: GlpiStore, row: dict[str, Any], criterion: dict[str, Any]) -> bool:
    if "criteria" in criterion:
        return _criteria_match(store, row, criterion["criteria"])
    option = int(criterion.get("field", 0))
    column = TICKET_OPTIONS.get(option)
    if column is None:
        raise GlpiApiError(400, "ERROR_BAD_ARRAY", f"unknown search option {option}")
    value, actual, kind = str(criterion.get("value", "")), row[column], criterion.get("searchtype", "contains")
    if kind in ("equals", "notequals"):
        result = str(actual) == value
        return result if kind == "equals" else not result
    if kind in ("morethan", "lessthan"):  # strict, as Search::addWhere writes '>' and '<'
        if column in ("date", "date_mod"):
            text = str(actual)
            return text > value if kind == "morethan" else text < value
        number, bound = float(actual), float(value)
        return number > bound if kind == "morethan" else number < bound
    if kind in ("contains", "notcontains"):
        pattern = re.escape(value.strip("^$")).replace(r"\*", ".*")
        pattern = ("^" if value.startswith("^") else "") + pattern + ("$" if value.endswith("$") else "")
        found = re.search(pattern, str(actual), re.IGNORECASE) is not None
        return found if kind == "contains" else not found
    raise GlpiApiError(400, "ERROR_BAD_ARRAY", f"unknown searchtype {kind}")


def _criteria_match(store: GlpiStore, row: dict[str, Any], criteria: dict[str, Any]) -> bool:
    result = True
    for index, (_, criterion) in enumerate(sorted(criteria.items(), key=lambda kv: int(kv[0]))):
        matched = _criterion_matches(store, row, criterion)
        link = str(criterion.get("link", "AND")).upper() if index else "AND"
        if index == 0:
            result = matched
        elif link == "OR":
            result = result or matched
        elif link == "AND NOT":
            result = result and not matched
        elif link == "OR NOT":
            result = result or not matched
        else:
            result = result and matched
    return result


def _display(store: GlpiStore, row: dict[str, Any], option: int) -> Any:
    column = TICKET_OPTIONS[option]
    if column == "entities_id":
        return store.items["Entity"][row[column]]["completename"]
    if column == "itilcategories_id":
        category = store.items["ITILCategory"].get(row[column])
        return category["completename"] if category else None
    return row[column]


def search(store: GlpiStore, user_id: int, itemtype: str, params: dict[str, Any]) -> tuple[dict[str, Any], int, int,
                                                                                            int]:
    if itemtype != "Ticket":
        raise GlpiApiError(400, "ERROR_ITEMTYPE_NOT_FOUND_NOR_COMMONDBTM", f"search/{itemtype} is not in this fake")
    sort = int(params.get("sort", 1) or 1)
    if sort not in TICKET_OPTIONS:
        raise GlpiApiError(400, "ERROR_BAD_ARRAY", f"unknown search option {sort}")
    criteria = params.get("criteria") or {}
    with store.lock:
        rows = [r for r in store.items["Ticket"].values() if not r["is_deleted"]
                and store.visible(user_id, "Ticket", r) and _criteria_match(store, r, criteria)]
        rows.sort(key=lambda r: (r[TICKET_OPTIONS[sort]], r["id"]), reverse=str(params.get("order", "ASC")) == "DESC")
        display = sorted({1, 2, 80} | {int(v) for v in (params.get("forcedisplay") or {}).values()}
                         | {int(c["field"]) for c in criteria.values() if "field" in c})
        selected, start, end, total = page(rows, params.get("range"))
        data = [{str(option): _display(store, row, option) for option in display} for row in selected]
    body = {"totalcount": total, "count": len(data), "sort": [sort], "order": [params.get("order", "ASC")],
            "data": data}
    return body, start, end, total
