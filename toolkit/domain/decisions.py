"""Decisions taken during a procedure: the SOP's branch points, recorded on the ticket's timeline.

A ticket's fields are fixed when it is opened, but some SOP branches are decided later by the
people working the case: Surakarta's row 4 ("insiden security atau insiden umum"), row 8 ("memerlukan
bantuan dari pihak eksternal"), Gorontalo's backup / no-backup path once CSIRT has inspected the
system. A catalog step lists the fields its actor decides (``decides``); the decision is a timeline
event carrying ``data["decisions"]`` and the workflow reads the *effective* fields: the opening
values overlaid with the decisions in timeline order. Nothing is overwritten, so the history shows
what the reporter said and what was decided, by whom, when and why.

Pure functions only: the operation that records a decision is `toolkit.commands.incident.decide`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from toolkit.domain.tickets.field_types import python_type
from toolkit.errors import InvalidInputError

DECISIONS = "decisions"


def effective_fields(fields: Mapping[str, Any], timeline: Iterable[Any]) -> dict[str, Any]:
    """``fields`` with every recorded decision applied, oldest first (a later decision wins)."""
    values = dict(fields)
    for event in sorted(timeline, key=lambda e: e.seq):
        decided = event.data.get(DECISIONS) if isinstance(event.data, Mapping) else None
        if isinstance(decided, Mapping):
            values.update(decided)
    return values


def effective_sla_variant(recorded: str, timeline: Iterable[Any]) -> str:
    """The SLA variant the latest decision recorded (``data["sla_variant"]``), else the one from opening."""
    variant = recorded
    for event in sorted(timeline, key=lambda e: e.seq):
        data = event.data if isinstance(event.data, Mapping) else {}
        if data.get(DECISIONS) and isinstance(data.get("sla_variant"), str):
            variant = data["sla_variant"]
    return variant


def deciding_step(service: Any, field: str) -> Any:
    """The step whose actor decides ``field`` (the first, if several list it)."""
    for step in service.steps:
        if field in step.decides:
            return step
    raise InvalidInputError(f"no step of {service.id} decides '{field}'", errors=[(field, "not decidable")])


def validate(service: Any, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Each value checked with its field's catalog type (``ya``/``tidak`` for booleans, choices for enums)."""
    if not raw:
        raise InvalidInputError("no decision given", errors=[("decisions", "empty")])
    clean: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for name, value in raw.items():
        try:
            spec = service.requirements.field(name)
        except Exception:  # noqa: BLE001 - NotFoundError; reported as invalid input
            errors.append((name, "unknown field"))
            continue
        try:
            clean[name] = TypeAdapter(python_type(spec)).validate_python(value)
        except ValidationError as exc:
            errors.append((name, exc.errors(include_url=False)[0]["msg"]))
    if errors:
        listing = "; ".join(f"{n}: {m}" for n, m in errors)
        raise InvalidInputError(f"invalid decision: {listing}", errors=errors)
    return clean
