"""The Fields plugin (pluginsGLPI/fields) in the fake GLPI: the custom fields a GLPI request form carries.

GLPI's core has no custom fields; departments add them with the Fields plugin. What is modelled here is what its
source (``inc/container.class.php``, ``inc/field.class.php``, ``inc/toolbox.class.php``,
``templates/container.class.tpl``, ``templates/dropdown.class.tpl``) and its ``API.md`` say a REST client sees:

* A *container* (block) is a ``PluginFieldsContainer`` row (``name``, ``label``, ``itemtypes`` as a JSON list,
  ``type`` dom/tab/domtab, ``entities_id``, ``is_recursive``, ``is_active``); its fields are ``PluginFieldsField``
  rows (``name``, ``label``, ``type``, ``plugin_fields_containers_id``, ``ranking``, ``multiple``...). Both are
  readable through ``apirest.php`` like any itemtype.
* Names: a label's system name is lower-cased, a trailing "s" dropped, non-alphanumerics removed and digits
  spelt out (``getSystemNameFromLabel``); a field's name is that plus ``field`` ("Instansi" → ``instansifield``).
  The values of a container on tickets live in the generated class ``PluginFields`` + ucfirst(lower("Ticket" +
  container name without a trailing s)), e.g. ``PluginFieldsTicketformulirpermohonan``: one row per ticket with
  ``items_id``, ``itemtype``, ``plugin_fields_containers_id``, ``entities_id`` and one column per field. A
  ``dropdown`` field's column is ``plugin_fields_<name>dropdowns_id``, an id in the generated dropdown class
  ``PluginFields<Name>Dropdown`` (a tree dropdown: ``name``, ``completename``).
* Writing: the values go in the ticket's own ``POST``/``PUT`` input, beside native fields; ``c_id`` names the
  container, else the itemtype's ``dom`` container is taken (``PluginFieldsContainer::preItem``). The profile's
  right on the container must be above READ and the ticket's entity inside the container's, or the values are
  silently ignored (the plugin's hook returns false; the ticket is still written). A write updates the
  ticket's ``date_mod``.
* History (``constructHistory``): each value goes to the *ticket's* log with ``id_search_option`` =
  76665 (``SEARCH_OPTION_STARTING_INDEX``) + the field's id; on the first write of a ticket's row each non-empty
  value is logged as ``'N/A'`` → value (a dropdown: ``''`` → its name), later writes as old → new (dropdowns by
  name). ``Log::history`` cuts values to 255 characters and blanks JSON arrays.

Not modelled: tab/domtab containers' UI, status overrides, display conditions, translations of labels,
``glpi_item`` and GLPI-itemtype dropdown fields, multiple-value fields, richtext file uploads, the search
options of ``search/Ticket`` (the client reads the container class and the log, not the search engine).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lab.glpi_fake_store import GlpiStore

SEARCH_OPTION_STARTING_INDEX = 76665
RIGHT_READ, RIGHT_CREATE = 1, 4  # PluginFieldsProfile.right: READ or CREATE (read and write)
# (id, label, type): the request form of the lab's GLPI, in the container "Formulir Permohonan" (the Pusat Data
# form of lab/desks/glpi.yml, a service dropdown and a free specification)
SEED_FIELDS = ((1, "Layanan", "dropdown"), (2, "Instansi", "text"), (3, "Spesifikasi", "textarea"),
               (4, "Perihal", "text"), (5, "Produk", "text"), (6, "Nama aplikasi", "text"), (7, "Nama host", "text"),
               (8, "Jumlah vCPU", "number"), (9, "Memori (GB)", "number"), (10, "Penyimpanan (GB)", "number"),
               (11, "Email kontak", "text"))
SEED_CHOICES = ("Pusat Data", "Jaringan Intra", "SPLP", "Insiden Keamanan")
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def system_name(label: str) -> str:
    """``PluginFieldsToolbox::getSystemNameFromLabel`` (GLPI's getSingular reduced to a trailing 's')."""
    name = re.sub(r"[^0-9a-z]", "", re.sub(r"s$", "", label.lower()))
    return "".join(_DIGITS[int(c)] if c.isdigit() else c for c in name)


def container_class(itemtype: str, container_name: str) -> str:
    """``PluginFieldsContainer::getClassname``."""
    system = (itemtype.replace("\\", "") + re.sub(r"s$", "", container_name)).lower()
    return "PluginFields" + system[:1].upper() + system[1:]


def dropdown_class(field_name: str) -> str:
    """``PluginFieldsDropdown::getClassname``."""
    return "PluginFields" + field_name[:1].upper() + field_name[1:] + "Dropdown"


def dropdown_key(field_name: str) -> str:
    return f"plugin_fields_{field_name}dropdowns_id"


class FieldsPlugin:
    """One ticket container with its fields, installed into a `GlpiStore` (its itemtypes become API resources)."""

    def __init__(self, store: GlpiStore, label: str = "Formulir Permohonan", container_type: str = "dom") -> None:
        self.store = store
        self.container_id = 1
        self.name = system_name(label)
        self.instance = container_class("Ticket", self.name)
        items = store.items
        items["PluginFieldsContainer"] = {1: {
            "id": 1, "name": self.name, "label": label, "itemtypes": json.dumps(["Ticket"]), "type": container_type,
            "subtype": None, "entities_id": 0, "is_recursive": 1, "is_active": 1}}
        items["PluginFieldsField"] = {}
        items["PluginFieldsProfile"] = {}
        items[self.instance] = {}
        for fid, field_label, kind in SEED_FIELDS:
            name = system_name(field_label) + "field"
            items["PluginFieldsField"][fid] = {
                "id": fid, "name": name, "label": field_label, "type": kind, "plugin_fields_containers_id": 1,
                "ranking": fid, "default_value": "", "is_active": 1, "is_readonly": 0, "mandatory": 0,
                "multiple": 0, "allowed_values": None}
            if kind == "dropdown":
                items[dropdown_class(name)] = {i: {
                    "id": i, "name": choice, "completename": choice, "comment": "", dropdown_key(name): 0,
                    "level": 1, "entities_id": 0, "is_recursive": 1} for i, choice in enumerate(SEED_CHOICES, 1)}
        for pid in store.profiles:  # PluginFieldsProfile::createForContainer: every profile may write
            items["PluginFieldsProfile"][pid] = {"id": pid, "profiles_id": pid, "plugin_fields_containers_id": 1,
                                                 "right": RIGHT_CREATE}

    # ------------------------------------------------------------------ helpers for tests

    def fields(self) -> list[dict[str, Any]]:
        return sorted(self.store.items["PluginFieldsField"].values(), key=lambda f: int(f["ranking"]))

    def key(self, field: dict[str, Any]) -> str:
        return dropdown_key(field["name"]) if field["type"] == "dropdown" else str(field["name"])

    def choice_id(self, field: dict[str, Any], value: str) -> int:
        rows = self.store.items[dropdown_class(field["name"])].values()
        return int(next(row["id"] for row in rows if row["completename"] == value))

    def input_for(self, values: dict[str, str]) -> dict[str, Any]:
        """The API input a person's form sends for ``label -> value`` (dropdowns by their entry's id)."""
        out: dict[str, Any] = {}
        for field in self.fields():
            if field["label"] in values:
                value = values[field["label"]]
                out[self.key(field)] = self.choice_id(field, value) if field["type"] == "dropdown" else value
        return out

    def set_right(self, profile_id: int, right: int) -> None:
        self.store.items["PluginFieldsProfile"][profile_id]["right"] = right

    # ------------------------------------------------------------------ the hooks on Ticket add and update

    def pre_item(self, profile_id: int, entity: int, data: dict[str, Any]) -> dict[str, Any] | None:
        """``preItem`` + ``populateData``: the container values in ``data``, or None when the plugin ignores
        them (no value for the container, no right on it, an entity outside it)."""
        container = self.store.items["PluginFieldsContainer"].get(int(data.get("c_id") or self.container_id))
        if container is None or not container["is_active"]:
            return None
        right = max((int(r["right"] or 0) for r in self.store.items["PluginFieldsProfile"].values()
                     if r["profiles_id"] == profile_id and r["plugin_fields_containers_id"] == container["id"]),
                    default=0)
        if right <= RIGHT_READ:
            return None
        if not container["is_recursive"] and entity != container["entities_id"]:
            return None
        values: dict[str, Any] = {}
        for field in self.fields():
            key = self.key(field)
            if field["plugin_fields_containers_id"] == container["id"] and key in data:
                value = data[key]
                values[key] = str(value).replace(",", ".") if field["type"] == "number" else value
        return values or None

    def store_values(self, user_id: int, ticket: dict[str, Any], values: dict[str, Any]) -> None:
        """``updateFieldsValues`` + ``constructHistory``, on the ticket's log."""
        rows = self.store.items[self.instance]
        row = next((r for r in rows.values() if r["items_id"] == ticket["id"] and r["itemtype"] == "Ticket"), None)
        by_key = {self.key(f): f for f in self.fields()}
        if row is None:
            rid = max(rows, default=0) + 1
            row = rows[rid] = {"id": rid, "items_id": ticket["id"], "itemtype": "Ticket",
                               "plugin_fields_containers_id": self.container_id,
                               "entities_id": ticket["entities_id"], "is_recursive": 0,
                               **{self.key(f): None for f in self.fields()}}
            for key, value in values.items():
                row[key] = value
                if value not in (None, "", 0, "0"):
                    field = by_key[key]
                    dropdown = field["type"] == "dropdown"
                    self._log(ticket["id"], user_id, field, "" if dropdown else "N/A", self._shown(field, value))
            return
        for key, value in values.items():
            old = row.get(key)
            if str(old if old is not None else "") != str(value if value is not None else ""):
                row[key] = value
                field = by_key[key]
                self._log(ticket["id"], user_id, field, self._shown(field, old), self._shown(field, value))

    def _shown(self, field: dict[str, Any], value: Any) -> str:
        if value in (None, ""):
            return ""
        if field["type"] == "dropdown":
            entry = self.store.items[dropdown_class(field["name"])].get(int(value))
            return str(entry["completename"]) if entry else ""
        return str(value)

    def _log(self, ticket_id: int, user_id: int, field: dict[str, Any], old: str, new: str) -> None:
        def cut(text: str) -> str:  # Log::history: JSON arrays and objects are blanked, values cut at 255
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            return "" if isinstance(decoded, (list, dict)) else text[:255]

        self.store.log(ticket_id, user_id, option=SEARCH_OPTION_STARTING_INDEX + int(field["id"]), old=cut(old),
                       new=cut(new))
