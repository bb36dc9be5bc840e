"""`DeskClient` for a home-grown helpdesk with a REST API (kind ``rest``), driven by `RestEndpoints`.

The desk's shape (paths, paging, JSON names) is data in the desk mapping (`integrations.desks.rest_spec`); this
module is the one behaviour every such desk shares:

* auth: one header (``options.auth``: ``Authorization: Bearer {token}`` by default), the token from
  ``settings.secrets``; the token is handed to the masker first, so no message, log line or exception shows it.
* redirects are not followed (the token would follow them): a 3xx is a `ConfigurationError` naming the request.
* errors (the port's rule): unreachable, timeout, 5xx → `UnavailableError` (the poller and outbox retry);
  401/403 → `ConfigurationError` (a wrong or powerless token: retrying will not help); 404 → `NotFoundError`;
  any other 4xx (422: a status the desk does not know) → `InvalidInputError` carrying the desk's own message
  (``endpoints.error_message``); an answer that is not JSON or lacks a mapped value → `ConfigurationError`
  naming the path (the spec does not match the desk).
* updated since: one listing per project, paged (page+per_page or offset+limit) until ``limit`` issues or a
  short page; "at or after" ``since`` (a desk that answers "after" is asked a second earlier), filtered again
  here, merged oldest first. Desks keep seconds: a record of the poll's own second is read again, not lost.
* markers: a note's (and a status change's) last line is ``[spbe:<marker>]``; a file carries the marker in its
  description field. `find_marker` looks at the issue's changes and files, and counts only what spbe's own
  account wrote (a person cannot forge a marker to make spbe skip a write).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
from pydantic import Field, SecretStr, ValidationError

from toolkit.adapter_options import AdapterOptions
from toolkit.errors import ConfigurationError, InvalidInputError, NotFoundError, UnavailableError
from toolkit.masking import Masker
from toolkit.ports.desk import DeskAccount, DeskCapabilities, DeskChange, DeskIssue
from toolkit.secret_types import SecretName, ServiceUrl, reveal_url
from toolkit.settings import Settings

from .rest_spec import MISSING, AuthHeader, Listing, RestEndpoints, walk

MARKER = re.compile(r"\[spbe:([A-Za-z0-9:._-]{1,128})\]")
KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")  # DeskIssue.key: anything else cannot name an issue of any desk
MAX_PAGES = 1000


class RestOptions(AdapterOptions):
    """``options`` of a desk mapping of kind rest."""

    base_url: ServiceUrl = Field(description="the desk's API root, e.g. https://helpdesk.example.go.id")
    token_secret: SecretName | None = Field(default=None, description="settings.secrets entry with spbe's token")
    auth: AuthHeader = Field(default_factory=AuthHeader, description="the header carrying the token")
    web_url: ServiceUrl | None = Field(
        default=None, description="where a person opens issue {key}, when the answer has no url of its own")
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    verify_tls: bool = True
    endpoints: RestEndpoints


def split_marker(text: str) -> tuple[str, str | None]:
    """(text without its trailing marker line, the marker)."""
    lines = text.rstrip().splitlines()
    if lines and (match := MARKER.fullmatch(lines[-1].strip())):
        return "\n".join(lines[:-1]).rstrip(), match.group(1)
    return text, None


def with_marker(text: str, marker: str) -> str:
    if not MARKER.fullmatch(f"[spbe:{marker}]"):
        raise InvalidInputError("a desk marker is 1-128 characters of letters, digits and ':._-'",
                                errors=[("marker", "malformed")])
    return f"{text.rstrip()}\n\n[spbe:{marker}]" if text.strip() else f"[spbe:{marker}]"


def parse_time(value: Any) -> datetime:
    """ISO 8601 (``Z`` or an offset; a naive time is UTC) or epoch seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace("z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    return "" if value is None or value is MISSING else str(value)


class RestDesk:
    """A home-grown REST desk. One instance may be shared by threads (requests' session is; the cached
    account name is an immutable string, a lost race only repeats one lookup)."""

    kind = "rest"
    Options = RestOptions

    def __init__(self, settings: Settings, *, name: str, masker: Masker | None = None,
                 base_url: str | SecretStr, token_secret: str | None = None,
                 auth: AuthHeader | dict[str, str] | None = None, web_url: str | SecretStr | None = None,
                 timeout_s: float = 10.0, verify_tls: bool = True,
                 endpoints: RestEndpoints | dict[str, Any]) -> None:
        self.name = name
        self.masker = masker or Masker()
        try:
            self.spec = endpoints if isinstance(endpoints, RestEndpoints) else RestEndpoints.model_validate(endpoints)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in ("endpoints", *first["loc"]))
            message = str(first["msg"]).removeprefix("Value error, ")
            raise ConfigurationError(f"desk {name}: options.{key}: {message}", desk=name,
                                     key=f"options.{key}") from None
        self.base_url = str(reveal_url(base_url, self.masker)).rstrip("/")
        self.web_url = reveal_url(web_url, self.masker)
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.verify = verify_tls
        if token_secret:
            token = settings.secret(token_secret)
            self.masker.add(token)
            how = auth if isinstance(auth, AuthHeader) else AuthHeader.model_validate(auth or {})
            self.session.headers[how.header] = how.value.replace("{token}", token.get_secret_value())
        self.session.headers["Accept"] = "application/json"
        self._me: str | None = None

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ HTTP

    def _url(self, template: str, **values: str) -> str:
        key = values.get("key", "")
        if not KEY.fullmatch(key):
            raise NotFoundError(f"desk {self.name}: '{key[:70]}' is not an issue key", desk=self.name, key=key[:70])
        path = template
        for placeholder, value in values.items():
            path = path.replace("{" + placeholder + "}", quote(value, safe=""))
        return path

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_s)
        kwargs["allow_redirects"] = False  # the token goes to base_url only, never where a redirect points
        where = f"{method} {path}"
        ctx: dict[str, Any] = {"desk": self.name, "method": method, "path": path}
        try:
            response = self.session.request(method, self.base_url + path, **kwargs)
        except requests.Timeout:
            raise UnavailableError(f"desk {self.name} timed out after {self.timeout_s:g} s on {where}", **ctx) from None
        except requests.RequestException as exc:
            raise UnavailableError(f"desk {self.name} at {self.masker(self.base_url)} is unreachable "
                                   f"({type(exc).__name__}) on {where}", **ctx) from None
        status = response.status_code
        if status < 300:
            return response
        if status < 400:
            raise ConfigurationError(f"desk {self.name} redirected {where} elsewhere; set base_url to the desk's "
                                     "own address (the token is not sent on)", **ctx, status=status)
        text = self.masker(self._message(response))
        ctx["status"] = status
        head = f"desk {self.name} answered {status} to {where}" + (f": {text}" if text else "")
        if status in (401, 403):
            raise ConfigurationError(f"{head} (check the desk token in the settings and the account's rights)",
                                     **ctx)
        if status == 404:
            raise NotFoundError(head, **ctx)
        if status >= 500 or status in (408, 429):
            raise UnavailableError(head, **ctx)
        raise InvalidInputError(head, desk_message=text, **ctx)

    def _message(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return response.text.strip()[:300]
        found = walk(body, self.spec.error_message, None)
        return str(found)[:300] if found is not None else str(body)[:300]

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ConfigurationError(f"desk {self.name} answered {method} {path} with a body that is not JSON",
                                     desk=self.name, path=path) from None

    def _need(self, body: Any, path: str | None, what: str) -> Any:
        value = walk(body, path)
        if value is MISSING:
            raise ConfigurationError(f"desk {self.name}: the answer has no '{path}' ({what}); the endpoints spec "
                                     "does not match the desk", desk=self.name, key=what)
        return value

    def _list(self, body: Any, path: str | None, what: str) -> list[Any]:
        items = body if path is None else self._need(body, path, what)
        if not isinstance(items, list):
            raise ConfigurationError(f"desk {self.name}: '{path or '(the answer)'}' is not a list ({what})",
                                     desk=self.name, key=what)
        return items

    # ------------------------------------------------------------------ mapping

    def _issue(self, raw: Any) -> DeskIssue:
        shape = self.spec.issue_shape
        fields: dict[str, str] = {}
        found = walk(raw, shape.fields, None)
        if isinstance(found, dict):
            fields = {str(k): _text(v) for k, v in found.items()}
        elif isinstance(found, list):
            fields = {_text(walk(i, shape.field_name)): _text(walk(i, shape.field_value, "")) for i in found}
        key = _text(self._need(raw, shape.id, "issue_shape.id"))
        url = walk(raw, shape.url, None)
        if url is None and self.web_url:
            url = self.web_url.replace("{key}", key)
        try:
            return DeskIssue(
                key=key, project=_text(self._need(raw, shape.project, "issue_shape.project")),
                tracker=_text(walk(raw, shape.tracker, None)) or None,
                subject=_text(self._need(raw, shape.subject, "issue_shape.subject")),
                description=_text(walk(raw, shape.description, "")),
                author=_text(self._need(raw, shape.author, "issue_shape.author")),
                status=_text(self._need(raw, shape.status, "issue_shape.status")), fields=fields,
                attachments=tuple(_text(walk(a, shape.attachment_name)) for a in self._files(raw)),
                updated_at=parse_time(self._need(raw, shape.updated_at, "issue_shape.updated_at")),
                url=_text(url) or None)
        except (ValidationError, ValueError) as exc:
            raise ConfigurationError(f"desk {self.name}: issue {key or '?'} does not fit the port: "
                                     f"{str(exc).splitlines()[0]}", desk=self.name) from None

    def _files(self, raw: Any) -> list[Any]:
        files = walk(raw, self.spec.issue_shape.attachments, None)
        return files if isinstance(files, list) else []

    def _change(self, key: str, raw: Any, me: str) -> DeskChange:
        """One change; a marker counts only on what spbe's own account (``me``) wrote."""
        shape = self.spec.change_shape
        account = _text(self._need(raw, shape.account, "change_shape.account"))
        note, marker = _text(walk(raw, shape.note, "")), None
        if account == me:
            note, marker = split_marker(note)
        changed: dict[str, tuple[str | None, str | None]] = {}
        for item in walk(raw, shape.field_changes, None) or []:
            old, new = walk(item, shape.field_old, None), walk(item, shape.field_new, None)
            changed[_text(walk(item, shape.field_name))] = (None if old is None else str(old),
                                                            None if new is None else str(new))
        status_from, status_to = walk(raw, shape.status_from, None), walk(raw, shape.status_to, None)
        validation = walk(raw, shape.validation, None)
        try:
            return DeskChange(
                id=_text(self._need(raw, shape.id, "change_shape.id")), issue_key=key,
                at=parse_time(self._need(raw, shape.at, "change_shape.at")),
                account=account, note=note,
                status_from=None if status_from is None else str(status_from),
                status_to=None if status_to is None else str(status_to), field_changes=changed,
                validation=None if validation is None else str(validation), marker=marker)
        except (ValidationError, ValueError) as exc:
            raise ConfigurationError(f"desk {self.name}: a change of issue {key} does not fit the port: "
                                     f"{str(exc).splitlines()[0]}", desk=self.name) from None

    def _raw_issue(self, key: str) -> Any:
        body = self._json("GET", self._url(self.spec.issue, key=key))
        return body if self.spec.issue_body is None else self._need(body, self.spec.issue_body, "issue_body")

    def _names(self, listing: Listing, what: str) -> tuple[str, ...]:
        items = self._list(self._json("GET", listing.path), listing.items, what)
        return tuple(_text(self._need(i, listing.name, f"{what}.name")) for i in items)

    def account(self) -> str:
        """Who spbe is logged in as (cached: a token does not change owner)."""
        if self._me is None:
            self._me = _text(self._need(self._json("GET", self.spec.me), self.spec.me_login, "me_login"))
        return self._me

    # ------------------------------------------------------------------ reads

    def capabilities(self) -> DeskCapabilities:
        spec = self.spec.accounts
        accounts = tuple(
            DeskAccount(login=_text(self._need(a, spec.name, "accounts.name")),
                        name=_text(walk(a, spec.display_name, "")), active=bool(walk(a, spec.active, True)))
            for a in self._list(self._json("GET", spec.path), spec.items, "accounts"))
        return DeskCapabilities(
            account=self.account(), projects=self._names(self.spec.projects, "projects"),
            trackers=self._names(self.spec.trackers, "trackers") if self.spec.trackers else (),
            statuses=self._names(self.spec.statuses, "statuses"), fields=self._names(self.spec.fields, "fields"),
            accounts=accounts, missing_rights=self._missing_rights())

    def _missing_rights(self) -> tuple[str, ...]:
        """The needed rights (``endpoints.rights.needed``) the desk does not list for spbe's account."""
        spec = self.spec.rights
        if spec is None:
            return ()
        items = self._list(self._json("GET", spec.path), spec.items, "rights")
        granted = {_text(item if spec.name is None else self._need(item, spec.name, "rights.name")) for item in items}
        return tuple(right for right in spec.needed if right not in granted)

    def issue(self, key: str) -> DeskIssue:
        return self._issue(self._raw_issue(key))

    def changes(self, key: str) -> list[DeskChange]:
        body = self._json("GET", self._url(self.spec.changes, key=key))
        me = self.account()
        changes = [self._change(key, raw, me) for raw in self._list(body, self.spec.changes_items, "changes_items")]
        return sorted(changes, key=lambda c: c.at)  # stable: the desk's order within one second stays

    def updated_since(self, since: datetime, projects: tuple[str, ...], limit: int = 100) -> list[DeskIssue]:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        found: dict[str, DeskIssue] = {}
        for project in projects:
            for issue in self._search(since, project, limit):
                found[issue.key] = issue
        return sorted(found.values(), key=lambda i: (i.updated_at, i.key))[:limit]

    def _search(self, since: datetime, project: str, limit: int) -> list[DeskIssue]:
        spec = self.spec.search
        floor = since.replace(microsecond=0)  # desks keep seconds: 12:00:00.7 must still find 12:00:00
        asked = floor if spec.since_inclusive else floor - timedelta(seconds=1)
        stamp = (str(int(asked.timestamp())) if spec.since_format == "epoch"
                 else asked.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        issues: list[DeskIssue] = []
        previous: datetime | None = None
        for page in range(MAX_PAGES):
            position = spec.first_page + page if spec.paging == "page" else page * spec.page_size
            params = {**spec.extra, spec.since_param: stamp, spec.project_param: project,
                      spec.page_param: str(position), spec.size_param: str(spec.page_size)}
            items = self._list(self._json("GET", spec.path, params=params), spec.items, "search.items")
            for raw in items:
                issue = self._issue(raw)
                if previous is not None and issue.updated_at < previous:  # a cut at ``limit`` would lose records
                    raise ConfigurationError(f"desk {self.name}: {spec.path} does not list oldest update first "
                                             "(set its sort order in search.extra)", desk=self.name,
                                             key="search.extra")
                previous = issue.updated_at
                if issue.updated_at >= floor and issue.project == project:
                    issues.append(issue)
            if len(items) < spec.page_size or len(issues) >= limit:
                return issues
        raise UnavailableError(f"desk {self.name}: the listing of {project} did not end after {MAX_PAGES} pages",
                               desk=self.name)

    def read_attachment(self, key: str, name: str) -> bytes:
        return self._request("GET", self._url(self.spec.download, key=key, name=name)).content

    # ------------------------------------------------------------------ writes

    def _written_id(self, body: Any, path: str, what: str) -> str:
        return _text(self._need(body, path, what))

    def add_note(self, key: str, text: str, marker: str) -> str:
        spec = self.spec.note
        if (done := self._done(key, marker)) is not None:
            return done
        body = self._json(spec.method, self._url(spec.path, key=key),
                          json={spec.text_field: with_marker(text, marker)})
        return self._written_id(body, spec.id, "note.id")

    def attach(self, key: str, name: str, media_type: str, content: bytes, marker: str) -> str:
        spec = self.spec.attach
        if (done := self._done(key, marker)) is not None:
            return done
        body = self._json("POST", self._url(spec.path, key=key), files={spec.file_field: (name, content, media_type)},
                          data={spec.description_field: f"[spbe:{marker}]"})
        return self._written_id(body, spec.id, "attach.id")

    def set_status(self, key: str, status: str, marker: str, note: str = "") -> str:
        spec = self.spec.status
        if (done := self._done(key, marker)) is not None:
            return done
        try:
            body = self._json(spec.method, self._url(spec.path, key=key),
                              json={spec.status_field: status, spec.text_field: with_marker(note, marker)})
        except InvalidInputError as exc:  # the desk has no such status, or its workflow refuses it: the mapping's
            raise ConfigurationError(f"{exc.message} (check the mapping's statuses against the desk)",
                                     **exc.details) from None
        return self._written_id(body, spec.id, "status.id")

    def _done(self, key: str, marker: str) -> str | None:
        """What an earlier attempt already wrote (its answer may have been lost); refuses a bad marker first."""
        with_marker("", marker)
        return self.find_marker(key, marker)

    def find_marker(self, key: str, marker: str) -> str | None:
        """Files first (a desk may also log an upload as a change; the file's id is what `attach` returned),
        then changes."""
        me = self.account()
        shape = self.spec.issue_shape
        for item in self._files(self._raw_issue(key)):
            if split_marker(_text(walk(item, shape.attachment_marker, "")))[1] != marker:
                continue
            if shape.attachment_author is None or _text(walk(item, shape.attachment_author, "")) == me:
                return _text(walk(item, shape.attachment_id, ""))
        for change in self.changes(key):
            if change.marker == marker and change.account == me:
                return change.id
        return None

