"""`DeskClient` for Redmine (4.2 and 5.x REST API, JSON), with ``requests``.

Built for a *non-admin* bot account (the ``spbe`` user, a project member): nothing here needs Redmine's admin
flag, which a Diskominfo should not hand to an automation key.

* issue: ``GET /issues/{id}.json?include=attachments``. Redmine's issue JSON names the author by id and
  display name only; the login comes from ``GET /users/{id}.json`` (cached), which a non-admin may read for
  any user it can see (Redmine shows ``login`` to everyone; ``/users.json`` would be admin-only). A user it
  cannot see (locked, deleted) is reported as ``#<id>``, which maps to no directory person, so the intake
  refuses whatever that account did. The project's identifier comes from ``GET /projects/{id}.json`` (cached).
* changes: ``include=journals``; see `integrations.desks.redmine_journals` for the mapping and the marker.
* updated_since: ``GET /issues.json?project_id=..&status_id=*&updated_on=>=<UTC seconds>&sort=updated_on,id``
  paged by offset. ``since`` is rounded *down* to the second, so a record of the cursor's own second is seen
  again (the poller dedupes by change id); several projects are asked one by one and merged by update time.
  Offset paging over a changing list may skip an issue updated during the paging (it moves to the end), but
  its new ``updated_on`` is later than anything this answer holds, so the next poll from the cursor finds it.
* writes: ``PUT /issues/{id}.json`` (204, no body), then a read-back to find the desk's id of what was
  written (the journal or attachment carrying the marker). A status change is checked before (the issue's
  ``allowed_statuses``, Redmine's own reading of the workflow for this account) and verified after: Redmine
  answers 204 and drops the status when the role's workflow or ``edit_issues`` is missing.
* errors: an issue the account may not see is 403 in Redmine (not 404), hence `ConfigurationError`: the bot
  lacks a membership or the role's issue visibility, which retrying will not fix.
* capabilities: ``/users/current.json``, ``/projects.json``, ``/trackers.json``, ``/issue_statuses.json``,
  and the custom fields from ``/custom_fields.json`` when the key is admin, else (403) from each project's
  ``include=issue_custom_fields``; accounts from the projects' memberships (groups are skipped).
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, SecretStr

from toolkit.adapter_options import AdapterOptions
from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError, UnavailableError
from toolkit.masking import Masker
from toolkit.ports.desk import DeskAccount, DeskCapabilities, DeskChange, DeskIssue
from toolkit.secret_types import SecretName, ServiceUrl, reveal_url
from toolkit.settings import Settings

from ._redmine_http import RedmineHttp
from .redmine_journals import (
    attachment_description,
    custom_value,
    find_own_marker,
    journal_change,
    parse_time,
    require_marker,
    split_marker,
    with_marker,
)

KEY_PATTERN = re.compile(r"^[1-9][0-9]{0,11}$")


# The project permissions spbe's writes need: read issues, add notes and files, move statuses.
NEEDED_RIGHTS = ("view_issues", "add_issue_notes", "edit_issues")


class RedmineOptions(AdapterOptions):
    """Options of a ``redmine`` desk."""

    base_url: ServiceUrl = Field(description="Redmine's root, e.g. https://helpdesk.example.go.id/redmine")
    api_key_secret: SecretName | None = Field(
        default=None, description="the settings.secrets entry holding the bot account's API key")
    api_key: SecretStr | None = Field(default=None, description="the API key itself (prefer api_key_secret)")
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    verify_tls: bool = True


class RedmineDesk:
    """One Redmine desk, as the bot account whose API key it holds."""

    Options = RedmineOptions

    def __init__(self, settings: Settings, *, name: str = "redmine", base_url: str | SecretStr,
                 api_key_secret: str | None = None, api_key: str | SecretStr | None = None,
                 timeout_s: float = 10.0, verify_tls: bool = True, masker: Masker | None = None) -> None:
        self.name = name
        self.masker = masker or Masker()
        if api_key_secret:
            key = settings.secret(api_key_secret)
        elif api_key is not None:
            key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        else:
            raise ConfigurationError(f"desk {name} (redmine): set api_key_secret (or api_key)", desk=name)
        if not key.get_secret_value():
            raise ConfigurationError(f"desk {name} (redmine): the API key is empty", desk=name)
        self.masker.add(key)
        url = str(reveal_url(base_url, self.masker))
        self.base_url = url.rstrip("/")
        self.http = RedmineHttp(name, url, key.get_secret_value(), masker=self.masker, timeout_s=timeout_s,
                                verify_tls=verify_tls)
        self._lock = threading.Lock()
        self._users: dict[int, dict[str, Any]] = {}
        self._projects: dict[int, str] = {}
        self._statuses: dict[str, str] | None = None  # id (as a string) -> name
        self._fields: dict[str, str] = {}  # custom field id (as a string) -> name
        self._me: dict[str, Any] | None = None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RedmineDesk:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ lookups (cached per client)

    def _key(self, key: str) -> str:
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise NotFoundError(f"desk {self.name} (redmine): {str(key)[:64]!r} is not a Redmine issue id",
                                desk=self.name)
        return key

    def _me_user(self) -> dict[str, Any]:
        if self._me is None:
            user = self.http.get("/users/current.json").get("user") or {}
            self._me = {"id": int(user["id"]), "login": str(user["login"]),
                        "name": f"{user.get('firstname', '')} {user.get('lastname', '')}".strip(),
                        "admin": bool(user.get("admin"))}
        return self._me

    def _user(self, user_id: int) -> dict[str, Any]:
        """login, name and (admin key only) status of a user, cached; one the key cannot see (locked, deleted,
        outside its projects) is ``#<id>`` and is not cached, so it resolves once it becomes visible."""
        with self._lock:
            if user_id in self._users:
                return self._users[user_id]
        response = self.http.request("GET", f"/users/{user_id}.json", allow=(403, 404))
        body = response.json().get("user", {}) if response.status_code == 200 else {}
        user = {"login": str(body.get("login") or f"#{user_id}"),
                "name": f"{body.get('firstname', '')} {body.get('lastname', '')}".strip(),
                "active": body.get("status") in (None, 1)}  # 1 = active; shown to an admin key only
        if response.status_code == 200:
            with self._lock:
                self._users[user_id] = user
        return user

    def _login(self, user_id: int | None) -> str:
        return "anonymous" if user_id is None else str(self._user(user_id)["login"])

    def _project(self, project_id: int) -> str:
        with self._lock:
            if project_id in self._projects:
                return self._projects[project_id]
        identifier = str(self.http.get(f"/projects/{project_id}.json")["project"]["identifier"])
        with self._lock:
            self._projects[project_id] = identifier
        return identifier

    def _status_names(self, refresh: bool = False) -> dict[str, str]:
        if self._statuses is None or refresh:
            rows = self.http.get("/issue_statuses.json").get("issue_statuses") or []
            self._statuses = {str(s["id"]): str(s["name"]) for s in rows}
        return self._statuses

    def _status_id(self, status: str) -> int:
        for refresh in (False, True):
            for sid, name in self._status_names(refresh).items():
                if name == status:
                    return int(sid)
        raise ConfigurationError(f"desk {self.name} (redmine) has no status '{status}' (see /issue_statuses.json)",
                                 desk=self.name, status=status)

    def _raw(self, key: str, include: str) -> dict[str, Any]:
        issue: dict[str, Any] | None = self.http.get(f"/issues/{self._key(key)}.json", include=include).get("issue")
        if not isinstance(issue, dict):
            raise ConfigurationError(f"desk {self.name} (redmine) answered GET /issues/{key}.json without an issue "
                                     "(is base_url Redmine?)", desk=self.name, issue=key)
        for field in issue.get("custom_fields") or []:
            self._fields[str(field["id"])] = str(field["name"])
        return issue

    # ------------------------------------------------------------------ reading

    def _desk_issue(self, issue: dict[str, Any]) -> DeskIssue:
        return DeskIssue(
            key=str(issue["id"]), project=self._project(int(issue["project"]["id"])),
            tracker=(issue.get("tracker") or {}).get("name"), subject=str(issue.get("subject") or ""),
            description=str(issue.get("description") or ""),
            author=self._login((issue.get("author") or {}).get("id")), status=str(issue["status"]["name"]),
            fields={str(f["name"]): custom_value(f.get("value")) for f in issue.get("custom_fields") or []},
            attachments=tuple(str(a["filename"]) for a in issue.get("attachments") or []),
            updated_at=parse_time(str(issue["updated_on"])), url=f"{self.base_url}/issues/{issue['id']}")

    def issue(self, key: str) -> DeskIssue:
        return self._desk_issue(self._raw(key, "attachments"))

    def changes(self, key: str) -> list[DeskChange]:
        return self._changes(self._raw(key, "journals,attachments"))

    def issue_and_changes(self, key: str) -> tuple[DeskIssue, list[DeskChange]]:
        """Both from one read (`toolkit.ports.desk.DeskSnapshot`): a Redmine request costs ~0.1 s, and the
        intake needs both at once."""
        raw = self._raw(key, "journals,attachments")
        return self._desk_issue(raw), self._changes(raw)

    def _changes(self, issue: dict[str, Any]) -> list[DeskChange]:
        own = self._me_user()["id"]
        statuses = self._status_names()
        if any(str(d.get("new_value")) not in statuses or str(d.get("old_value")) not in statuses
               for j in issue.get("journals") or [] for d in j.get("details") or []
               if d.get("property") == "attr" and d.get("name") == "status_id"):
            statuses = self._status_names(refresh=True)  # a status added since the client started
        if any(d.get("property") == "cf" and str(d.get("name")) not in self._fields
               for j in issue.get("journals") or [] for d in j.get("details") or []):
            self._learn_fields(int(issue["project"]["id"]))
        attachments = {str(a["id"]): a for a in issue.get("attachments") or []}
        return [journal_change(str(issue["id"]), journal, own_user_id=own, account=self._login, statuses=statuses,
                               fields=self._fields, attachments=attachments)
                for journal in sorted(issue.get("journals") or [], key=lambda j: (j["created_on"], j["id"]))]

    def updated_since(self, since: datetime, projects: tuple[str, ...], limit: int = 100) -> list[DeskIssue]:
        if since.tzinfo is None:
            raise InvalidInputError("updated_since needs an aware datetime", errors=[("since", "naive")])
        cursor = since.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        found: list[dict[str, Any]] = []
        for project in projects:
            found += self.http.pages("/issues.json", "issues", limit=limit, project_id=project, status_id="*",
                                     updated_on=f">={cursor}", sort="updated_on,id", include="attachments")
        unique = {int(i["id"]): i for i in found}  # a parent project's listing includes its subprojects' issues
        ordered = sorted(unique.values(), key=lambda i: (parse_time(str(i["updated_on"])), int(i["id"])))
        return [self._desk_issue(issue) for issue in ordered[:limit]]

    def read_attachment(self, key: str, name: str) -> bytes:
        issue = self._raw(key, "attachments")
        matching = [a for a in issue.get("attachments") or [] if a.get("filename") == name]
        if not matching:
            raise NotFoundError(f"desk {self.name} (redmine): issue {key} has no attachment '{name}'",
                                desk=self.name, issue=key, name=name)
        newest = max(matching, key=lambda a: int(a["id"]))
        # The download path, on base_url's origin: content_url carries the host Redmine was asked by, which
        # behind a proxy may not be base_url's, and the key is never sent to another origin.
        content: bytes = self.http.request("GET", f"/attachments/download/{int(newest['id'])}").content
        return content

    def find_marker(self, key: str, marker: str) -> str | None:
        return find_own_marker(self._raw(key, "journals,attachments"), marker, self._me_user()["id"])

    # ------------------------------------------------------------------ writing

    def _put(self, key: str, **fields: Any) -> None:
        self.http.request("PUT", f"/issues/{self._key(key)}.json", ok=(200, 204), json={"issue": fields})

    def _written(self, key: str, marker: str) -> str:
        found = self.find_marker(key, marker)
        if found is None:
            raise UnavailableError(f"desk {self.name} (redmine) accepted the write to issue {key} but does not "
                                   "show it yet", desk=self.name, issue=key)
        return found

    def add_note(self, key: str, text: str, marker: str) -> str:
        require_marker(marker)
        found = self.find_marker(key, marker)
        if found is not None:
            return found
        self._put(key, notes=with_marker(text, marker))
        return self._written(key, marker)

    def attach(self, key: str, name: str, media_type: str, content: bytes, marker: str) -> str:
        require_marker(marker)
        found = self.find_marker(key, marker)
        if found is not None:
            return found
        upload = self.http.json("POST", "/uploads.json", ok=(201,), params={"filename": name}, data=content,
                                headers={"Content-Type": "application/octet-stream"})
        token = str(upload["upload"]["token"])
        self._put(key, uploads=[{"token": token, "filename": name, "content_type": media_type,
                                 "description": attachment_description(marker)}])
        return self._written(key, marker)

    def set_status(self, key: str, status: str, marker: str, note: str = "") -> str:
        require_marker(marker)
        found = self.find_marker(key, marker)
        if found is not None:
            return found
        target = self._status_id(status)
        issue = self._raw(key, "allowed_statuses")
        current = int(issue["status"]["id"])
        allowed = {int(s["id"]) for s in issue.get("allowed_statuses") or []}
        if current != target and target not in allowed:
            raise self._refused(key, issue, status)
        default = f"Status diubah menjadi {status}." if current != target else f"Status tetap {status}."
        self._put(key, status_id=target, notes=with_marker(note or default, marker))
        after = self._raw(key, "journals")
        journal = find_own_marker(after, marker, self._me_user()["id"])
        if int(after["status"]["id"]) != target:
            if journal is not None:
                self._unmark(journal, note)  # so a retry after the workflow is fixed writes the change again
            raise self._refused(key, issue, status)
        return journal or self._written(key, marker)

    def _refused(self, key: str, issue: dict[str, Any], status: str) -> ConfigurationError:
        me = self._me_user()["login"]
        return ConfigurationError(
            f"desk {self.name} (redmine) did not move issue {key} from '{issue['status']['name']}' to '{status}': "
            f"account '{me}' needs a workflow transition {issue['status']['name']} → {status} for tracker "
            f"'{(issue.get('tracker') or {}).get('name')}' and the edit_issues permission in its project role",
            desk=self.name, issue=key, status=status, account=me)

    def _unmark(self, journal: str, note: str) -> None:
        """Take the marker off a journal whose status change Redmine dropped (``PUT /journals/{id}.json``);
        best effort: the error that follows says what is wrong either way."""
        text = split_marker(note)[0] or f"(spbe) Perubahan status tidak diterima oleh {self.name}."
        try:
            self.http.request("PUT", f"/journals/{journal[1:]}.json", ok=(200, 204), json={"journal": {"notes": text}})
        except (ConfigurationError, NotFoundError, UnavailableError):
            pass

    # ------------------------------------------------------------------ capabilities

    def _learn_fields(self, project_id: int) -> list[str]:
        project = self.http.get(f"/projects/{project_id}.json", include="issue_custom_fields")["project"]
        rows = project.get("issue_custom_fields") or []
        for field in rows:
            self._fields[str(field["id"])] = str(field["name"])
        return [str(f["name"]) for f in rows]

    def capabilities(self) -> DeskCapabilities:
        me = self._me_user()
        projects = self.http.pages("/projects.json", "projects")
        trackers = self.http.get("/trackers.json").get("trackers") or []
        statuses = self._status_names(refresh=True)
        response = self.http.request("GET", "/custom_fields.json", allow=(403,))
        if response.status_code == 200:
            fields = sorted({str(f["name"]) for f in response.json().get("custom_fields") or []
                             if f.get("customized_type") == "issue"})
        else:  # not an admin key: what each project shows its members
            fields = sorted({name for p in projects for name in self._learn_fields(int(p["id"]))})
        accounts: dict[int, DeskAccount] = {}
        for project in projects:
            for membership in self.http.pages(f"/projects/{int(project['id'])}/memberships.json", "memberships"):
                user = membership.get("user")
                if user and int(user["id"]) not in accounts:
                    known = self._user(int(user["id"]))
                    accounts[int(user["id"])] = DeskAccount(login=str(known["login"]), active=bool(known["active"]),
                                                            name=str(user.get("name") or known["name"]))
        return DeskCapabilities(
            account=str(me["login"]), projects=tuple(str(p["identifier"]) for p in projects),
            trackers=tuple(str(t["name"]) for t in trackers), statuses=tuple(statuses.values()),
            fields=tuple(fields), accounts=tuple(sorted(accounts.values(), key=lambda a: a.login)),
            missing_rights=self._missing_rights(projects))

    def _missing_rights(self, projects: list[dict[str, Any]]) -> tuple[str, ...]:
        """Per project the bot is a member of, the permissions its roles lack of those spbe's writes need (a
        status change without ``edit_issues`` is silently dropped by Redmine)."""
        me = self.http.get("/users/current.json", include="memberships").get("user") or {}
        identifiers = {int(p["id"]): str(p["identifier"]) for p in projects}
        missing: list[str] = []
        for membership in me.get("memberships") or []:
            project = identifiers.get(int(membership["project"]["id"]))
            if project is None:
                continue
            granted: set[str] = set()
            for role in membership.get("roles") or []:
                granted |= set(self.http.get(f"/roles/{int(role['id'])}.json").get("role", {}).get("permissions") or [])
            missing += [f"{project}: {right}" for right in NEEDED_RIGHTS if right not in granted]
        return tuple(missing)
