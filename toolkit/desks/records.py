"""What spbe remembers about each outside desk, in ``state_dir/desks.db``.

- links: which desk issue is which spbe ticket (one each way);
- changes: every desk change already acted on, with its outcome, so a change seen by a webhook and again
  by a poll, or delivered twice, is acted on once;
- cursors: the newest ``updated_at`` a poll actually saw (never the poll's own clock: a record written
  between two polls, or stamped by a desk whose clock runs behind, is still found by the next poll);
- deliveries: webhook delivery ids inside the timestamp window (replays are ignored and counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from toolkit.sqlite_tx import SqliteStore

DESKS_DB = "desks.db"


@dataclass(frozen=True)
class DeskStatus:
    desk: str
    cursor: datetime | None
    last_poll: datetime | None
    last_webhook: datetime | None
    changes_done: int
    refused: int
    replays: int
    links: int


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class DeskRecords(SqliteStore):
    def __init__(self, state_dir: Path) -> None:
        super().__init__(Path(state_dir) / DESKS_DB, "desk records")
        self._create(
            "CREATE TABLE IF NOT EXISTS links (desk TEXT NOT NULL, issue_key TEXT NOT NULL, ticket_id TEXT NOT NULL,"
            " PRIMARY KEY (desk, issue_key), UNIQUE (ticket_id))",
            "CREATE TABLE IF NOT EXISTS changes (desk TEXT NOT NULL, change_id TEXT NOT NULL, issue_key TEXT NOT NULL,"
            " outcome TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (desk, change_id))",
            "CREATE TABLE IF NOT EXISTS cursors (desk TEXT PRIMARY KEY, cursor TEXT, last_poll TEXT,"
            " last_webhook TEXT, replays INTEGER NOT NULL DEFAULT 0)",
            "CREATE TABLE IF NOT EXISTS mirror (desk TEXT PRIMARY KEY, seq INTEGER NOT NULL, failures INTEGER NOT NULL"
            " DEFAULT 0, next_at TEXT, last_error TEXT)",
            "CREATE TABLE IF NOT EXISTS deliveries (desk TEXT NOT NULL, delivery_id TEXT NOT NULL, at TEXT NOT NULL,"
            " PRIMARY KEY (desk, delivery_id))",
        )

    # -- links -------------------------------------------------------------------------------
    def ticket_for(self, desk: str, issue_key: str) -> str | None:
        row = self._conn().execute("SELECT ticket_id FROM links WHERE desk=? AND issue_key=?",
                                   (desk, issue_key)).fetchone()
        return str(row[0]) if row else None

    def issue_for(self, ticket_id: str) -> tuple[str, str] | None:
        row = self._conn().execute("SELECT desk, issue_key FROM links WHERE ticket_id=?", (ticket_id,)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def link(self, desk: str, issue_key: str, ticket_id: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO links (desk, issue_key, ticket_id) VALUES (?, ?, ?)",
                       (desk, issue_key, ticket_id))

    # -- changes -----------------------------------------------------------------------------
    def outcome(self, desk: str, change_id: str) -> str | None:
        row = self._conn().execute("SELECT outcome FROM changes WHERE desk=? AND change_id=?",
                                   (desk, change_id)).fetchone()
        return str(row[0]) if row else None

    def record(self, desk: str, change_id: str, issue_key: str, outcome: str, now: datetime) -> bool:
        """Remember a change's outcome; False when it was already recorded (the first outcome stands)."""
        with self._tx() as db:
            cursor = db.execute("INSERT OR IGNORE INTO changes (desk, change_id, issue_key, outcome, at)"
                                " VALUES (?, ?, ?, ?, ?)", (desk, change_id, issue_key, outcome, now.isoformat()))
            return cursor.rowcount == 1

    def outcomes(self, desk: str, issue_key: str) -> dict[str, str]:
        rows = self._conn().execute("SELECT change_id, outcome FROM changes WHERE desk=? AND issue_key=?"
                                    " ORDER BY at, change_id", (desk, issue_key)).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    # -- cursors -----------------------------------------------------------------------------
    def cursor(self, desk: str) -> datetime | None:
        row = self._conn().execute("SELECT cursor FROM cursors WHERE desk=?", (desk,)).fetchone()
        return _at(row[0]) if row else None

    def advance(self, desk: str, newest_seen: datetime | None, polled_at: datetime) -> None:
        """Move the cursor to the newest record seen, never backwards, and note the poll."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO cursors (desk) VALUES (?)", (desk,))
            row = db.execute("SELECT cursor FROM cursors WHERE desk=?", (desk,)).fetchone()
            current = _at(row[0])
            if newest_seen is not None and (current is None or newest_seen > current):
                current = newest_seen.astimezone(UTC)
            db.execute("UPDATE cursors SET cursor=?, last_poll=? WHERE desk=?",
                       (current.isoformat() if current else None, polled_at.isoformat(), desk))

    # -- the mirror (spbe's timeline -> the desk) ---------------------------------------------
    def mirror_state(self, desk: str) -> tuple[int, int, datetime | None]:
        """(the last timeline seq mirrored, consecutive failures, when to try again)."""
        row = self._conn().execute("SELECT seq, failures, next_at FROM mirror WHERE desk=?", (desk,)).fetchone()
        return (int(row[0]), int(row[1]), _at(row[2])) if row else (0, 0, None)

    def mirrored(self, desk: str, seq: int) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO mirror (desk, seq) VALUES (?, ?) ON CONFLICT (desk) DO UPDATE SET"
                       " seq=MAX(seq, excluded.seq), failures=0, next_at=NULL, last_error=NULL", (desk, seq))

    def mirror_failed(self, desk: str, next_at: datetime, error: str) -> int:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO mirror (desk, seq) VALUES (?, 0)", (desk,))
            db.execute("UPDATE mirror SET failures=failures+1, next_at=?, last_error=? WHERE desk=?",
                       (next_at.isoformat(), error[:500], desk))
            return int(db.execute("SELECT failures FROM mirror WHERE desk=?", (desk,)).fetchone()[0])

    # -- webhook deliveries ------------------------------------------------------------------
    def delivery(self, desk: str, delivery_id: str, now: datetime, forget_before: datetime) -> bool:
        """Record a delivery; False for a replay (counted). Deliveries older than the window are forgotten:
        the timestamp check refuses those anyway."""
        with self._tx() as db:
            db.execute("DELETE FROM deliveries WHERE desk=? AND at < ?", (desk, forget_before.isoformat()))
            db.execute("INSERT OR IGNORE INTO cursors (desk) VALUES (?)", (desk,))
            fresh = db.execute("INSERT OR IGNORE INTO deliveries (desk, delivery_id, at) VALUES (?, ?, ?)",
                               (desk, delivery_id, now.isoformat())).rowcount == 1
            if fresh:
                db.execute("UPDATE cursors SET last_webhook=? WHERE desk=?", (now.isoformat(), desk))
            else:
                db.execute("UPDATE cursors SET replays = replays + 1 WHERE desk=?", (desk,))
            return fresh

    def status(self, desk: str) -> DeskStatus:
        db = self._conn()
        row = db.execute("SELECT cursor, last_poll, last_webhook, replays FROM cursors WHERE desk=?",
                         (desk,)).fetchone() or (None, None, None, 0)
        done = db.execute("SELECT COUNT(*) FROM changes WHERE desk=?", (desk,)).fetchone()[0]
        refused = db.execute("SELECT COUNT(*) FROM changes WHERE desk=? AND outcome LIKE 'refused%'",
                             (desk,)).fetchone()[0]
        links = db.execute("SELECT COUNT(*) FROM links WHERE desk=?", (desk,)).fetchone()[0]
        return DeskStatus(desk=desk, cursor=_at(row[0]), last_poll=_at(row[1]), last_webhook=_at(row[2]),
                          changes_done=int(done), refused=int(refused), replays=int(row[3]), links=int(links))
