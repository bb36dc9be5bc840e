"""The in-memory state of the fake GLPI (`lab.glpi_fake`): items by itemtype, sessions, rights, history.

GLPI keeps every object as a row of its itemtype's table and the REST API hands the rows out as they are
(field names of the table, dropdowns as ids, dates as ``YYYY-MM-DD HH:MM:SS`` in the server's time zone).
This store does the same for the itemtypes the desk client uses, and reproduces the side effects of GLPI's
core that a client can observe: a followup, validation or linked document updates the ticket's ``date_mod``;
a status change and the addition of a sub-item are written to the ticket's history (``glpi_logs``, read at
``Ticket/:id/Log``) with the raw status numbers and ``user_name`` as ``"<friendly name> (<user id>)"``.

What is simplified, on purpose: one profile per user (no profile switching), rights reduced to those the
desk client's calls need (`lab.glpi_fake_rights`: ``ticket`` READALL to see every ticket, else only one's own;
``ticket`` UPDATE to change one; ``followup`` ADDALLTICKET, or ADDMYTICKET on one's own; ``document`` CREATE;
``ticketvalidation`` CREATEREQUEST/CREATEINCIDENT to ask; ``user`` READ to list accounts; only the designated
validator answers a validation), no automatic status changes (assignment, solution approval); entities: a
session's active entities are every entity, or one entity with or without its sub-entities (`set_active_entity`),
and tickets outside them are not seen. A followup's ``_status`` (the form's split button "add and change the
status", `ITILFollowup::post_addItem` → ``updateParentStatus``) changes the ticket in the same request, its
status entry logged just before the followup's "sub-item added" entry. The Fields plugin, when installed, is
`lab.glpi_fake_fields`. Errors are raised as `GlpiApiError` carrying GLPI's error code, which the HTTP layer
turns into GLPI's ``["ERROR_...", "message"]`` body.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lab.glpi_fake_fields import FieldsPlugin
from lab.glpi_fake_rights import (
    CREATE,
    FOLLOWUP_ADDALLTICKET,
    FOLLOWUP_ADDMYTICKET,
    READ,
    UPDATE,
    VALIDATION_CREATEINCIDENT,
    VALIDATION_CREATEREQUEST,
    Profile,
    SessionRights,
    default_profiles,
    profile_id,
)

STATUS_NAMES = {1: "new", 2: "processing", 3: "planned", 4: "waiting", 5: "solved", 6: "closed"}
VALIDATION_WAITING, VALIDATION_ACCEPTED, VALIDATION_REFUSED = 2, 3, 4
HISTORY_CREATE_ITEM, HISTORY_ADD_SUBITEM = 20, 17
STATUS_SEARCH_OPTION = 12
# (id, login, realname, firstname, profile): the directory's people (inventory/roles.yml) and the spbe account.
SEED_USERS = (
    (2, "spbe", "Bot", "SPBE", "Super-Admin"),
    (5, "andi", "Pratama", "Andi", "Self-Service"),
    (6, "sari", "Wulandari", "Sari", "Technician"),
    (7, "kadis", "Dinas", "Kepala", "Supervisor"),
    (8, "tamu", "Tamu", "", "Self-Service"),
)
SEED_ENTITIES = ((0, "Root entity", "Root entity"), (1, "Diskominfo", "Root entity > Diskominfo"),
                 (2, "Dinas Pendidikan", "Root entity > Dinas Pendidikan"))
SEED_CATEGORIES = ((1, "Pusat Data"), (2, "Jaringan Intra"), (3, "SPLP"), (4, "Insiden Keamanan"))


class GlpiApiError(Exception):
    """One of GLPI's API errors: HTTP status, the ``ERROR_*`` code and GLPI's message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def not_found() -> GlpiApiError:
    return GlpiApiError(404, "ERROR_ITEM_NOT_FOUND", "Item not found")


def no_right() -> GlpiApiError:
    return GlpiApiError(403, "ERROR_RIGHT_MISSING", "You don't have permission to perform this action.")


@dataclass
class Session:
    token: str
    user_id: int


@dataclass
class GlpiStore(SessionRights):
    """Rows by itemtype, each a dict of GLPI's column names. ``clock`` returns the server's local time."""

    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC).replace(tzinfo=None))
    app_token: str = field(default_factory=lambda: secrets.token_hex(20))
    items: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    files: dict[int, bytes] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    profiles: dict[int, Profile] = field(default_factory=default_profiles)
    active_entities: dict[int, tuple[int, bool]] = field(default_factory=dict)  # user -> (entity, recursive)
    fields_plugin: FieldsPlugin | None = None
    _next_id: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for itemtype in ("Ticket", "ITILFollowup", "TicketValidation", "Document", "Document_Item", "Log",
                         "User", "Entity", "ITILCategory"):
            self.items[itemtype] = {}
        for uid, login, realname, firstname, profile in SEED_USERS:
            self.items["User"][uid] = {"id": uid, "name": login, "realname": realname, "firstname": firstname,
                                       "is_active": 1, "entities_id": 0,
                                       "profiles_id": profile_id(self.profiles, profile),
                                       "api_token": secrets.token_hex(20)}
        for eid, name, complete in SEED_ENTITIES:
            self.items["Entity"][eid] = {"id": eid, "name": name, "completename": complete,
                                         "entities_id": 0 if eid else -1, "level": 2 if eid else 1}
        for cid, name in SEED_CATEGORIES:
            self.items["ITILCategory"][cid] = {"id": cid, "name": name, "completename": name, "entities_id": 0,
                                               "is_recursive": 1, "itilcategories_id": 0}
        self._next_id = {"Ticket": 1, "ITILFollowup": 1, "TicketValidation": 1, "Document": 1,
                         "Document_Item": 1, "Log": 1000}

    def install_fields_plugin(self, label: str = "Formulir Permohonan") -> FieldsPlugin:
        with self.lock:
            self.fields_plugin = FieldsPlugin(self, label)
            return self.fields_plugin

    # ------------------------------------------------------------------ time, ids, sessions

    def now(self) -> str:
        return self.clock().strftime("%Y-%m-%d %H:%M:%S")

    def _new_id(self, itemtype: str) -> int:
        value = self._next_id[itemtype]
        self._next_id[itemtype] = value + 1
        return value

    def user_by_login(self, login: str) -> dict[str, Any]:
        for user in self.items["User"].values():
            if user["name"] == login:
                return user
        raise KeyError(login)

    def init_session(self, user_token: str) -> str:
        with self.lock:
            for user in self.items["User"].values():
                if user["api_token"] and secrets.compare_digest(user["api_token"], user_token) and user["is_active"]:
                    token = secrets.token_hex(20)
                    self.sessions[token] = Session(token, user["id"])
                    return token
        raise GlpiApiError(401, "ERROR_GLPI_LOGIN_USER_TOKEN", "parameter user_token seems invalid")

    def session(self, token: str | None) -> Session:
        if not token:
            raise GlpiApiError(400, "ERROR_SESSION_TOKEN_MISSING", "parameter session_token is missing or empty")
        with self.lock:
            found = self.sessions.get(token)
        if found is None:
            raise GlpiApiError(401, "ERROR_SESSION_TOKEN_INVALID", "session_token seems invalid")
        return found

    def kill_session(self, token: str) -> None:
        with self.lock:
            self.sessions.pop(token, None)

    def expire_sessions(self) -> int:
        """What GLPI does when ``session.gc_maxlifetime`` passes: every session token stops working."""
        with self.lock:
            count = len(self.sessions)
            self.sessions.clear()
            return count

    def full_session(self, user_id: int) -> dict[str, Any]:
        user = self.items["User"][user_id]
        entity, recursive = self.active_entities.get(user_id, (0, True))
        active = self.entity_ids(user_id)
        return {"glpiID": user_id, "glpiname": user["name"], "glpirealname": user["realname"],
                "glpifirstname": user["firstname"], "glpiactive_entity": entity,
                "glpiactive_entity_recursive": int(recursive), "glpiactiveentities": {str(e): e for e in active},
                "glpiactiveprofile": self.active_profile(user_id)}

    def may(self, user_id: int, right: str, bits: int) -> None:
        if not self.allowed(user_id, right, bits):
            raise no_right()

    def ticket_for(self, user_id: int, ticket_id: int) -> dict[str, Any]:
        ticket = self.items["Ticket"].get(ticket_id)
        if ticket is None or ticket["is_deleted"]:
            raise not_found()
        if not self.full_rights(user_id) and ticket["users_id_recipient"] != user_id:
            raise no_right()
        if ticket["entities_id"] not in self.entity_ids(user_id):
            raise no_right()
        return ticket

    def visible(self, user_id: int, itemtype: str, row: dict[str, Any]) -> bool:
        if itemtype == "Ticket" and row["entities_id"] not in self.entity_ids(user_id):
            return False
        if itemtype == "User" and self.profile(user_id).has("user", READ):
            return True
        plugin = self.fields_plugin
        if plugin is not None and itemtype == plugin.instance:  # the container class's $rightname is 'ticket'
            ticket = self.items["Ticket"].get(row["items_id"])
            return ticket is not None and self.visible(user_id, "Ticket", ticket)
        if itemtype.startswith("PluginFields"):
            return True
        if self.full_rights(user_id):
            return True
        if itemtype == "Ticket":
            return bool(row["users_id_recipient"] == user_id)
        if itemtype in ("User",):
            return bool(row["id"] == user_id)
        if itemtype == "Document":
            links = [link for link in self.items["Document_Item"].values() if link["documents_id"] == row["id"]]
            return row["users_id"] == user_id or any(
                self.items["Ticket"].get(link["items_id"], {}).get("users_id_recipient") == user_id for link in links)
        return itemtype in ("Entity", "ITILCategory")

    # ------------------------------------------------------------------ history and parent touch

    def log(self, ticket_id: int, user_id: int, *, linked_action: int = 0, itemtype_link: str = "",
             option: int = 0, old: str = "", new: str = "") -> None:
        user = self.items["User"][user_id]
        friendly = f"{user['realname']} {user['firstname']}".strip() or user["name"]
        log_id = self._new_id("Log")
        self.items["Log"][log_id] = {"id": log_id, "itemtype": "Ticket", "items_id": ticket_id,
                                     "itemtype_link": itemtype_link, "linked_action": linked_action,
                                     "user_name": f"{friendly} ({user_id})", "date_mod": self.now(),
                                     "id_search_option": option, "old_value": old, "new_value": new}

    def _touch(self, ticket_id: int, user_id: int) -> None:
        ticket = self.items["Ticket"][ticket_id]
        ticket["date_mod"] = self.now()
        ticket["users_id_lastupdater"] = user_id

    # ------------------------------------------------------------------ writes

    def add(self, user_id: int, itemtype: str, data: dict[str, Any], upload: tuple[str, bytes] | None = None
            ) -> dict[str, Any]:
        with self.lock:
            adders: dict[str, Callable[[int, dict[str, Any]], dict[str, Any]]] = {
                "Ticket": self._add_ticket, "ITILFollowup": self._add_followup,
                "TicketValidation": self._add_validation, "Document_Item": self._add_document_item}
            adder = adders.get(itemtype)
            if itemtype == "Document":
                return self._add_document(user_id, data, upload)
            if adder is None:
                raise GlpiApiError(400, "ERROR_GLPI_ADD", f"You can't add {itemtype} items with this fake")
            return adder(user_id, data)

    def _add_ticket(self, user_id: int, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("name") and not data.get("content"):
            raise GlpiApiError(400, "ERROR_GLPI_ADD", "Mandatory fields are not filled. Please correct: Title")
        entity = int(data.get("entities_id", 1))
        if entity not in self.items["Entity"]:
            raise GlpiApiError(400, "ERROR_GLPI_ADD", "Invalid entity")
        plugin = self.fields_plugin
        values = plugin.pre_item(self.profile(user_id).id, entity, data) if plugin else None
        tid, now = self._new_id("Ticket"), self.now()
        self.items["Ticket"][tid] = {
            "id": tid, "entities_id": entity, "name": str(data.get("name", "")), "date": now, "closedate": None,
            "solvedate": None, "date_mod": now, "users_id_lastupdater": user_id, "status": int(data.get("status", 1)),
            "users_id_recipient": user_id, "requesttypes_id": 1, "content": str(data.get("content", "")),
            "urgency": int(data.get("urgency", 3)), "impact": int(data.get("impact", 3)),
            "priority": int(data.get("priority", 3)), "itilcategories_id": int(data.get("itilcategories_id", 0)),
            "type": int(data.get("type", 2)), "global_validation": 1, "locations_id": 0, "is_deleted": 0,
            "date_creation": now}
        self.log(tid, user_id, linked_action=HISTORY_CREATE_ITEM)
        if plugin and values:  # the plugin's item_add hook runs after the core's "create" log entry
            plugin.store_values(user_id, self.items["Ticket"][tid], values)
        return {"id": tid, "message": ""}

    def _add_followup(self, user_id: int, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("itemtype", "Ticket") != "Ticket":
            raise GlpiApiError(400, "ERROR_GLPI_ADD", "Only tickets are followed up in this fake")
        ticket = self.ticket_for(user_id, int(data.get("items_id", 0)))
        mine = ticket["users_id_recipient"] == user_id
        if not self.allowed(user_id, "followup", FOLLOWUP_ADDALLTICKET | (FOLLOWUP_ADDMYTICKET if mine else 0)):
            raise no_right()
        fid, now = self._new_id("ITILFollowup"), self.now()
        self.items["ITILFollowup"][fid] = {
            "id": fid, "itemtype": "Ticket", "items_id": ticket["id"], "date": now, "users_id": user_id,
            "users_id_editor": 0, "content": str(data.get("content", "")), "is_private": int(data.get("is_private", 0)),
            "requesttypes_id": 1, "date_mod": now, "date_creation": now, "timeline_position": 1}
        self._touch(ticket["id"], user_id)
        status = data.get("_status")  # the followup form's split button "add and change the status"
        if status is not None and int(status) != ticket["status"] and self.allowed(user_id, "ticket", UPDATE):
            self._update_ticket(user_id, ticket["id"], {"status": int(status)})  # ParentStatus::updateParentStatus
        self.log(ticket["id"], user_id, linked_action=HISTORY_ADD_SUBITEM, itemtype_link="ITILFollowup",
                  new=f"{fid}")
        return {"id": fid, "message": ""}

    def _add_validation(self, user_id: int, data: dict[str, Any]) -> dict[str, Any]:
        self.may(user_id, "ticketvalidation", VALIDATION_CREATEREQUEST | VALIDATION_CREATEINCIDENT)
        ticket = self.ticket_for(user_id, int(data.get("tickets_id", 0)))
        validator = int(data.get("users_id_validate", 0))
        if validator not in self.items["User"]:
            raise GlpiApiError(400, "ERROR_GLPI_ADD", "Please select an approver")
        vid, now = self._new_id("TicketValidation"), self.now()
        self.items["TicketValidation"][vid] = {
            "id": vid, "entities_id": ticket["entities_id"], "tickets_id": ticket["id"], "users_id": user_id,
            "users_id_validate": validator, "comment_submission": str(data.get("comment_submission", "")),
            "comment_validation": None, "status": VALIDATION_WAITING, "submission_date": now,
            "validation_date": None, "timeline_position": 1}
        ticket["global_validation"] = VALIDATION_WAITING
        self._touch(ticket["id"], user_id)
        self.log(ticket["id"], user_id, linked_action=HISTORY_ADD_SUBITEM, itemtype_link="TicketValidation",
                  new=f"{vid}")
        return {"id": vid, "message": ""}

    def _add_document(self, user_id: int, data: dict[str, Any], upload: tuple[str, bytes] | None) -> dict[str, Any]:
        if upload is None:
            raise GlpiApiError(400, "ERROR_UPLOAD_FILE_TOO_BIG_POST_MAX_SIZE", "No file was uploaded")
        self.may(user_id, "document", CREATE)
        filename, content = upload
        did, now = self._new_id("Document"), self.now()
        self.items["Document"][did] = {
            "id": did, "entities_id": 0, "name": str(data.get("name") or filename), "filename": filename,
            "filepath": f"_files/{did}", "mime": str(data.get("mime", "application/octet-stream")),
            "comment": str(data.get("comment", "")), "users_id": user_id, "is_deleted": 0,
            "sha1sum": hashlib.sha1(content, usedforsecurity=False).hexdigest(), "date_mod": now, "date_creation": now}
        self.files[did] = content
        if data.get("itemtype") and data.get("items_id"):  # Document::post_addItem links it at once
            self._add_document_item(user_id, {"documents_id": did, "itemtype": data["itemtype"],
                                              "items_id": data["items_id"]})
        return {"id": did, "message": "Document move succeeded.", "upload_result": {
            "filename": [{"name": filename, "size": len(content)}]}}

    def _add_document_item(self, user_id: int, data: dict[str, Any]) -> dict[str, Any]:
        doc = self.items["Document"].get(int(data.get("documents_id", 0)))
        if doc is None:
            raise GlpiApiError(400, "ERROR_GLPI_ADD", "Document not found")
        if data.get("itemtype") != "Ticket":
            raise GlpiApiError(400, "ERROR_GLPI_ADD", "Only tickets take documents in this fake")
        ticket = self.ticket_for(user_id, int(data.get("items_id", 0)))
        lid, now = self._new_id("Document_Item"), self.now()
        self.items["Document_Item"][lid] = {"id": lid, "documents_id": doc["id"], "items_id": ticket["id"],
                                            "itemtype": "Ticket", "users_id": user_id, "date_mod": now,
                                            "date_creation": now, "timeline_position": 1}
        self._touch(ticket["id"], user_id)
        self.log(ticket["id"], user_id, linked_action=HISTORY_ADD_SUBITEM, itemtype_link="Document",
                  new=f"{doc['name']} ({doc['id']})")
        return {"id": lid, "message": ""}

    def update(self, user_id: int, itemtype: str, item_id: int, data: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if itemtype == "Ticket":
                return self._update_ticket(user_id, item_id, data)
            if itemtype == "TicketValidation":
                return self._answer_validation(user_id, item_id, data)
            raise GlpiApiError(400, "ERROR_GLPI_UPDATE", f"You can't update {itemtype} items with this fake")

    def _update_ticket(self, user_id: int, item_id: int, data: dict[str, Any]) -> dict[str, Any]:
        ticket = self.ticket_for(user_id, item_id)
        self.may(user_id, "ticket", UPDATE)
        changed = False
        if "status" in data and int(data["status"]) != ticket["status"]:
            new = int(data["status"])
            if new not in STATUS_NAMES:
                raise GlpiApiError(400, "ERROR_GLPI_UPDATE", "Invalid status")
            self.log(item_id, user_id, option=STATUS_SEARCH_OPTION, old=str(ticket["status"]), new=str(new))
            ticket["status"] = new
            ticket["solvedate"] = self.now() if new == 5 else ticket["solvedate"]
            ticket["closedate"] = self.now() if new == 6 else ticket["closedate"]
            changed = True
        for key in ("name", "content", "urgency", "itilcategories_id"):
            if key in data and data[key] != ticket[key]:
                ticket[key], changed = data[key], True
        plugin = self.fields_plugin
        values = plugin.pre_item(self.profile(user_id).id, ticket["entities_id"], data) if plugin else None
        if plugin and values:  # preItemUpdate: the values are stored and date_mod is set
            plugin.store_values(user_id, ticket, values)
            changed = True
        if changed:
            self._touch(item_id, user_id)
        return {str(item_id): True, "message": ""}

    def _answer_validation(self, user_id: int, item_id: int, data: dict[str, Any]) -> dict[str, Any]:
        validation = self.items["TicketValidation"].get(item_id)
        if validation is None:
            raise not_found()
        if validation["users_id_validate"] != user_id:
            raise no_right()
        status = int(data.get("status", validation["status"]))
        if status not in (VALIDATION_ACCEPTED, VALIDATION_REFUSED):
            raise GlpiApiError(400, "ERROR_GLPI_UPDATE", "Invalid validation status")
        if status == VALIDATION_REFUSED and not data.get("comment_validation"):
            raise GlpiApiError(400, "ERROR_GLPI_UPDATE", "If approval is denied, specify a reason.")
        validation.update(status=status, comment_validation=str(data.get("comment_validation", "")),
                          validation_date=self.now())
        ticket = self.items["Ticket"][validation["tickets_id"]]
        ticket["global_validation"] = status
        self._touch(ticket["id"], user_id)
        return {str(item_id): True, "message": ""}
