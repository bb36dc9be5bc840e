"""What one record becomes on its way out: masked, with the job's identity, one line.

The handler is spbe's own, writing to a string buffer standing in for stderr; the serve test shows
the same through a real process.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading

import pytest

from toolkit.masking import MASK, Masker
from toolkit.observability.config import parse_address
from toolkit.observability.context import JobContextFilter, job_context
from toolkit.observability.logs import HumanFormatter, MaskingFilter, SpbeHandler, effective_level, json_formatter

SECRET = "CANARY-rec-83c1f0aa27"  # noqa: S105 - searched for in every output


@pytest.fixture
def emit(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Log through spbe's handler (JSON unless told otherwise) into a buffer; returns the lines."""
    buffer = io.StringIO()
    # A logger outside the logging tree: pytest's capture handlers are never attached to it.
    logger = logging.Logger("tests.observability.records", logging.DEBUG)

    def emit_(call, formatter: logging.Formatter | None = None) -> list[str]:  # type: ignore[no-untyped-def]
        monkeypatch.setattr(sys, "stderr", buffer)  # the handler writes to whatever stderr is at the time
        handler = SpbeHandler()
        handler.setFormatter(formatter or json_formatter())
        handler.addFilter(JobContextFilter())
        handler.addFilter(MaskingFilter(Masker([SECRET])))
        logger.addHandler(handler)
        try:
            call(logger)
        finally:
            logger.removeHandler(handler)
            monkeypatch.undo()
        return buffer.getvalue().splitlines()

    return emit_


def test_message_arguments_extras_and_tracebacks_are_masked(emit):  # type: ignore[no-untyped-def]
    def log(logger: logging.Logger) -> None:
        logger.warning("login with %s failed", SECRET, extra={"target": f"backup {SECRET}"})
        try:
            raise RuntimeError(f"auth error: {SECRET}")
        except RuntimeError:
            logger.exception("action crashed; token: abc123")
        logger.error("bad format %s %s", SECRET)  # a bug in a log call must not leak its argument either

    lines = emit(log)
    assert SECRET not in "\n".join(lines)
    first, crash, broken = (json.loads(line) for line in lines)
    assert (first["message"], first["target"]) == (f"login with {MASK} failed", f"backup {MASK}")
    assert crash["message"] == f"action crashed; token: {MASK}"
    assert f"RuntimeError: auth error: {MASK}" in crash["exc_info"]
    assert broken["message"] == "bad format %s %s (log arguments did not format)"


def test_records_carry_the_job_only_while_it_runs_and_only_in_its_thread(emit):  # type: ignore[no-untyped-def]
    def log(logger: logging.Logger) -> None:
        logger.info("before")
        with job_context("SPBE-2026-00007", 42, "instalasi"):
            logger.info("during")
            other = threading.Thread(target=logger.info, args=("another thread",))
            other.start()
            other.join()
            logger.info("explicit", extra={"ticket_id": "SPBE-2026-00001"})
        logger.info("after")

    records = {r["message"]: r for r in map(json.loads, emit(log))}
    identity = {"ticket_id": "SPBE-2026-00007", "job_id": 42, "step_id": "instalasi"}
    assert records["during"] | identity == records["during"]
    assert records["explicit"]["ticket_id"] == "SPBE-2026-00001"  # what the caller said wins
    for outside in ("before", "after", "another thread"):
        assert not set(identity) & set(records[outside]), outside


def test_human_lines_stay_one_line_and_inert(emit):  # type: ignore[no-untyped-def]
    lines = emit(lambda logger: logger.warning("host said: \x1b[2Jcleared\nINFO forged record"),
                 formatter=HumanFormatter())
    assert len(lines) == 1
    assert lines[0].endswith("WARNING tests.observability.records: host said: \\u001b[2Jcleared\\u000aINFO forged "
                             "record")


def test_levels_and_addresses():
    assert effective_level(None, 0) == logging.WARNING
    assert effective_level(None, 0, logging.INFO) == logging.INFO  # spbe serve's default
    assert effective_level("ERROR", 1) == logging.WARNING
    assert effective_level(None, 5) == logging.DEBUG
    assert parse_address("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_address("[::1]:9464") == ("::1", 9464)
    for bad in ("127.0.0.1", ":9464", "localhost:http", "127.0.0.1:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_address(bad)
