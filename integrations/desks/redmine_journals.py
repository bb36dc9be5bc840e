"""Redmine journals as `DeskChange`s, and the idempotency marker spbe leaves in what it writes.

The marker (an outbox item's key) is the note's last line, written as a CommonMark *link reference
definition*: ``[spbe:<marker>]: #``. CommonMark renders a reference definition as nothing, so in a desk set to
Markdown/CommonMark (as the test desk is) people never see it; in Redmine's Textile formatting it shows as one
short bracketed line at the end of the note, which reads as a reference and disturbs nothing. A file's marker
is its attachment description, ``spbe:<marker>`` (shown in small print beside the file name).

A marker only counts when the journal or attachment was written by the client's own account: anybody can type
that line into a note, and a forged marker must not make the outbox believe spbe already posted something.

Journal details (Redmine's ``include=journals``): ``{"property": "attr", "name": "status_id", "old_value": "1",
"new_value": "2"}`` for a status change (ids as strings, mapped to names with ``/issue_statuses.json``),
``{"property": "cf", "name": "<custom field id>", ...}`` for a custom field (mapped to the field's name),
``{"property": "attachment", "name": "<attachment id>", "new_value": "<file name>"}`` for a file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from toolkit.errors import InvalidInputError
from toolkit.ports.desk import DeskChange

MARKER_PATTERN = re.compile(r"^[A-Za-z0-9:._-]{1,128}$")
_MARKER_LINE = re.compile(r"^\[spbe:([A-Za-z0-9:._-]{1,128})\]: #$")
ATTACHMENT_PREFIX = "spbe:"


def require_marker(marker: str) -> str:
    if not isinstance(marker, str) or not MARKER_PATTERN.match(marker):
        raise InvalidInputError("a desk marker is 1-128 characters of letters, digits and ':._-'",
                                errors=[("marker", "invalid")])
    return marker


def marker_line(marker: str) -> str:
    return f"[spbe:{require_marker(marker)}]: #"


def with_marker(text: str, marker: str) -> str:
    """The note as posted: the text, a blank line (so CommonMark sees a definition, not a paragraph's last
    line), the marker line."""
    text = text.rstrip()
    return f"{text}\n\n{marker_line(marker)}" if text else marker_line(marker)


def split_marker(notes: str | None) -> tuple[str, str | None]:
    """(note without the marker line, marker) of a journal's notes; Redmine may hand back CRLF line ends."""
    lines = (notes or "").replace("\r\n", "\n").rstrip().split("\n")
    match = _MARKER_LINE.match(lines[-1].strip()) if lines else None
    if not match:
        return (notes or "").replace("\r\n", "\n").rstrip(), None
    return "\n".join(lines[:-1]).rstrip(), match.group(1)


def attachment_description(marker: str) -> str:
    return ATTACHMENT_PREFIX + require_marker(marker)


def attachment_marker(attachment: Mapping[str, Any]) -> str | None:
    description = str(attachment.get("description") or "")
    if description.startswith(ATTACHMENT_PREFIX) and MARKER_PATTERN.match(description[len(ATTACHMENT_PREFIX):]):
        return description[len(ATTACHMENT_PREFIX):]
    return None


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def journal_change(issue_key: str, journal: Mapping[str, Any], *, own_user_id: int,
                   account: Callable[[int | None], str], statuses: Mapping[str, str],
                   fields: Mapping[str, str], attachments: Mapping[str, Mapping[str, Any]]) -> DeskChange:
    """One journal as a change. ``statuses`` and ``fields`` map Redmine ids (as strings) to names; an id no
    longer known (a deleted status or field) is kept as ``#<id>`` rather than dropped."""
    user = journal.get("user") or {}
    user_id = int(user["id"]) if user.get("id") is not None else None
    note, marker = split_marker(journal.get("notes"))
    status_from = status_to = None
    field_changes: dict[str, tuple[str | None, str | None]] = {}
    for detail in journal.get("details") or []:
        prop, name = detail.get("property"), str(detail.get("name"))
        old, new = detail.get("old_value"), detail.get("new_value")
        if prop == "attr" and name == "status_id":
            status_from = statuses.get(str(old), f"#{old}") if old is not None else None
            status_to = statuses.get(str(new), f"#{new}") if new is not None else None
        elif prop == "cf":
            field_changes[fields.get(name, f"#{name}")] = (_text(old), _text(new))
        elif prop == "attachment" and marker is None and new is not None:
            marker = attachment_marker(attachments.get(name) or {})
    mine = user_id is not None and user_id == own_user_id
    return DeskChange(id=f"j{journal['id']}", issue_key=issue_key, at=parse_time(str(journal["created_on"])),
                      account=account(user_id), note=note if mine else (journal.get("notes") or ""),
                      status_from=status_from, status_to=status_to, field_changes=field_changes,
                      marker=marker if mine else None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def custom_value(value: Any) -> str:
    """A custom field's value as one string: a multiple-value field's values joined by ``, ``."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def find_own_marker(issue: Mapping[str, Any], marker: str, own_user_id: int) -> str | None:
    """``j<journal id>`` or ``a<attachment id>`` of what the own account wrote with ``marker``, newest first."""
    require_marker(marker)
    for journal in reversed(issue.get("journals") or []):
        if (journal.get("user") or {}).get("id") == own_user_id and split_marker(journal.get("notes"))[1] == marker:
            return f"j{journal['id']}"
    for attachment in reversed(issue.get("attachments") or []):
        if (attachment.get("author") or {}).get("id") == own_user_id and attachment_marker(attachment) == marker:
            return f"a{attachment['id']}"
    return None
