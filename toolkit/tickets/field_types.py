"""Validated types for ticket fields, one per catalog `FieldType`.

Ticket text flows into playbooks, device CLIs, Jinja templates and documents, so each type is as
narrow as its meaning allows. Free text refuses control characters and template delimiters
outright: rejecting ``{{``/``{%`` is clearer to an applicant than silently escaping it, and it
keeps a later template author from ever evaluating applicant text by mistake.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f]")
_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TRUE = {"true", "ya", "yes", "1", "y"}
_FALSE = {"false", "tidak", "no", "0", "n"}


def _text_check(single_line: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        if _SURROGATES.search(value):
            raise ValueError("is not valid UTF-8")
        pattern = _CONTROL_SINGLE_LINE if single_line else _CONTROL
        if pattern.search(value):
            raise ValueError("must not contain newlines or control characters" if single_line
                             else "must not contain control characters")
        if _TEMPLATE.search(value):
            raise ValueError("must not contain template syntax ({{ }}, {% %}, {# #})")
        return value.strip()

    return check


def _hostname(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if not value or len(value) > 253:
        raise ValueError("must be 1-253 characters")
    if not all(_HOST_LABEL.fullmatch(label) for label in value.split(".")):
        raise ValueError(
            "must be a hostname: labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'"
        )
    return value


def _bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("must be one of: ya/tidak, true/false, yes/no, 1/0")
    return value


def _ipv4(value: str) -> str:
    return str(ipaddress.IPv4Address(value.strip()))


def _cidr(value: str) -> str:
    return str(ipaddress.IPv4Network(value.strip(), strict=True))


def text_type(max_length: int | None, single_line: bool) -> Any:
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=max_length or (200 if single_line else 4000)),
        AfterValidator(_text_check(single_line)),
    ]


def python_type(spec: Any) -> Any:
    """The annotated type for a catalog `FieldSpec` (typed loosely to keep this module free of the
    catalog import; the caller passes a `FieldSpec`)."""
    kind = str(spec.type)
    if kind == "text":
        return text_type(spec.max_length, single_line=True)
    if kind == "longtext":
        return text_type(spec.max_length, single_line=False)
    if kind == "hostname":
        return Annotated[str, StringConstraints(max_length=253), AfterValidator(_hostname)]
    if kind == "slug":
        return Annotated[
            str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", min_length=1, max_length=spec.max_length or 63)
        ]
    if kind == "int":
        return Annotated[int, Field(strict=False, ge=spec.min, le=spec.max)]
    if kind == "bool":
        return Annotated[bool, BeforeValidator(_bool)]
    if kind == "enum":
        return Literal[tuple(spec.choices)]
    if kind == "email":
        return Annotated[
            str, StringConstraints(pattern=r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
        ]
    if kind == "phone":
        return Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{5,19}$")]
    if kind == "ipv4":
        return Annotated[str, StringConstraints(max_length=15), AfterValidator(_ipv4)]
    if kind == "cidr":
        return Annotated[str, StringConstraints(max_length=18), AfterValidator(_cidr)]
    if kind == "date":
        return date
    if kind == "url":
        return Annotated[str, StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s{}<>]*)?$",
                                                max_length=500)]
    raise ValueError(f"unknown field type {kind}")
