"""Custom fields of GLPI tickets, through the Fields plugin (pluginsGLPI/fields), read over ``apirest.php``.

GLPI's core has no custom fields; a department that wants its request form as fields installs the Fields plugin
and gives the form a *container* (block) on Ticket. The desk option ``fields_container`` names it (its name or
its label); without it the form travels in the description (``form_in_description`` in the mapping). Per the
plugin's source and its ``API.md`` (legacy API):

* ``PluginFieldsContainer`` rows: ``id``, ``name``, ``label``, ``itemtypes`` (a JSON list), ``is_active``;
  ``PluginFieldsField`` rows: ``name`` (the label's system name + ``field``), ``label``, ``type``,
  ``plugin_fields_containers_id``, ``ranking``, ``multiple``, ``is_active``.
* The values are rows of the generated class ``PluginFields`` + ucfirst(lower("Ticket" + container name
  without a trailing "s")), one per ticket (``items_id``, ``itemtype``); listed with ``searchText[items_id]=<id>``,
  which GLPI matches with LIKE '%id%' (ticket 4 also finds 14 and 42), so rows are kept by exact ``items_id``
  and ``itemtype``. A ``dropdown`` field's column is ``plugin_fields_<name>dropdowns_id``, the id of an entry of
  ``PluginFields<Name>Dropdown`` (read for its ``completename``); a GLPI dropdown (``dropdown-User``...) holds
  the item's id in a column named by the field itself (``users_id_<name>``); a multiple one a JSON list of ids.
* A change is a row of the ticket's history (``Ticket/:id/Log``) with ``id_search_option`` = 76665 + the field's
  id (``PluginFieldsField::SEARCH_OPTION_STARTING_INDEX``), old and new as GLPI shows them (a dropdown by its
  name; GLPI cuts history values at 255 characters, the issue read has them whole). The plugin logs the values a
  ticket is *opened* with too (``'N/A'`` → value), right after the core's "item created" entry and in the
  same request: those rows are the creation, not changes (see `creation_rows`).

The fields are named by their labels, as people see them in GLPI's form and as the mapping's ``fields`` names
them; a label equal to one of the core fields the client reports (category, entity...) is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from toolkit.errors import ConfigurationError
from toolkit.ports.desk import DeskChange

from ._glpi_api import GlpiApi
from ._glpi_history import log_user
from ._glpi_text import html_to_text

SEARCH_OPTION_STARTING_INDEX = 76665
HISTORY_CREATE_ITEM = 20


def container_class(itemtype: str, container_name: str) -> str:
    """``PluginFieldsContainer::getClassname``: the itemtype of a container's values."""
    system = (itemtype.replace("\\", "") + re.sub(r"s$", "", container_name)).lower()
    return "PluginFields" + system[:1].upper() + system[1:]


def dropdown_class(field_name: str) -> str:
    """``PluginFieldsDropdown::getClassname``: the itemtype of a plugin dropdown's entries."""
    return "PluginFields" + field_name[:1].upper() + field_name[1:] + "Dropdown"


@dataclass(frozen=True)
class PluginField:
    id: int
    name: str
    label: str
    type: str
    multiple: bool

    @property
    def key(self) -> str:
        return f"plugin_fields_{self.name}dropdowns_id" if self.type == "dropdown" else self.name


@dataclass(frozen=True)
class Container:
    id: int
    name: str
    itemtype: str  # the class its values live in
    fields: tuple[PluginField, ...]


class FieldsContainer:
    """One ticket container of the Fields plugin, loaded on first use. ``lookup`` reads (and caches) an item,
    ``login`` names a user id, both the desk client's own."""

    def __init__(self, api: GlpiApi, desk: str, wanted: str, reserved: tuple[str, ...],
                 lookup: Callable[[str, int], dict[str, Any]], login: Callable[[Any], str]) -> None:
        self.api, self.desk, self.wanted, self.reserved = api, desk, wanted, reserved
        self.lookup, self.login = lookup, login
        self._container: Container | None = None

    def container(self) -> Container:
        if self._container is None:
            self._container = self._load()
        return self._container

    def _load(self) -> Container:
        try:
            rows = self.api.pages("/PluginFieldsContainer")
        except ConfigurationError as exc:
            if exc.details.get("code") != "ERROR_ITEMTYPE_NOT_FOUND_NOR_COMMONDBTM":
                raise
            raise ConfigurationError(
                f"desk {self.desk}: options.fields_container is '{self.wanted}' but GLPI has no Fields plugin "
                "(PluginFieldsContainer is not an itemtype): install and enable pluginsGLPI/fields, or drop the "
                "option and carry the form in the description (form_in_description)", desk=self.desk) from None
        found = [r for r in rows if self.wanted in (r.get("name"), r.get("label")) and int(r.get("is_active") or 0)
                 and "Ticket" in _itemtypes(r.get("itemtypes"))]
        if not found:
            known = ", ".join(sorted(str(r.get("label") or r.get("name")) for r in rows)) or "none"
            raise ConfigurationError(f"desk {self.desk}: options.fields_container: GLPI has no active Fields "
                                     f"container '{self.wanted}' on tickets (containers: {known})", desk=self.desk)
        row = found[0]
        cid = int(row["id"])
        fields = tuple(
            PluginField(int(f["id"]), str(f["name"]), str(f.get("label") or f["name"]), str(f.get("type") or "text"),
                        bool(int(f.get("multiple") or 0)))
            for f in sorted(self.api.pages("/PluginFieldsField", {"searchText[plugin_fields_containers_id]": cid}),
                            key=lambda f: (int(f.get("ranking") or 0), int(f["id"])))
            if int(f["plugin_fields_containers_id"]) == cid and int(f.get("is_active", 1) or 0)
            and f.get("type") != "header")
        clash = sorted({f.label for f in fields} & set(self.reserved))
        if clash:
            raise ConfigurationError(f"desk {self.desk}: the Fields container '{self.wanted}' has a field labelled "
                                     f"'{clash[0]}', which is also a core field the client reports; rename it",
                                     desk=self.desk)
        return Container(cid, str(row["name"]), container_class("Ticket", str(row["name"])), fields)

    def labels(self) -> tuple[str, ...]:
        return tuple(f.label for f in self.container().fields)

    def values(self, ticket: int) -> dict[str, str]:
        """The container's non-empty values on one ticket, by label."""
        container = self.container()
        rows = [r for r in self.api.pages(f"/{container.itemtype}", {"searchText[items_id]": ticket})
                if int(r.get("items_id") or 0) == ticket and r.get("itemtype", "Ticket") == "Ticket"]
        if not rows:
            return {}
        out: dict[str, str] = {}
        for field in container.fields:
            text = self._shown(field, rows[0])
            if text:
                out[field.label] = text
        return out

    def _shown(self, field: PluginField, row: dict[str, Any]) -> str:
        if field.type == "glpi_item":
            itemtype, item = row.get(f"itemtype_{field.name}"), row.get(f"items_id_{field.name}")
            return f"{itemtype} {item}" if itemtype and item else ""
        value = row.get(field.key)
        if value in (None, "", 0) and field.type.startswith("dropdown"):
            return ""
        if field.type == "dropdown" or field.type.startswith("dropdown-"):
            ids = json.loads(value) if field.multiple and isinstance(value, str) else [value]
            return ", ".join(self._entry(field, int(i)) for i in ids if i)
        if field.type == "richtext":
            return html_to_text(str(value or ""))
        return "" if value is None else str(value)

    def _entry(self, field: PluginField, item: int) -> str:
        if field.type == "dropdown-User":
            return self.login(item)
        itemtype = dropdown_class(field.name) if field.type == "dropdown" else field.type.removeprefix("dropdown-")
        row = self.lookup(itemtype, item)
        return str(row.get("completename") or row.get("name") or item)

    def label_of_option(self, option: Any) -> str | None:
        """The label of the field a history row's ``id_search_option`` names, if it is one of this container's."""
        field_id = int(option or 0) - SEARCH_OPTION_STARTING_INDEX
        return next((f.label for f in self.container().fields if f.id == field_id), None)


def creation_rows(logs: list[dict[str, Any]], is_field: Callable[[dict[str, Any]], bool]) -> set[int]:
    """Ids of the field rows the plugin wrote while the ticket was opened: those right after the core's
    "item created" entry (``linked_action`` 20), by the same user, in the same second, with no other row between
    (GLPI writes the creation entry, then runs the plugin's ``item_add`` hook in the same request)."""
    ordered = sorted(logs, key=lambda r: int(r["id"]))
    found: set[int] = set()
    for index, row in enumerate(ordered):
        if int(row.get("linked_action") or 0) != HISTORY_CREATE_ITEM:
            continue
        for after in ordered[index + 1:]:
            if not (is_field(after) and after.get("user_name") == row.get("user_name")
                    and after.get("date_mod") == row.get("date_mod")):
                break
            found.add(int(after["id"]))
    return found


def history_value(value: Any) -> str | None:
    """A history value as a field value: GLPI's ``'N/A'`` (no value before) and an empty text are None."""
    text = str(value if value is not None else "")
    return None if text in ("", "N/A") else text


def field_changes(plugin: FieldsContainer, key: str, logs: list[dict[str, Any]], time: Callable[[Any], datetime],
                  login: Callable[[Any], str]) -> list[DeskChange]:
    """One change ``c<Log id>`` per history row of one of the container's fields, but for the rows written as
    the ticket was opened (`creation_rows`). ``time`` reads GLPI's local dates, ``login`` names a user id."""

    def is_field(row: dict[str, Any]) -> bool:
        return not int(row.get("linked_action") or 0) and plugin.label_of_option(row.get("id_search_option")) \
            is not None

    opening = creation_rows(logs, is_field)
    out = []
    for row in logs:
        label = plugin.label_of_option(row.get("id_search_option")) if is_field(row) else None
        if label is None or int(row["id"]) in opening:
            continue
        user = log_user(row)
        out.append(DeskChange(
            id=f"c{row['id']}", issue_key=key, at=time(row["date_mod"]), account=login(user) if user else "",
            field_changes={label: (history_value(row.get("old_value")), history_value(row.get("new_value")))}))
    return out


def _itemtypes(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(i) for i in raw]
    try:
        decoded = json.loads(str(raw or "[]"))
    except ValueError:
        return [str(raw)]
    return [str(i) for i in decoded] if isinstance(decoded, list) else [str(decoded)]
