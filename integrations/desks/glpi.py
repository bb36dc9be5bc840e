"""`DeskClient` for GLPI (9.5/10.x REST API, ``apirest.php``), kind ``glpi``.

Mapping, per GLPI's ``apirest.md`` and its data model:

* issue = ``Ticket/:id``: ``name`` is the subject, ``content`` (rich text) the description, ``users_id_recipient``
  the author (its ``User/:id`` ``name`` is the login), ``status`` 1..6 is new, processing (assigned), planned,
  waiting, solved, closed; project = the entity's complete name (``Root entity > Diskominfo``), tracker = the
  ITIL category's complete name. ``fields`` holds the ticket's own (category, entity, type, urgency, impact,
  priority, validation) and, when ``fields_container`` names a container of the Fields plugin (GLPI's core has
  no custom fields), that container's values by label (`integrations.desks._glpi_fields`); without the plugin
  the request form travels in the description (the mapping's ``form_in_description``).
* changes, oldest first: followups ``f<id>`` (``Ticket/:id/ITILFollowup``); validations (``TicketValidation``):
  the request ``v<id>:waiting`` by its submitter and the answer ``v<id>:accepted`` / ``v<id>:refused`` by the
  validator (``users_id_validate``). Two ids, not one ``v<id>``: a request seen waiting and later answered must
  be two changes, or the poller's dedupe by change id would drop the answer. Status changes ``s<id>`` come from
  the ticket's history (``Ticket/:id/Log``, search option 12, raw status numbers, ``user_name`` ending in
  ``(<user id>)``); custom field changes ``c<Log id>`` from the same history; linked documents
  ``d<Document_Item id>``.
* updated since: ``search/Ticket`` with criteria on option 19 (``date_mod``) and 80 (entity), sorted by 19. GLPI's
  ``morethan`` is strict and its dates are whole seconds in the server's time zone (``timezone`` option), so
  "at or after ``since``" asks for "after ``since`` minus one second": a record of the same second as the last
  poll is seen again, never lost. One ``range`` asks for the whole ``limit`` (GLPI sorts on one column only, so
  a page boundary inside one second could reorder rows between two page requests).
* writes: a note is an ``ITILFollowup``; a file a ``Document`` uploaded as multipart (``uploadManifest`` +
  ``filename[0]``) with ``itemtype``/``items_id`` so GLPI links it; a status a ``PUT Ticket/:id``, read back to
  verify, then a followup saying so (read back with it as one change, see `_glpi_text`). The outbox marker is the
  last line of the followup (``[spbe:<marker>]``) or
  the document's comment; a marker counts only on what spbe's own account wrote, so nobody can forge one to
  make spbe believe its note was posted.
* capabilities: the session's active entities (a ticket outside them is not found by the search), and the rights
  of the active profile the client needs (`integrations.desks._glpi_rights`), for ``spbe desk check``.
* Errors and session handling: `integrations.desks._glpi_api`.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError
from toolkit.masking import Masker
from toolkit.ports.desk import DeskAccount, DeskCapabilities, DeskChange, DeskIssue
from toolkit.secret_types import reveal_url
from toolkit.settings import Settings

from ._glpi_api import GlpiApi
from ._glpi_fields import FieldsContainer, field_changes
from ._glpi_history import by_id, is_status, log_user, split_button
from ._glpi_options import GlpiOptions as GlpiOptions  # re-exported: the desk registry and tests import it here
from ._glpi_options import secret
from ._glpi_rights import missing_rights
from ._glpi_text import MARKER, html_to_text, split_marker, text_to_html

STATUSES = {1: "new", 2: "processing", 3: "planned", 4: "waiting", 5: "solved", 6: "closed"}
STATUS_IDS = {name: number for number, name in STATUSES.items()}
VALIDATIONS = {1: "none", 2: "waiting", 3: "accepted", 4: "refused"}
TYPES = {1: "incident", 2: "request"}
FIELDS = ("category", "entity", "type", "urgency", "impact", "priority", "validation")
SEARCH_DATE_MOD, SEARCH_ENTITY, SEARCH_ID = 19, 80, 2
MAX_RANGE = 1000  # GLPI's list_limit_max default; Accept-Range says the instance's own
_DATE = "%Y-%m-%d %H:%M:%S"


def _ticket_id(key: str) -> int:
    if not key.isdigit():
        raise NotFoundError(f"'{key}' is not a GLPI ticket id", key=key)
    return int(key)


class GlpiDesk:
    """A GLPI desk. One instance may be shared by threads: the session opens under a lock, caches are dicts
    of immutable values (a lost race only costs a repeated lookup)."""

    kind = "glpi"
    Options = GlpiOptions

    def __init__(self, settings: Settings, *, name: str = "glpi", base_url: str | SecretStr,
                 user_token_secret: str | None = None, app_token_secret: str | None = None,
                 user_token: str | SecretStr | None = None, app_token: str | SecretStr | None = None,
                 timezone: str = "UTC", web_url: str | SecretStr | None = None, fields_container: str | None = None,
                 timeout_s: float = 10.0, verify_tls: bool = True, masker: Masker | None = None) -> None:
        self.name = name
        self.masker = masker or Masker()
        if (user_token is None) == (user_token_secret is None):
            raise ConfigurationError(f"desk {name}: set exactly one of user_token_secret and user_token", desk=name)
        token = secret(user_token) if user_token is not None else settings.secret(str(user_token_secret))
        app = secret(app_token) if app_token is not None else (settings.secret(app_token_secret) if app_token_secret
                                                               else None)
        try:
            self.tz = ZoneInfo(timezone)
        except (ValueError, KeyError):
            raise ConfigurationError(f"desk {name}: unknown time zone '{timezone}'", desk=name) from None
        base = str(reveal_url(base_url, self.masker))
        self.web_url = str(reveal_url(web_url, self.masker) or base.rsplit("/", 1)[0]).rstrip("/")
        self.api = GlpiApi(name, base, token, app, masker=self.masker, timeout_s=timeout_s, verify=verify_tls)
        self._cache: dict[tuple[str, int], dict[str, Any]] = {}
        self._me: tuple[int, str] | None = None  # the session's user id and login
        self._lock = threading.Lock()
        self.plugin = FieldsContainer(self.api, name, fields_container, FIELDS, self._lookup, self._login) \
            if fields_container else None

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> GlpiDesk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ lookups

    def _lookup(self, itemtype: str, item_id: int) -> dict[str, Any]:
        key = (itemtype, item_id)
        if key not in self._cache:
            self._cache[key] = self.api.json("GET", f"/{itemtype}/{item_id}")
        return self._cache[key]

    def _login(self, user_id: Any) -> str:
        if not user_id:
            return ""
        if self._me is not None and int(user_id) == self._me[0]:
            return self._me[1]
        try:
            return str(self._lookup("User", int(user_id))["name"])
        except NotFoundError:
            return f"user-{user_id}"  # a purged account: still an account nobody is mapped to
        except ConfigurationError as exc:
            if exc.details.get("status") != 403:
                raise
            # A profile without the right to read users (Self-Service): an account nobody is mapped to, so a
            # decision by it is refused, never granted. `desk check` reports the missing right (capabilities).
            self._cache[("User", int(user_id))] = {"name": f"user-{user_id}"}
            return f"user-{user_id}"

    def _complete_name(self, itemtype: str, item_id: Any) -> str:
        if itemtype == "ITILCategory" and not item_id:
            return ""
        row = self._lookup(itemtype, int(item_id))
        return str(row.get("completename") or row.get("name") or "")

    def _whoami(self) -> tuple[int, str]:
        if self._me is None:
            session = self.api.json("GET", "/getFullSession").get("session", {})
            self._me = (int(session.get("glpiID") or 0), str(session.get("glpiname") or ""))
        return self._me

    def _account(self) -> str:
        return self._whoami()[1]

    def _time(self, value: Any) -> datetime:
        return datetime.strptime(str(value), _DATE).replace(tzinfo=self.tz).astimezone(UTC)

    def _local(self, when: datetime) -> str:
        aware = when if when.tzinfo else when.replace(tzinfo=UTC)
        return aware.astimezone(self.tz).strftime(_DATE)

    # ------------------------------------------------------------------ reads

    def capabilities(self) -> DeskCapabilities:
        session = self.api.json("GET", "/getFullSession").get("session", {})
        active = session.get("glpiactiveentities") or {}
        active_ids = {int(e) for e in (active.values() if isinstance(active, dict) else active)}
        entities = self.api.json("GET", "/getMyEntities").get("myentities", [])
        profile = self.api.json("GET", "/getActiveProfile").get("active_profile", {})
        profiles = self.api.json("GET", "/getMyProfiles").get("myprofiles", [])
        categories = self.api.pages("/ITILCategory")
        try:
            users = self.api.pages("/User")
        except ConfigurationError as exc:  # no ``user`` READ: missing_rights names it, accounts stay unknown
            if exc.details.get("status") != 403:
                raise
            users = []
        return DeskCapabilities(
            account=self._account(), projects=tuple(str(e["name"]) for e in entities if int(e["id"]) in active_ids),
            trackers=tuple(str(c.get("completename") or c["name"]) for c in categories),
            statuses=tuple(STATUSES.values()), fields=FIELDS + (self.plugin.labels() if self.plugin else ()),
            missing_rights=missing_rights(profile, profiles),
            accounts=tuple(DeskAccount(login=str(u["name"]), active=bool(u.get("is_active", 1)),
                                       name=f"{u.get('firstname') or ''} {u.get('realname') or ''}".strip())
                           for u in users))

    def _documents(self, ticket: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(Document_Item, Document) pairs of a ticket, in link order."""
        links = self.api.pages(f"/Ticket/{ticket}/Document_Item")
        return [(link, self.api.json("GET", f"/Document/{int(link['documents_id'])}")) for link in links]

    def issue(self, key: str) -> DeskIssue:
        ticket = self.api.json("GET", f"/Ticket/{_ticket_id(key)}")
        category = self._complete_name("ITILCategory", ticket.get("itilcategories_id"))
        entity = self._complete_name("Entity", ticket.get("entities_id", 0))
        fields = {"category": category, "entity": entity, "type": TYPES.get(int(ticket.get("type", 2)), ""),
                  "urgency": str(ticket.get("urgency", "")), "impact": str(ticket.get("impact", "")),
                  "priority": str(ticket.get("priority", "")),
                  "validation": VALIDATIONS.get(int(ticket.get("global_validation") or 1), "")}
        if self.plugin is not None:
            fields |= self.plugin.values(int(ticket["id"]))
        return DeskIssue(
            key=str(ticket["id"]), project=entity, tracker=category or None, subject=str(ticket.get("name", "")),
            description=html_to_text(str(ticket.get("content") or "")),
            author=self._login(ticket.get("users_id_recipient")),
            status=STATUSES.get(int(ticket["status"]), str(ticket["status"])), fields=fields,
            attachments=tuple(str(doc.get("filename") or doc.get("name")) for _, doc in self._documents(ticket["id"])),
            updated_at=self._time(ticket["date_mod"]), url=f"{self.web_url}/front/ticket.form.php?id={ticket['id']}")

    def _mine(self, user_id: Any, marker: str | None) -> str | None:
        return marker if marker and int(user_id or 0) == self._whoami()[0] else None

    def changes(self, key: str) -> list[DeskChange]:
        ticket = _ticket_id(key)
        self.api.json("GET", f"/Ticket/{ticket}")  # an unknown ticket is NotFoundError, not an empty list
        found: list[tuple[datetime, int, int, DeskChange]] = []
        logs = by_id(self.api.pages(f"/Ticket/{ticket}/Log", {"sort": "id", "order": "ASC"}))
        statuses = [row for row in logs if is_status(row)]
        found += self._field_changes(key, logs)
        merged: set[int] = set()
        for row in self.api.pages(f"/Ticket/{ticket}/ITILFollowup", {"sort": "id", "order": "ASC"}):
            note, marker, announced = split_marker(html_to_text(str(row.get("content") or "")))
            at = self._time(row.get("date_creation") or row["date"])
            marker = self._mine(row["users_id"], marker)
            log = self._status_log(statuses, merged, row["users_id"], announced, at) if marker else \
                split_button(logs, merged, int(row["id"]))
            found.append((at, 0, int(row["id"]), DeskChange(
                id=f"f{row['id']}", issue_key=key, at=at, account=self._login(row["users_id"]), note=note,
                marker=marker, status_from=_status_name(log.get("old_value")) if log else None,
                status_to=_status_name(log.get("new_value")) if log else None)))
        for row in self.api.pages(f"/Ticket/{ticket}/TicketValidation", {"sort": "id", "order": "ASC"}):
            at = self._time(row["submission_date"])
            found.append((at, 1, int(row["id"]), DeskChange(
                id=f"v{row['id']}:waiting", issue_key=key, at=at, account=self._login(row["users_id"]),
                note=html_to_text(str(row.get("comment_submission") or "")), validation="waiting",
                field_changes={"validator": (None, self._login(row["users_id_validate"]))})))
            answer = VALIDATIONS.get(int(row["status"]))
            if answer in ("accepted", "refused") and row.get("validation_date"):
                at = self._time(row["validation_date"])
                found.append((at, 2, int(row["id"]), DeskChange(
                    id=f"v{row['id']}:{answer}", issue_key=key, at=at, account=self._login(row["users_id_validate"]),
                    note=html_to_text(str(row.get("comment_validation") or "")), validation=answer)))
        for row in statuses:
            if int(row["id"]) in merged:
                continue
            user = log_user(row)
            at = self._time(row["date_mod"])
            found.append((at, 3, int(row["id"]), DeskChange(
                id=f"s{row['id']}", issue_key=key, at=at, account=self._login(user) if user else "",
                status_from=_status_name(row.get("old_value")), status_to=_status_name(row.get("new_value")))))
        for link, doc in self._documents(ticket):
            _, marker, _ = split_marker(html_to_text(str(doc.get("comment") or "")))
            at = self._time(link.get("date_creation") or link["date_mod"])
            name = str(doc.get("filename") or doc.get("name"))
            found.append((at, 4, int(link["id"]), DeskChange(
                id=f"d{link['id']}", issue_key=key, at=at, account=self._login(link.get("users_id")),
                field_changes={"attachment": (None, name)}, marker=self._mine(link.get("users_id"), marker))))
        return [change for *_, change in sorted(found, key=lambda item: item[:3])]

    def _field_changes(self, key: str, logs: list[dict[str, Any]]) -> list[tuple[datetime, int, int, DeskChange]]:
        if self.plugin is None:
            return []
        return [(change.at, 3, int(change.id[1:]), change)
                for change in field_changes(self.plugin, key, logs, self._time, self._login)]

    def _status_log(self, logs: list[dict[str, Any]], merged: set[int], author: Any, announced: int | None,
                    at: datetime) -> dict[str, Any] | None:
        """The status change a set_status followup announces: the latest one before it by the same account to
        that status not yet claimed. The two are one change, as spbe wrote them in one call."""
        if announced is None:
            return None
        for log in reversed(logs):
            user = log_user(log)
            if (int(log["id"]) not in merged and user and int(user) == int(author)
                    and str(log.get("new_value")) == str(announced) and self._time(log["date_mod"]) <= at):
                merged.add(int(log["id"]))
                found: dict[str, Any] = log
                return found
        return None

    def updated_since(self, since: datetime, projects: tuple[str, ...], limit: int = 100) -> list[DeskIssue]:
        if limit <= 0 or not projects:
            return []
        entity_ids = self._entity_ids(projects)
        after = (since if since.tzinfo else since.replace(tzinfo=UTC)) - timedelta(seconds=1)
        params: dict[str, Any] = {
            "criteria[0][field]": SEARCH_DATE_MOD, "criteria[0][searchtype]": "morethan",
            "criteria[0][value]": self._local(after), "sort": SEARCH_DATE_MOD, "order": "ASC",
            "forcedisplay[0]": SEARCH_ID, "forcedisplay[1]": SEARCH_DATE_MOD}
        for index, entity in enumerate(entity_ids):
            params["criteria[1][link]"] = "AND"
            params[f"criteria[1][criteria][{index}][field]"] = SEARCH_ENTITY
            params[f"criteria[1][criteria][{index}][searchtype]"] = "equals"
            params[f"criteria[1][criteria][{index}][value]"] = entity
            if index:
                params[f"criteria[1][criteria][{index}][link]"] = "OR"
        rows = self.api.pages("/search/Ticket", params, page=min(limit, MAX_RANGE), limit=limit)
        ordered = sorted(rows, key=lambda r: (str(r[str(SEARCH_DATE_MOD)]), int(r[str(SEARCH_ID)])))
        return [self.issue(str(row[str(SEARCH_ID)])) for row in ordered[:limit]]

    def _entity_ids(self, projects: tuple[str, ...]) -> list[int]:
        entities = {str(e["name"]): int(e["id"]) for e in self.api.json("GET", "/getMyEntities").get("myentities", [])}
        missing = [p for p in projects if p not in entities]
        if missing:
            raise ConfigurationError(f"desk {self.name}: GLPI has no entity {', '.join(missing)} visible to the spbe "
                                     "account", desk=self.name, projects=missing)
        return [entities[p] for p in projects]

    def read_attachment(self, key: str, name: str) -> bytes:
        for _, doc in self._documents(_ticket_id(key)):
            if name in (doc.get("filename"), doc.get("name")):
                response = self.api.request("GET", f"/Document/{int(doc['id'])}",
                                            headers={"Accept": "application/octet-stream"}, ok=(200,))
                return response.content
        raise NotFoundError(f"ticket {key} on {self.name} has no document '{name}'", desk=self.name, key=key)

    # ------------------------------------------------------------------ writes

    def find_marker(self, key: str, marker: str) -> str | None:
        ticket = _ticket_id(key)
        for change in self.changes(str(ticket)):
            if change.marker == marker:
                return change.id
        return None

    def _check_marker(self, marker: str) -> None:
        if not MARKER.fullmatch(f"[spbe:{marker}]"):
            raise InvalidInputError(f"outbox marker {marker!r} is not a marker", marker=marker)

    def add_note(self, key: str, text: str, marker: str) -> str:
        """Idempotent by itself too: a marker already on the ticket returns that followup's id."""
        return self._note(key, text, marker, None)

    def _note(self, key: str, text: str, marker: str, status: int | None) -> str:
        self._check_marker(marker)
        if existing := self.find_marker(key, marker):
            return existing
        tag = f" status:{status}" if status else ""
        content = text_to_html(text) + f"<p>[spbe:{marker}{tag}]</p>"
        created = self.api.json("POST", "/ITILFollowup", json={"input": {
            "itemtype": "Ticket", "items_id": _ticket_id(key), "content": content, "is_private": 0}})
        return f"f{int(created['id'])}"

    def attach(self, key: str, name: str, media_type: str, content: bytes, marker: str) -> str:
        self._check_marker(marker)
        if existing := self.find_marker(key, marker):
            return existing
        ticket = _ticket_id(key)
        manifest = {"input": {"name": name, "_filename": [name], "comment": f"[spbe:{marker}]",
                              "itemtype": "Ticket", "items_id": ticket}}
        files = {"uploadManifest": (None, json.dumps(manifest), "application/json"),
                 "filename[0]": (name, content, media_type)}
        created = self.api.json("POST", "/Document", files=files)
        document = int(created["id"])
        for link in self.api.pages(f"/Ticket/{ticket}/Document_Item"):
            if int(link["documents_id"]) == document:
                return f"d{int(link['id'])}"
        raise InvalidInputError(f"{self.name} (GLPI) stored document {document} but did not link it to ticket {key}",
                                desk=self.name, key=key, document=document)

    def set_status(self, key: str, status: str, marker: str, note: str = "") -> str:
        """PUT the status (harmless to repeat), read it back, then a followup carrying the marker: a retry after
        a lost answer either finds the marker or does both steps again."""
        self._check_marker(marker)
        if status not in STATUS_IDS:
            raise ConfigurationError(f"desk {self.name}: GLPI has no status '{status}' ({', '.join(STATUS_IDS)})",
                                     desk=self.name, status=status)
        if existing := self.find_marker(key, marker):
            return existing
        ticket = _ticket_id(key)
        try:
            self.api.json("PUT", f"/Ticket/{ticket}", json={"input": {"status": STATUS_IDS[status]}})
        except ConfigurationError as exc:
            raise ConfigurationError(f"{self.name} (GLPI): account '{self._account()}' may not move ticket {key} to "
                                     f"'{status}': {exc.details.get('code') or exc}", **exc.details) from None
        now = self.api.json("GET", f"/Ticket/{ticket}")
        if int(now["status"]) != STATUS_IDS[status]:
            raise ConfigurationError(
                f"{self.name} (GLPI) kept ticket {key} at '{STATUSES.get(int(now['status']))}' instead of '{status}': "
                f"account '{self._account()}' or the ticket's life cycle does not allow it",
                desk=self.name, key=key, status=status)
        return self._note(key, note or f"Status tiket diubah menjadi '{status}'.", marker, STATUS_IDS[status])


def _status_name(value: Any) -> str | None:
    text = str(value or "").strip()
    return STATUSES.get(int(text), text) if text.isdigit() else (text or None)
