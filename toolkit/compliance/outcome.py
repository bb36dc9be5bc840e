"""What judging one rule on one target gives: pass, fail or error, with the evidence that decided it.

``error`` means the check could not finish (facts missing, unreadable or unparsable): it is never a pass,
so a host whose facts were not gathered cannot look compliant. Evidence is plain data: it may quote what
the target said (an sshd value, a path, a certificate date) verbatim, including newlines, Markdown or
Jinja; escaping belongs to whoever renders it (the ticket comment templates), never to the evaluator.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    FAIL = "fail"
    ERROR = "error"


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)
    verdict: Verdict
    evidence: str


class Unparsable(Exception):
    """A fact is present but not in the shape the check reads; the check's base turns it into ``error``."""


def passed(evidence: str) -> Outcome:
    return Outcome(verdict=Verdict.PASS, evidence=evidence)


def failed(evidence: str) -> Outcome:
    return Outcome(verdict=Verdict.FAIL, evidence=evidence)


def errored(evidence: str) -> Outcome:
    return Outcome(verdict=Verdict.ERROR, evidence=evidence)


def guarded(facts: BaseModel, needed: tuple[str, ...], judge: Callable[[], Outcome]) -> Outcome:
    """Error when a needed fact was not gathered (``None``) or cannot be parsed; otherwise ``judge()``.

    Every check type of every target kind goes through here, so none can pass what it could not read.
    """
    missing = [name for name in needed if getattr(facts, name) is None]
    if missing:
        return errored(f"fakta tidak tersedia: {', '.join(missing)}")
    try:
        return judge()
    except Unparsable as exc:
        return errored(f"fakta tidak dapat dibaca: {exc}")
