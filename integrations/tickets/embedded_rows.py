"""Rows of the embedded ticket store turned into models, each exact row parsed once per process.

A busy engine reads the same ticket and the same events several times per job (the worker's context, the
advance after it, the trigger); decoding their JSON and validating them was most of a read's cost. The
models are memoised by the *whole row* they came from (every column, as stored), not by id: a row changed
by anyone, through this store or behind its back, is a different key and is parsed and validated again, so
what a read returns is always exactly what the file holds. The models are frozen; callers treat their
dicts as read-only (nothing in the toolkit writes into a ticket's ``fields`` or an event's ``data``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Hashable, Sequence
from typing import Any

from pydantic_core import to_jsonable_python

from toolkit.domain.tickets.models import AttachmentRef, Ticket, TimelineEvent
from toolkit.errors import InvalidInputError

_LIMIT = 20_000  # models kept per kind; past it the memo starts again (a few MB at most)


def to_json(value: Any) -> str:
    try:
        return json.dumps(to_jsonable_python(value), ensure_ascii=False, sort_keys=True, allow_nan=False)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"value cannot be stored as JSON: {exc}") from None


def ref(row: sqlite3.Row) -> AttachmentRef:
    return AttachmentRef.model_validate({k: row[k] for k in row.keys() if k != "ticket_id"})


class RowModels:
    """Memo of row -> model. Reads and writes of a dict are atomic under the GIL, so threads share it
    without a lock; two threads parsing the same new row at once both get an equal model."""

    def __init__(self, limit: int = _LIMIT) -> None:
        self._limit = limit
        self._events: dict[Hashable, TimelineEvent] = {}
        self._tickets: dict[Hashable, Ticket] = {}

    def event(self, row: sqlite3.Row) -> TimelineEvent:
        key = tuple(row)
        found = self._events.get(key)
        if found is None:
            found = TimelineEvent.model_validate({**dict(row), "data": json.loads(row["data"])})
            self._keep(self._events, key, found)
        return found

    def ticket(self, row: sqlite3.Row, refs: Sequence[sqlite3.Row]) -> Ticket:
        key = (tuple(row), tuple(tuple(r) for r in refs))
        found = self._tickets.get(key)
        if found is None:
            found = Ticket.model_validate({**dict(row), "fields": json.loads(row["fields"]),
                                           "attachments": tuple(ref(r) for r in refs)})
            self._keep(self._tickets, key, found)
        return found

    def _keep(self, memo: dict[Hashable, Any], key: Hashable, model: Any) -> None:
        if len(memo) >= self._limit:
            memo.clear()
        memo[key] = model
