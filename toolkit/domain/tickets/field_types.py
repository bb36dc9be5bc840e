"""Validated types for ticket fields, one per catalog `FieldType`.

Ticket text flows into playbooks, device CLIs, Jinja templates, documents and terminals, so each
type is as narrow as its meaning allows. Free text (``text_type``: ticket fields, the title, and
every reason, note and comment, see `toolkit.domain.tickets.requests.check_free_text`) refuses:

- control characters, C0 and C1 (U+009B is a terminal's CSI, as good as ESC ``[``), except a
  newline or tab in multi-line text;
- bidirectional controls (U+202A-U+202E, U+2066-U+2069, and the marks U+200E, U+200F, U+061C): they
  make a line display in a different order than it is stored ("Trojan Source"), so a reviewer
  approves something other than what was written;
- U+2028/U+2029, line breaks to some renderers and none to others;
- unpaired surrogates (how Python carries bytes that were not UTF-8);
- template delimiters: rejecting ``{{``/``{%`` is clearer to an applicant than silently escaping
  it, and it keeps a later template author from ever evaluating applicant text by mistake.

Refusing is deliberate: stripping would change the meaning of what someone signed, and a
character nobody can see is never what a person meant to type. Other format characters (the
zero-width joiner in emoji sequences) stay allowed.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TRUE = {"true", "ya", "yes", "1", "y"}
_FALSE = {"false", "tidak", "no", "0", "n"}
# Explicit embeddings, overrides and isolates by their Unicode bidi class; the three implicit marks
# are format characters with a strong class, named one by one.
_BIDI_CLASSES = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})
_BIDI_MARKS = frozenset({"\u200e", "\u200f", "\u061c"})
MULTILINE_WHITESPACE = "\n\t"

# One e-mail rule for intake and for the notifier: an address accepted on the form can always be sent to
# (the `Recipient` model allows at most 254 characters, the SMTP limit of a path).
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$"
EMAIL_MAX = 254


def is_email(text: str) -> bool:
    return len(text) <= EMAIL_MAX and re.fullmatch(EMAIL_PATTERN, text) is not None


def refused_character(char: str, *, multiline: bool) -> str | None:
    """What kind of character free text may not contain, or None. Shared with the terminal
    rendering (`toolkit.cli.render`), which shows the same characters as escapes when text that
    predates these rules, or comes from a host, reaches the screen."""
    if char.isprintable():  # everything but C*, Z* other than the space: the common case, fast
        return None
    if char in MULTILINE_WHITESPACE:
        return None if multiline else "newlines or tabs"
    category = unicodedata.category(char)
    if category == "Cs":
        return "unpaired surrogates (not valid UTF-8)"
    if category == "Cc":
        return "newlines or control characters" if char in "\r\x85" else "control characters"
    if category in ("Zl", "Zp"):
        return "line or paragraph separators"
    if char in _BIDI_MARKS or unicodedata.bidirectional(char) in _BIDI_CLASSES:
        return "bidirectional control characters"
    return None


def _text_check(single_line: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        for position, char in enumerate(value, start=1):
            what = refused_character(char, multiline=not single_line)
            if what is not None:
                raise ValueError(f"must not contain {what} (U+{ord(char):04X} at character {position})")
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


def text_type(max_length: int | None, single_line: bool, *, min_length: int = 1) -> Any:
    """Free text of at most ``max_length`` characters (the catalog's defaults when None)."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length or (200 if single_line else 4000)),
        AfterValidator(_text_check(single_line)),
    ]


MAX_REASON = 2000
Reason = text_type(MAX_REASON, single_line=False)
"""A written reason, note or comment: multi-line free text."""
OptionalReason = text_type(MAX_REASON, single_line=False, min_length=0)


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
        return Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=EMAIL_MAX)]
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
