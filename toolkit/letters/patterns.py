"""Document-number patterns (``000.8/BA-INST/{seq}/{tahun}``): parsing, formatting and the collision check.

A pattern is literal text with placeholders: ``{seq}`` (the sequence of the type in the year, from 1,
exactly once), ``{tahun}`` (the four-digit year, exactly once), ``{bulan}`` (the month in Roman numerals,
as Indonesian letter numbers often carry it) and ``{kode}`` (the document type's code, e.g. ``BA-INST``).
Anything else in braces is refused: a typo such as ``{sequ}`` would otherwise print literally on every
document.

**Could collide** means: some number of one type could also be a number of another type. Comparing the
pattern strings is not enough (``A/{seq}/{tahun}`` and ``A/1{seq}/{tahun}`` differ, yet both give
``A/12/2026``), so each pattern is turned into a small automaton over characters (``{seq}`` is
``[1-9][0-9]*``, ``{tahun}`` four digits, ``{bulan}`` one of I..XII) and two patterns collide when the
product of their automata accepts a string. The check is exact for this little language and runs once,
when the settings are loaded (and once for a type that falls back to the default pattern).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
KNOWN = frozenset({"seq", "tahun", "bulan", "kode"})
KODE = re.compile(r"^[A-Z][A-Z0-9-]{0,31}$")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
MAX_PATTERN = 100
_DIGITS = frozenset("0123456789")
_NONZERO = frozenset("123456789")


class PatternError(ValueError):
    """A pattern that is malformed or could give the same number as another one."""


@dataclass(frozen=True)
class Pattern:
    """A checked pattern; `format` gives a number."""

    text: str

    @classmethod
    def parse(cls, text: str, *, needs_kode: bool = False) -> Pattern:
        if not isinstance(text, str) or not text.strip():
            raise PatternError("a number pattern must be non-empty text")
        if len(text) > MAX_PATTERN:
            raise PatternError(f"a number pattern has at most {MAX_PATTERN} characters")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            raise PatternError("a number pattern has no control characters or line breaks")
        names = PLACEHOLDER.findall(text)
        unknown = sorted(set(names) - KNOWN)
        if unknown:
            raise PatternError(f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)} "
                               f"(known: {', '.join('{' + n + '}' for n in sorted(KNOWN))})")
        if "{" in PLACEHOLDER.sub("", text) or "}" in PLACEHOLDER.sub("", text):
            raise PatternError("a brace outside a placeholder")
        for required in ("seq", "tahun"):
            if names.count(required) != 1:
                raise PatternError(f"a number pattern needs {{{required}}} exactly once (the sequence restarts "
                                   "every year, so without both two documents would get the same number)")
        if needs_kode and "kode" not in names:
            raise PatternError("the default pattern needs {kode}: every type without its own pattern uses it")
        return cls(text)

    def for_kode(self, kode: str) -> Pattern:
        """The pattern with ``{kode}`` filled in (what the collision check compares)."""
        return Pattern(self.text.replace("{kode}", kode))

    def format(self, *, seq: int, tahun: int, bulan: int, kode: str) -> str:
        values = {"seq": str(seq), "tahun": f"{tahun:04d}", "bulan": ROMAN[bulan - 1], "kode": kode}
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], self.text)


# --- the automaton -----------------------------------------------------------------------------------
# States are integers; an edge is (set of characters, next state); epsilon edges carry None.
Edge = tuple[frozenset[str] | None, int]


def _automaton(text: str) -> tuple[list[list[Edge]], int]:
    """(edges per state, accepting state) of one pattern; state 0 is the start."""
    edges: list[list[Edge]] = [[]]

    def new() -> int:
        edges.append([])
        return len(edges) - 1

    def chain(start: int, chars: Iterable[frozenset[str]]) -> int:
        state = start
        for charset in chars:
            nxt = new()
            edges[state].append((charset, nxt))
            state = nxt
        return state

    state = 0
    pos = 0
    for match in PLACEHOLDER.finditer(text):
        state = chain(state, (frozenset(ch) for ch in text[pos:match.start()]))
        name = match.group(1)
        if name == "seq":
            state = chain(state, [_NONZERO])
            edges[state].append((_DIGITS, state))
        elif name == "tahun":
            state = chain(state, [_DIGITS] * 4)
        elif name == "bulan":
            end = new()
            for numeral in ROMAN:
                last = chain(state, (frozenset(ch) for ch in numeral))
                edges[last].append((None, end))
            state = end
        else:  # {kode} left in: any code (letters, digits, dashes), so the check stays on the safe side
            state = chain(state, [frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")])
            edges[state].append((frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"), state))
        pos = match.end()
    state = chain(state, (frozenset(ch) for ch in text[pos:]))
    return edges, state


def _closure(edges: list[list[Edge]], states: Iterable[int]) -> frozenset[int]:
    seen = set(states)
    todo = list(seen)
    while todo:
        for charset, nxt in edges[todo.pop()]:
            if charset is None and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


def could_collide(first: Pattern, second: Pattern) -> bool:
    """True when one string is a number of both patterns (the product automaton accepts something)."""
    a, a_end = _automaton(first.text)
    b, b_end = _automaton(second.text)
    start = (0, 0)
    seen = {start}
    todo = [start]
    while todo:
        x, y = todo.pop()
        xs, ys = _closure(a, [x]), _closure(b, [y])
        if a_end in xs and b_end in ys:
            return True
        for sx in xs:
            for cx, nx in a[sx]:
                if cx is None:
                    continue
                for sy in ys:
                    for cy, ny in b[sy]:
                        if cy is not None and cx & cy and (nx, ny) not in seen:
                            seen.add((nx, ny))
                            todo.append((nx, ny))
    return False


def check_distinct(patterns: dict[str, Pattern]) -> None:
    """`PatternError` naming the first two types whose numbers could be the same."""
    items = sorted(patterns.items())
    for i, (kode, pattern) in enumerate(items):
        for other, other_pattern in items[i + 1:]:
            if could_collide(pattern.for_kode(kode), other_pattern.for_kode(other)):
                raise PatternError(f"the number patterns of {kode} ({pattern.text!r}) and {other} "
                                   f"({other_pattern.text!r}) could give the same number")
