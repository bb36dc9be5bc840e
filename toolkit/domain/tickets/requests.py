"""Turn what an applicant typed into a validated request, or say exactly what is wrong.

A pydantic model is built per service from its catalog requirements, so every ticket field is
checked before it can reach a playbook, a template or a device CLI. The completeness check of the
*koordinator layanan* is the same code: a missing field or attachment is named, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic_core import PydanticCustomError

from toolkit.domain.catalog.formats import FORMATS
from toolkit.domain.tickets.field_types import MAX_REASON, python_type, text_type
from toolkit.errors import IncompleteRequestError, InvalidInputError

MAX_RAW_FIELD_CHARS = 10_000
_MAX_FORMATTED_CHARS = 253  # what a host name may be; the format's own pattern is usually much shorter


def _format_check(name: str) -> Callable[[str], str]:
    fmt = FORMATS[name]

    def check(value: str) -> str:
        try:
            return fmt.check(value)
        except ValueError as exc:  # the format's own bilingual rule, without pydantic's "Value error, "
            raise PydanticCustomError("field_format", str(exc).replace("{", "(").replace("}", ")")) from None

    return check


def field_annotation(spec: Any) -> Any:
    """The intake type of a catalog field. A field with a ``format`` is held to that format's rule,
    the one its playbook, template or gateway applies, instead of its type's looser generic check."""
    if spec.format is None:
        return python_type(spec)
    fmt = FORMATS[spec.format]
    if fmt.pattern is None:  # a rule on top of the type's own parsing (a CIDR that must be a private LAN)
        return Annotated[python_type(spec), AfterValidator(_format_check(spec.format))]
    limit = spec.effective_max_length or _MAX_FORMATTED_CHARS
    return Annotated[str, StringConstraints(max_length=limit), AfterValidator(_format_check(spec.format))]


_MODELS: dict[int, tuple[Any, type[BaseModel]]] = {}


def request_model(service: Any) -> type[BaseModel]:
    """One model per service object, built once (the catalog lives as long as the process)."""
    cached = _MODELS.get(id(service))
    if cached is not None and cached[0] is service:
        return cached[1]
    definitions: dict[str, Any] = {}
    for spec in service.requirements.fields:
        annotation = field_annotation(spec)
        if spec.required:
            definitions[spec.name] = (annotation, ...)
        else:
            definitions[spec.name] = (annotation | None, spec.default)
    model_name = "Request_" + service.id.replace("-", "_")
    model = create_model(
        model_name, __config__=ConfigDict(extra="forbid", frozen=True), **definitions
    )
    _MODELS[id(service)] = (service, model)
    return model  # type: ignore[no-any-return]


def _missing_required(service: Any, raw: Mapping[str, Any], attachment_names: Iterable[str]) -> list[str]:
    missing = []
    for spec in service.requirements.fields:
        value = raw.get(spec.name)
        if spec.required and spec.default is None and (value is None or str(value).strip() == ""):
            missing.append(f"field '{spec.name}' ({spec.label})")
    have = set(attachment_names)
    for att in service.requirements.attachments:
        if att.required and att.name not in have:
            missing.append(f"attachment '{att.name}' ({att.label})")
    return missing


def _missing_conditional(service: Any, cleaned: Mapping[str, Any], attachment_names: Iterable[str]) -> list[str]:
    have = set(attachment_names)
    return [f"field '{spec.name}' ({spec.label}), wajib bila / required when {spec.required_when.describe()}"
            for spec in service.requirements.fields
            if spec.required_when is not None and spec.required_when.matches(cleaned)
            and cleaned.get(spec.name) is None] + [
        f"attachment '{att.name}' ({att.label}), wajib bila / required when {att.required_when.describe()}"
        for att in service.requirements.attachments
        if att.required_when is not None and att.required_when.matches(cleaned) and att.name not in have]


def validate_request(
    service: Any, raw: Mapping[str, Any], attachment_kinds: Iterable[str] = ()
) -> dict[str, Any]:
    """Validate raw fields (strings from the CLI or a web form) against the service.

    ``attachment_kinds`` are the requirement names the uploaded attachments satisfy. Raises
    `IncompleteRequestError` listing every missing requirement, or `InvalidInputError` listing
    every malformed field; returns the cleaned values (defaults filled in) otherwise.
    """
    attachment_kinds = tuple(attachment_kinds)  # read twice: the plain and the conditional requirements
    known = {spec.name for spec in service.requirements.fields}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidInputError(
            f"unknown field(s) for {service.id}: {', '.join(unknown)}; expected: {', '.join(sorted(known))}",
            errors=[(name, "unknown field") for name in unknown],
        )
    oversized = [name for name, value in raw.items() if len(str(value)) > MAX_RAW_FIELD_CHARS]
    if oversized:
        raise InvalidInputError(
            f"field(s) too large: {', '.join(oversized)} (limit {MAX_RAW_FIELD_CHARS} characters)",
            errors=[(name, "too large") for name in oversized],
        )
    missing = _missing_required(service, raw, attachment_kinds)
    if missing:
        raise IncompleteRequestError(
            "permohonan belum lengkap / request incomplete; missing: " + "; ".join(missing), missing=missing
        )
    cleaned = {k: v for k, v in raw.items() if not (isinstance(v, str) and v.strip() == "")}
    try:
        model = request_model(service).model_validate(cleaned)
    except ValidationError as exc:
        errors = [
            (".".join(str(p) for p in err["loc"]) or "request", err["msg"].removeprefix("Value error, "))
            for err in exc.errors(include_url=False)
        ]
        raise InvalidInputError(
            "isian tidak valid / invalid field(s): " + "; ".join(f"{field}: {msg}" for field, msg in errors),
            errors=errors,
        ) from None
    values = model.model_dump(mode="json")
    missing = _missing_conditional(service, values, attachment_kinds)
    if missing:
        raise IncompleteRequestError(
            "permohonan belum lengkap / request incomplete; missing: " + "; ".join(missing), missing=missing
        )
    return values


def validate_attachments(service: Any, uploads: Iterable[Any]) -> None:
    """Each upload must answer a requirement of the service, in a media type it accepts. The type
    is what `toolkit.commands.attachment_files` read from the content for anything from outside."""
    specs = {spec.name: spec for spec in service.requirements.attachments}
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()
    for upload in uploads:
        if upload.name in seen:
            errors.append((upload.name, "two attachments share this name"))
        seen.add(upload.name)
        if upload.kind is None:
            continue
        spec = specs.get(upload.kind)
        if spec is None:
            errors.append((upload.kind, f"not a requirement of {service.id}; expected one of: "
                                        f"{', '.join(sorted(specs)) or 'none'}"))
        elif spec.media_types and upload.media_type not in spec.media_types:
            errors.append((upload.kind, f"{upload.name!r} must be {' or '.join(spec.media_types)}, "
                                        f"got {upload.media_type}"))
    if errors:
        raise InvalidInputError("invalid attachment(s): " + "; ".join(f"{k}: {m}" for k, m in errors), errors=errors)


_FREE_TEXT: dict[tuple[int, bool], TypeAdapter[str]] = {}


def check_free_text(value: str, field: str, *, max_length: int = MAX_REASON, multiline: bool = True) -> str:
    """Text a person types outside the request form (the title, a reason, a note, a comment) held
    to the same rules as a free-text field, and refused under its own name: the error has to tell
    the person which of the things they typed is wrong."""
    adapter = _FREE_TEXT.get((max_length, multiline))
    if adapter is None:
        adapter = _FREE_TEXT[(max_length, multiline)] = TypeAdapter(text_type(max_length, single_line=not multiline))
    try:
        return str(adapter.validate_python(value))
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]["msg"]
        raise InvalidInputError(f"invalid {field}: {problem}", errors=[(field, problem)]) from None


def validate_title(title: str) -> str:
    """The title is shown on every list and document: the same rules as single-line free text."""
    return check_free_text(title, "title", max_length=200, multiline=False)
