"""Logging for the `spbe` process: human lines by default, JSON lines on request, masked always.

Configured once the CLI knows the options and again once the settings are loaded (the settings may
ask for JSON, and only then is the app's masker, which learns secrets as actions resolve them,
available). Only our own handler is ever replaced: when something else configured the root logger
first (pytest, a program embedding spbe), that configuration is left alone, as `logging.basicConfig`
would.

Every record passes the masker on its way out, message, exception text and string extras alike, so
a secret that reaches a log call by mistake (an action's output, a library's error) is never written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO

from toolkit.domain.tickets.field_types import refused_character
from toolkit.masking import Masker
from toolkit.observability.context import JobContextFilter

HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = ("levelname", "name", "threadName", "process", "message")
JSON_RENAMES = {"levelname": "level", "name": "logger", "threadName": "thread", "process": "pid"}
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class MaskingFilter(logging.Filter):
    """Masks the formatted message, the exception text and every string extra of a record. The
    record is rewritten in place (message formatted, ``args`` emptied) so no later formatter can
    bring the unmasked arguments back."""

    def __init__(self, masker: Callable[[str], str]) -> None:
        super().__init__()
        self._mask = masker

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not leak its arguments either
            message = f"{record.msg} (log arguments did not format)"
        record.msg, record.args = self._mask(message), ()
        if record.exc_info:
            record.exc_text = self._mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self._mask(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self._mask(value))
        return True


class SpbeHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record (click's test runner swaps it
    per invocation; a handler holding the old stream would write to a closed one)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """The base class assigns the stream in its constructor; the property ignores it."""


class HumanFormatter(logging.Formatter):
    """The readable format, one record per line: a message's control characters (a host's output
    carries terminal escapes; a newline could forge a second record) are written as ``\\uXXXX``.
    JSON needs no such care: its encoder escapes them."""

    def __init__(self) -> None:
        super().__init__(HUMAN_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = record.message
        if not (text.isascii() and text.isprintable()):
            record.message = "".join(f"\\u{ord(c):04x}" if refused_character(c, multiline=False) else c for c in text)
        return super().formatMessage(record)


def json_formatter() -> logging.Formatter:
    """python-json-logger: the message and the record's extras (``extra=``, the job context) as one
    JSON object per line, the time as an ISO 8601 UTC ``timestamp``."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(list(JSON_FIELDS), rename_fields=JSON_RENAMES, timestamp=True)


def effective_level(configured: str | None, verbose: int, default: int = logging.WARNING) -> int:
    """The configured level, or the command's default; each ``-v`` lowers it one step."""
    base = logging.getLevelName(configured) if configured else default
    return max(logging.DEBUG, int(base) - 10 * min(verbose, 2))


def configure_logging(log_format: str = "human", level: int = logging.WARNING,
                      masker: Callable[[str], str] | None = None) -> bool:
    """Install (or replace) spbe's handler on the root logger. Returns False, changing nothing,
    when another handler is already there."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, SpbeHandler)]
    if len(root.handlers) > len(ours):
        return False
    handler = SpbeHandler()
    handler.setFormatter(json_formatter() if log_format == "json" else HumanFormatter())
    handler.addFilter(JobContextFilter())
    handler.addFilter(MaskingFilter(masker or Masker()))
    for old in ours:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # In JSON mode stderr must hold nothing but JSON lines: Python's warnings become records too.
    logging.captureWarnings(log_format == "json")
    return True
