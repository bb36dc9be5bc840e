"""One thread per process renews the leases of every job its workers hold.

A thread per job (started and joined around each action) cost more than a no-op job itself; one keeper
renews all held leases every third of the lease, so a job is renewed well before it could expire, and
tells each job when its lease was lost (the job was reclaimed after this process stalled): the action
is then asked to stop and its result is fenced off by the token.
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass, field

from toolkit.errors import ToolkitError
from toolkit.ports.jobs import Job, JobQueue


@dataclass
class Held:
    job_id: int
    token: str
    lost: threading.Event = field(default_factory=threading.Event)


class LeaseKeeper:
    def __init__(self, queue: JobQueue, lease_seconds: float) -> None:
        self._queue = weakref.ref(queue)  # the keepers' registry is keyed by the queue: no cycle back to it
        self._lease = lease_seconds
        self._held: dict[tuple[int, str], Held] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def hold(self, job: Job) -> Held:
        held = Held(job.id, job.lease_token or "")
        with self._lock:
            self._held[(held.job_id, held.token)] = held
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
                self._thread.start()
        return held

    def drop(self, held: Held) -> None:
        with self._lock:
            self._held.pop((held.job_id, held.token), None)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._lease / 3)
            queue = self._queue()
            with self._lock:
                held = list(self._held.values())
                if not held or queue is None:  # nothing to renew: the thread ends; the next hold starts another
                    self._thread = None
                    return
            for item in held:
                try:
                    if not queue.heartbeat(item.job_id, item.token, self._lease):
                        item.lost.set()
                        self.drop(item)
                except ToolkitError:  # queue busy for a moment; the lease has slack for two misses
                    continue
            del queue  # not kept alive while waiting


_KEEPERS: weakref.WeakKeyDictionary[object, LeaseKeeper] = weakref.WeakKeyDictionary()
_KEEPERS_LOCK = threading.Lock()


def keeper_for(queue: JobQueue, lease_seconds: float) -> LeaseKeeper:
    """The keeper of this queue object in this process (a forked child gets its own)."""
    with _KEEPERS_LOCK:
        keeper = _KEEPERS.get(queue)
        if keeper is None or keeper._pid != os.getpid() or keeper._lease != lease_seconds:
            keeper = LeaseKeeper(queue, lease_seconds)
            _KEEPERS[queue] = keeper
        return keeper
