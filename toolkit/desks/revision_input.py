"""What a desk's *return* (dikembalikan) lists as missing, read from a desk field or from the note's bullets.

The koordinator returning a request in the desk names what is missing in the desk's own words: the values of
a multi-value list field (Redmine's ``Kekurangan``, whose possible values are the service's requirement names
or labels; Redmine hands them over joined by ``", "``), or bullet lines of the note (``- Surat permohonan``).
Both are matched, never interpreted, against what the service requires: a requirement's name
(``surat_permohonan``, also written ``surat permohonan``), its catalog label, or the desk field the mapping
maps to it (``Nama host``), case and spacing aside. Whatever matches becomes the list of requirement names
`toolkit.commands.revision.return_for_revision` takes (and validates again); the rest of the note becomes the
return note, held to the free-text rules by the command. Text that matches nothing is never run, rendered as a
template or passed on as a name: in a field it refuses the return (naming it), in the note it stays note text.

Pure functions of their input, so the rules are tested without a desk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from toolkit.domain.catalog.models import Service
from toolkit.ports.desk import DeskChange

_BULLET = re.compile(r"^\s*[-*\u2022]\s+(\S.*)$")
_SPACE = re.compile(r"[\s_]+")
MAX_ITEM_CHARS = 200  # longer than any label: a longer item is no requirement, and is not compared
# A desk may hand over a status change and the note written with it as two changes (GLPI: a status set apart
# from its followup, stamped in the same request or the next); a second or two apart at most.
COMPANION_WINDOW = timedelta(seconds=5)


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.strip().rstrip(".:;").strip()).casefold()


def requirement_index(service: Service, desk_fields: Mapping[str, str]) -> dict[str, str]:
    """Normalised spelling -> requirement name: names, names with spaces, labels, and the desk fields the
    mapping maps to a requirement (``desk_fields``: desk field -> catalog field, this service's pairs)."""
    index: dict[str, str] = {}
    for name, label in _named(service):
        for spelling in (name, label):
            if spelling:
                index.setdefault(_norm(spelling), name)
    known = {spec.name for spec in service.requirements.fields}
    for desk_field, name in desk_fields.items():
        if name in known:
            index.setdefault(_norm(desk_field), name)
    return index


def labels(service: Service) -> list[str]:
    """What the service expects, as the refusal note names it: each requirement's label (or name)."""
    return [label or name for name, label in _named(service)]


def _named(service: Service) -> list[tuple[str, str]]:
    requirements = service.requirements
    return ([(f.name, f.label or "") for f in requirements.fields]
            + [(a.name, a.label or "") for a in requirements.attachments])


def _lookup(item: str, index: Mapping[str, str]) -> str | None:
    return index.get(_norm(item)) if len(item) <= MAX_ITEM_CHARS else None


def split_listed(value: str, index: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(requirement names, unknown items) of a multi-value field's text: one item a line, and on a line items
    joined by ``", "``. A label may itself hold ``", "`` ("CIDR, mis. ..."): the longest run of pieces that
    names a requirement is taken first."""
    found: list[str] = []
    unknown: list[str] = []
    for line in value.splitlines():
        pieces = line.split(",")
        start = 0
        while start < len(pieces):
            for end in range(len(pieces), start, -1):
                name = _lookup(",".join(pieces[start:end]), index)
                if name is not None:
                    found.append(name)
                    start = end
                    break
            else:
                if pieces[start].strip():
                    unknown.append(pieces[start].strip())
                start += 1
    return list(dict.fromkeys(found)), unknown


def from_note(note: str, index: Mapping[str, str]) -> tuple[list[str], str]:
    """(requirement names, the note without their lines) of a note whose bullet lines name what is missing.
    A bullet that names nothing known stays in the note, as the koordinator wrote it."""
    found: list[str] = []
    rest: list[str] = []
    for line in note.replace("\r\n", "\n").split("\n"):
        match = _BULLET.match(line)
        name = _lookup(match.group(1), index) if match else None
        if name is None:
            rest.append(line)
        else:
            found.append(name)
    return list(dict.fromkeys(found)), "\n".join(rest).strip()


def companion_note(change: DeskChange, changes: Iterable[DeskChange]) -> str:
    """The note of a status change, or, when it has none, the notes the desk handed over as changes of their own:
    by the same account, with no status change of their own, stamped within `COMPANION_WINDOW` of it."""
    if change.note.strip():
        return change.note
    return "\n".join(c.note for c in changes
                     if c.id != change.id and c.account == change.account and c.status_to is None
                     and c.marker is None and c.note.strip() and abs(c.at - change.at) <= COMPANION_WINDOW)


@dataclass(frozen=True)
class ReturnInput:
    """What a return names: the requirement names (possibly none: refused by the caller) and the note."""

    missing: tuple[str, ...]
    note: str
    unknown: tuple[str, ...] = ()  # field items that name no requirement (refused, naming them)


def read_return(service: Service, desk_fields: Mapping[str, str], field_value: str, note: str) -> ReturnInput:
    """The field's items when it holds any, else the note's bullets; the note without the bullets taken."""
    index = requirement_index(service, desk_fields)
    if field_value.strip():
        found, unknown = split_listed(field_value, index)
        return ReturnInput(missing=tuple(found), note=note.strip(), unknown=tuple(unknown))
    found, rest = from_note(note, index)
    return ReturnInput(missing=tuple(found), note=rest)
