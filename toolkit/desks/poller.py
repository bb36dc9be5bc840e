"""The poll half of desk intake: every issue updated since the cursor goes through the intake.

The cursor is the newest ``updated_at`` a poll actually saw, never the poll's own clock, and each poll looks
``poll_overlap_s`` further back than the cursor. So a record written in the same second as the last poll, or
stamped by a desk whose clock runs behind spbe's, is read again by the next poll instead of being skipped (the
lost-record bug of servicenow.itsm#502, where the cursor was the poll's own time); reading it again is harmless
because the intake acts once per change id. Every issue the listing returns is read again, even one whose
``updated_at`` has not moved: desks keep whole seconds, so a change later in the same second, or stamped by a
desk clock behind spbe's, leaves it as it was, and skipping it would lose that change. A full page is followed
by the next one from its newest record; a full page that does not advance (more records in one second than the
page holds) is asked again, larger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from toolkit.desks.intake import DeskIntake, IssueOutcome
from toolkit.errors import UnavailableError

log = logging.getLogger(__name__)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MAX_PAGE_GROWTH = 64


@dataclass
class PollResult:
    desk: str
    since: datetime
    issues: list[IssueOutcome] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # issue key -> why (retried by the next poll)


class DeskPoller:
    def __init__(self, intake: DeskIntake, limit: int = 500) -> None:
        self.intake, self.limit = intake, limit

    def poll_once(self) -> PollResult:
        mapping, records, now = self.intake.mapping, self.intake.records, self.intake.clock.now()
        cursor = records.cursor(mapping.name)
        since = (cursor - timedelta(seconds=mapping.poll_overlap_s)) if cursor else EPOCH
        projects = tuple(dict.fromkeys(route.project for route in mapping.routes))
        result = PollResult(desk=mapping.name, since=since)
        newest: datetime | None = None
        page_since, limit = since, self.limit
        while True:
            issues = self.intake.client.updated_since(page_since, projects, limit)
            for issue in issues:
                try:
                    result.issues.append(self.intake.process(issue.key))
                except UnavailableError as exc:
                    # Stop here: the cursor must not pass an issue that was not acted on.
                    result.failed[issue.key] = str(exc)
                    log.warning("desk %s: issue %s not taken now (%s); the next poll retries", mapping.name,
                                issue.key, exc)
                    records.advance(mapping.name, newest, now)
                    return result
                newest = issue.updated_at if newest is None else max(newest, issue.updated_at)
            if len(issues) < limit or newest is None:
                break
            if newest > page_since:
                page_since = newest
            elif limit < self.limit * MAX_PAGE_GROWTH:
                limit *= 2
            else:
                log.warning("desk %s: more than %d records updated at %s; the next poll reads on", mapping.name,
                            limit, newest.isoformat())
                break
        records.advance(mapping.name, newest, now)
        return result
