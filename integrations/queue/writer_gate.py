"""One writer at a time per database file within a process, waiting on a mutex instead of SQLite's busy sleep.

When ``BEGIN IMMEDIATE`` finds the write lock taken, SQLite's busy handler sleeps 1, 2, 5, 10 ... ms before
trying again, however soon the lock is released: with two workers, the outbox thread and the trigger
writing to one file, most write transactions of a busy engine paid such a sleep (the queue's finish took
~1.8 thread-ms for a transaction of ~0.2 ms). Threads of one process now queue on this gate, which wakes
the next one the moment the transaction before it ends; other processes still meet SQLite's lock and busy
timeout as before. The gate gives up after the same busy timeout (the caller then reports the store as
unavailable), and a process forked while the gate was held starts with a fresh one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class WriterGate:
    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._pid = os.getpid()
        self._lock = threading.RLock()

    @contextmanager
    def held(self) -> Iterator[bool]:
        """Yields False when the gate could not be had within the timeout (the caller goes on to meet
        SQLite's own lock and busy timeout, which then decide)."""
        if self._pid != os.getpid():  # inherited through fork(): the parent's holder does not exist here
            self._pid, self._lock = os.getpid(), threading.RLock()
        lock = self._lock
        got = lock.acquire(timeout=self._timeout_s)
        try:
            yield got
        finally:
            if got:
                lock.release()
