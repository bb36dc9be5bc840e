"""The declarative part of the ``rest`` desk: where a home-grown helpdesk keeps things, as data.

A Diskominfo's own "Aplikasi Helpdesk SPBE" has a REST API that nobody standardised: its paths, its query
parameters, its paging and the names in its JSON are its own. Rather than one client per such application,
`RestEndpoints` describes one: URL templates with ``{key}`` (and ``{name}`` for a file) placeholders, the
query parameters of the "updated since" listing, and simple dotted JSON paths (``data.items``,
``pemohon.login``, ``lampiran.0.nama``) from the desk's answers to `DeskIssue` / `DeskChange` fields.

Why so narrow a path language: a mapping file is configuration, written by an operator and read at start; a
path is matched against one pattern (segments of letters, digits, ``_`` and ``-`` joined by dots) and walked
with dict and list lookups. No expressions, no evaluation, no wildcards: a path either names one value or
is refused when the desk is configured, naming the option.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_SEGMENT = r"[A-Za-z0-9_-]{1,64}"
JSON_PATH = re.compile(rf"^{_SEGMENT}(\.{_SEGMENT}){{0,15}}$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_TEMPLATE = re.compile(r"^/[A-Za-z0-9_./{}~-]*$")
MISSING: Any = object()


def _json_path(value: str) -> str:
    if not JSON_PATH.match(value):
        raise ValueError(f"'{value}' is not a dotted JSON path (segments of letters, digits, '_' or '-' "
                         "joined by '.', e.g. data.items or pemohon.login)")
    return value


JsonPath = Annotated[str, AfterValidator(_json_path)]


def _template(*required: str) -> Any:
    """A validator for a URL path template holding exactly the ``required`` placeholders."""

    def check(value: str) -> str:
        if not _TEMPLATE.match(value):
            raise ValueError(f"'{value}' is not a URL path (it starts with '/', no query string, no spaces)")
        found = _PLACEHOLDER.findall(value)
        unknown = sorted(set(found) - set(required))
        if unknown:
            raise ValueError(f"'{value}': unknown placeholder {{{unknown[0]}}} (allowed: "
                             + (", ".join(f"{{{r}}}" for r in required) or "none") + ")")
        for name in required:
            if found.count(name) != 1:
                raise ValueError(f"'{value}' must hold the placeholder {{{name}}} exactly once")
        if value.count("{") != len(found) or value.count("}") != len(found):
            raise ValueError(f"'{value}' has an unbalanced brace")
        return value

    return AfterValidator(check)


IssuePath = Annotated[str, _template("key")]
FilePath = Annotated[str, _template("key", "name")]
PlainPath = Annotated[str, _template()]


def walk(body: Any, path: str | None, default: Any = MISSING) -> Any:
    """The value at a dotted path; list items by their index (``items.0``). ``default`` when absent."""
    if path is None:
        return default
    node = body
    for segment in path.split("."):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return default
    return node


class IssueShape(BaseModel):
    """Where a `DeskIssue`'s values are in one issue object of the desk's JSON."""

    model_config = _FROZEN
    id: JsonPath = Field(default="id", description="the issue's id, DeskIssue.key")
    project: JsonPath
    tracker: JsonPath | None = None
    subject: JsonPath
    description: JsonPath | None = None
    author: JsonPath
    status: JsonPath
    updated_at: JsonPath
    url: JsonPath | None = None
    fields: JsonPath | None = Field(default=None, description="an object name -> value, or a list of items")
    field_name: JsonPath = Field(default="name", description="in a list of fields: the item's name")
    field_value: JsonPath = Field(default="value", description="in a list of fields: the item's value")
    attachments: JsonPath | None = Field(default=None, description="the list of the issue's files")
    attachment_id: JsonPath = "id"
    attachment_name: JsonPath = "name"
    attachment_marker: JsonPath = Field(
        default="description", description="the file's description/comment, where spbe puts its marker")
    attachment_author: JsonPath | None = Field(
        default=None, description="who uploaded the file; when set, only spbe's own files count for a marker")


class ChangeShape(BaseModel):
    """Where a `DeskChange`'s values are in one change (event, note, status change) of the desk's JSON."""

    model_config = _FROZEN
    id: JsonPath = "id"
    at: JsonPath
    account: JsonPath
    note: JsonPath | None = None
    status_from: JsonPath | None = None
    status_to: JsonPath | None = None
    field_changes: JsonPath | None = Field(default=None, description="a list of {field, old, new} items")
    field_name: JsonPath = "field"
    field_old: JsonPath = "old"
    field_new: JsonPath = "new"
    validation: JsonPath | None = None


class Listing(BaseModel):
    """A list endpoint: its path and where the list is in the answer (``None``: the answer is the list)."""

    model_config = _FROZEN
    path: PlainPath
    items: JsonPath | None = None
    name: JsonPath = Field(default="name", description="the item's name (a status, field or project name)")


class AccountListing(Listing):
    name: JsonPath = "login"
    display_name: JsonPath | None = None
    active: JsonPath | None = None


class Search(BaseModel):
    """The "issues updated since" listing: one project per request, paged, oldest update first."""

    model_config = _FROZEN
    path: PlainPath
    items: JsonPath | None = None
    since_param: str = Field(pattern=r"^[A-Za-z0-9_.\[\]-]{1,64}$")
    since_format: Literal["iso", "epoch"] = "iso"
    since_inclusive: bool = Field(
        default=True, description="the desk answers 'at or after'; if it answers 'after', spbe asks a second "
                                  "earlier, so a record of the poll's own second is never lost")
    project_param: str = Field(pattern=r"^[A-Za-z0-9_.\[\]-]{1,64}$")
    paging: Literal["page", "offset"] = "page"
    page_param: str = Field(default="page", pattern=r"^[A-Za-z0-9_.\[\]-]{1,64}$",
                            description="the page number (paging: page) or the offset (paging: offset)")
    size_param: str = Field(default="per_page", pattern=r"^[A-Za-z0-9_.\[\]-]{1,64}$",
                            description="per_page (paging: page) or limit (paging: offset)")
    first_page: int = Field(default=1, ge=0, le=1)
    page_size: int = Field(default=50, ge=1, le=1000)
    extra: dict[str, str] = Field(default_factory=dict, description="fixed query parameters (a sort order)")


class Write(BaseModel):
    """A POST that writes (a note or a status): JSON body field names, and where the new change's id is."""

    model_config = _FROZEN
    path: IssuePath
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    text_field: str = Field(default="text", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    status_field: str = Field(default="status", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    id: JsonPath = "id"


class Upload(BaseModel):
    """A multipart POST of one file with its description (where spbe puts the marker)."""

    model_config = _FROZEN
    path: IssuePath
    file_field: str = Field(default="file", pattern=r"^[A-Za-z0-9_.\[\]-]{1,64}$")
    description_field: str = Field(default="description", pattern=r"^[A-Za-z0-9_.\[\]-]{1,64}$")
    id: JsonPath = "id"


class AuthHeader(BaseModel):
    """How spbe's token is sent: one header, its value a template around ``{token}`` (never the token itself:
    the token comes from ``settings.secrets`` through ``token_secret``)."""

    model_config = _FROZEN
    header: str = Field(default="Authorization", pattern=r"^[A-Za-z0-9-]{1,64}$")
    value: str = Field(default="Bearer {token}", pattern=r"^[^\r\n{}]*\{token\}[^\r\n{}]*$")


class Rights(BaseModel):
    """Where the desk says what spbe's own account may do, and which of those rights spbe's writes need
    (``spbe desk check`` lists the needed ones the answer lacks). The answer is a list of names at ``items``,
    or a list of objects whose ``name`` is the right's name."""

    model_config = _FROZEN
    path: PlainPath
    items: JsonPath | None = Field(default=None, description="where the list of the account's rights is")
    name: JsonPath | None = Field(default=None, description="in a list of objects: the right's name")
    needed: tuple[str, ...] = Field(min_length=1, description="the desk's names of the rights spbe needs")


class RestEndpoints(BaseModel):
    """The REST shape of one home-grown desk (``options.endpoints`` of a ``rest`` desk mapping)."""

    model_config = _FROZEN
    issue: IssuePath
    issue_body: JsonPath | None = Field(default=None, description="where the issue object is in the answer")
    issue_shape: IssueShape
    changes: IssuePath
    changes_items: JsonPath | None = None
    change_shape: ChangeShape
    search: Search
    download: FilePath
    note: Write
    attach: Upload
    status: Write
    me: PlainPath
    me_login: JsonPath = "login"
    statuses: Listing
    fields: Listing
    projects: Listing
    trackers: Listing | None = None
    accounts: AccountListing
    rights: Rights | None = Field(default=None, description="the account's rights, if the desk says them")
    error_message: JsonPath | None = Field(default=None, description="the human message in an error answer")
