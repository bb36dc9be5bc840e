"""The poll half of desk intake: every issue updated since the cursor goes through the intake.

The cursor is the newest ``updated_at`` a poll actually saw, never the poll's own clock, and each poll looks
``poll_overlap_s`` further back than the cursor. So a record written in the same second as the last poll, or
stamped by a desk whose clock runs behind spbe's, is read again by the next poll instead of being skipped (the
lost-record bug of servicenow.itsm#502, where the cursor was the poll's own time); reading it again is harmless
because the intake acts once per change id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from toolkit.desks.intake import DeskIntake, IssueOutcome
from toolkit.errors import UnavailableError

log = logging.getLogger(__name__)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class PollResult:
    desk: str
    since: datetime
    issues: list[IssueOutcome] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # issue key -> why (retried by the next poll)


class DeskPoller:
    def __init__(self, intake: DeskIntake, limit: int = 1000) -> None:
        self.intake, self.limit = intake, limit

    def poll_once(self) -> PollResult:
        mapping, records, now = self.intake.mapping, self.intake.records, self.intake.clock.now()
        cursor = records.cursor(mapping.name)
        since = (cursor - timedelta(seconds=mapping.poll_overlap_s)) if cursor else EPOCH
        projects = tuple(dict.fromkeys(route.project for route in mapping.routes))
        result = PollResult(desk=mapping.name, since=since)
        issues = self.intake.client.updated_since(since, projects, self.limit)
        newest: datetime | None = None
        for issue in issues:
            try:
                result.issues.append(self.intake.process(issue.key))
            except UnavailableError as exc:
                # Stop here: the cursor must not pass an issue that was not acted on.
                result.failed[issue.key] = str(exc)
                log.warning("desk %s: issue %s not taken now (%s); the next poll retries", mapping.name,
                            issue.key, exc)
                break
            newest = issue.updated_at if newest is None else max(newest, issue.updated_at)
        records.advance(mapping.name, newest, now)
        return result
