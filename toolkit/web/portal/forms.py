"""The request form, generated from the catalog: one input per field, one file input per attachment.

The form only *collects*: every value goes to `desk.open_ticket`, which validates it exactly as for the
CLI (`toolkit.domain.tickets.requests`). Its errors come back as ``(field, problem)`` pairs or, for a
missing requirement, as sentences naming ``field 'x'`` / ``attachment 'y'``; `errors_by_field` puts
each next to its input. Uploads are read through `attachment_files.from_stream`, which bounds the size
and takes the media type from the content, never from the browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile

from toolkit.commands import attachment_files
from toolkit.domain.catalog.models import FieldSpec, FieldType, Service
from toolkit.domain.tickets.models import MAX_ATTACHMENT_BYTES, AttachmentUpload
from toolkit.errors import IncompleteRequestError, InvalidInputError

TITLE = "judul"
_NAMED = re.compile(r"^(field|attachment) '([a-z][a-z0-9_]*)'")
_INPUT_TYPE = {FieldType.EMAIL: "email", FieldType.DATE: "date", FieldType.URL: "url", FieldType.INT: "number",
               FieldType.PHONE: "tel"}
MISSING = "Wajib diisi."
MISSING_FILE = "Wajib dilampirkan."


@dataclass(frozen=True)
class Input:
    """One input of the form, as the template draws it."""

    name: str
    label: str
    widget: str  # input | textarea | select
    input_type: str
    required: bool
    choices: tuple[tuple[str, str], ...]
    min: int | None
    max: int | None
    max_length: int | None
    help: str | None
    value: str


def _choices(spec: FieldSpec) -> tuple[tuple[str, str], ...]:
    if spec.type is FieldType.BOOL:
        return (("ya", "Ya"), ("tidak", "Tidak"))
    return tuple((c, c) for c in spec.choices or ())


def _value(spec: FieldSpec, raw: Mapping[str, str]) -> str:
    if spec.name in raw:
        return raw[spec.name]
    if spec.default is None:
        return ""
    if isinstance(spec.default, bool):
        return "ya" if spec.default else "tidak"
    return str(spec.default)


def inputs(service: Service, raw: Mapping[str, str]) -> list[Input]:
    return inputs_for(service.requirements.fields, raw)


def inputs_for(specs: Iterable[FieldSpec], raw: Mapping[str, str]) -> list[Input]:
    """One input per catalog field (the request form's, or a branch decision's fields)."""
    out = []
    for spec in specs:
        widget = ("select" if spec.type in (FieldType.ENUM, FieldType.BOOL)
                  else "textarea" if spec.type is FieldType.LONGTEXT else "input")
        out.append(Input(name=spec.name, label=spec.label, widget=widget, input_type=_INPUT_TYPE.get(spec.type, "text"),
                         required=spec.required and spec.default is None, choices=_choices(spec), min=spec.min,
                         max=spec.max, max_length=spec.effective_max_length, help=spec.help, value=_value(spec, raw)))
    return out


def submitted_fields(service: Service, form: FormData) -> dict[str, str]:
    """The catalog's fields as typed (strings); anything else the form carries is ignored, never stored."""
    out = {}
    for spec in service.requirements.fields:
        value = form.get(spec.name)
        if isinstance(value, str):
            out[spec.name] = value
    return out


def uploads(service: Service, form: FormData) -> list[AttachmentUpload]:
    """Each attachment requirement's file, read bounded; an `InvalidInputError` names the requirement."""
    out = []
    for spec in service.requirements.attachments:
        item = form.get(spec.name)
        if not isinstance(item, UploadFile) or not item.filename:
            continue
        name = item.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        out.append(attachment_files.from_stream(spec.name, name, item.file, limit=MAX_ATTACHMENT_BYTES))
    return out


def errors_by_field(exc: InvalidInputError) -> tuple[dict[str, str], list[str]]:
    """(problem per field or attachment name, problems that belong to no input)."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    if isinstance(exc, IncompleteRequestError):
        for item in exc.details.get("missing", []):
            match = _NAMED.match(str(item))
            if match:
                kind, name = match.groups()
                extra = str(item)[match.end():].strip()
                rule = extra.split("wajib bila", 1)[1].split("/")[0].strip() if "wajib bila" in extra else ""
                text = MISSING_FILE if kind == "attachment" else MISSING
                by_field.setdefault(name, f"{text} (wajib bila {rule})" if rule else text)
            else:
                general.append(str(item))
        return by_field, general
    for field, problem in exc.details.get("errors", []) or []:
        name = str(field).split(".")[0]
        if name == "title":
            name = TITLE
        by_field.setdefault(name, str(problem))
    if not by_field:
        general.append(exc.message)
    return by_field, general


def attachment_rules(service: Service) -> list[dict[str, Any]]:
    return [{"name": a.name, "label": a.label, "required": a.required,
             "accept": ",".join(a.media_types), "types": ", ".join(a.media_types) or "apa saja"}
            for a in service.requirements.attachments]
