"""The engine's audit entries, written in groups by one thread per process (group commit).

Each audit append is a synchronous commit (the log runs ``synchronous=FULL``: an entry survives a power
cut), and that fsync was the largest cost of a short job: three per job. Here the workers hand entries
over and one thread writes whatever has gathered in one `AuditLog.append_many`: one commit, one fsync,
one anchor for all of them, the chain still appended in order under the log's writer lock.

Two kinds of hand-over:

- ``write`` waits until the entries are committed and raises if they could not be: a job's start entry
  is on disk before its action runs, as before.
- ``submit`` does not wait: a finished job's entry (its result is already durable in the queue) and an
  outbox delivery's. They ride along with the next waited write (the next batch's start entries) or
  are committed after at most ``linger`` seconds (20 ms), so a crash loses at most the entries of the
  last few tens of milliseconds; before, a crash between a job's finish and its audit append lost its
  entry too, in a window of one commit. A failed write of these is retried, never dropped while the
  process lives; `flush` commits them at once and waits (`Server.run` on shutdown).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from toolkit.audit.port import AuditTrail
from toolkit.errors import ConfigurationError, InvalidInputError

log = logging.getLogger("spbe.audit.writer")

Item = tuple[str, str, str | None, Mapping[str, Any]]
_RETRY_S = (0.05, 0.2, 1.0)


@dataclass(eq=False)  # compared by identity
class _Group:
    items: list[Item]
    waited: bool
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class AuditWriter:
    def __init__(self, audit: AuditTrail, linger: float = 0.02) -> None:
        self._audit, self._linger = audit, linger
        self._urgent = 0  # waited writes and flushes pending: commit without lingering
        self._pending: list[_Group] = []
        self._cond = threading.Condition()
        self._inflight: list[_Group] = []
        self._thread: threading.Thread | None = None
        self.commits = 0  # appends made (for the benchmark's per-job breakdown)

    def write(self, items: list[Item]) -> None:
        """Commit ``items`` (with whatever else is waiting) and return once they are on disk."""
        if not items:
            return
        group = self._put(items, waited=True)
        group.done.wait()
        if group.error is not None:
            raise group.error

    def submit(self, items: list[Item]) -> None:
        """Queue ``items`` to be committed soon, without waiting."""
        if items:
            self._put(items, waited=False)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted before this call is committed (or, for waited groups, failed);
        False if ``timeout`` ran out first (the audit log is down and the entries are still being retried)."""
        with self._cond:
            groups = self._inflight + self._pending
            self._urgent += 1
            self._cond.notify_all()
        try:
            return self._wait_all(groups, timeout)
        finally:
            with self._cond:
                self._urgent -= 1

    @staticmethod
    def _wait_all(groups: list[_Group], timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for group in groups:
            if not group.done.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
                return False
        return True

    def _put(self, items: list[Item], *, waited: bool) -> _Group:
        group = _Group(list(items), waited)
        with self._cond:
            self._pending.append(group)
            if waited:
                self._urgent += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
            if waited or len(self._pending) == 1:  # an un-waited group joins a linger already under way unheard
                self._cond.notify_all()
        return group

    def _run(self) -> None:
        failures = 0
        while True:
            with self._cond:
                while not self._pending:
                    if not self._cond.wait(30.0) and not self._pending:  # idle: the thread ends
                        self._thread = None
                        return
                lingered = time.monotonic() + self._linger
                while not self._urgent and (left := lingered - time.monotonic()) > 0:
                    self._cond.wait(left)  # un-waited entries only: gather more for the same commit
                groups, self._pending = self._pending, []
                self._urgent -= sum(1 for g in groups if g.waited)
                self._inflight = groups
            retry = self._commit(groups)
            with self._cond:
                self._pending[:0] = retry  # order kept: the retried ones go first
                self._inflight = []
            failures = failures + 1 if retry else 0
            if retry:
                threading.Event().wait(_RETRY_S[min(failures, len(_RETRY_S)) - 1])

    def _commit(self, groups: list[_Group]) -> list[_Group]:
        """Write ``groups`` in one append. When the log refused the content (an entry without ``auth``, ...),
        each group is tried alone, so one group's bad entry does not fail the others; when the log is
        unavailable, the waiters are told and the rest retried. Returns the groups to retry."""
        try:
            self._audit.append_many([item for group in groups for item in group.items], entries=False)
            self.commits += 1
        except Exception as exc:  # noqa: BLE001 - reported to the waiter or retried, never lost silently
            permanent = isinstance(exc, InvalidInputError | ConfigurationError)
            if permanent and len(groups) > 1:
                return [g for group in groups for g in self._commit([group])]
            retry = [group for group in groups if not group.waited and not permanent]
            for group in groups:
                if group not in retry:
                    if not group.waited:  # would never be written: say so rather than retry for ever
                        log.error("audit entries refused and dropped (%s): %s", type(exc).__name__, exc)
                    group.error = exc
                    group.done.set()
            if retry:
                log.warning("audit entries not written yet (%s); retrying: %s", type(exc).__name__, exc)
            return retry
        for group in groups:
            group.done.set()
        return []
