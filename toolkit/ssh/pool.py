"""Warm, authenticated SSH connections kept per host for a long-lived process (the worker, the server).

Why: a fresh SSH connection costs a TCP handshake, a key exchange and public-key authentication (tens
to hundreds of milliseconds, more across a WAN); the containment fast path wants one round trip. The
pool is built once by the composition root (`toolkit.bootstrap.App.ssh`) and closed with it.

* One connection per target (name, address, port, user, key, known_hosts): a changed inventory entry
  is a new key, so it never reuses a connection made for other settings.
* `session` hands the connection to one caller at a time (a lock per target); paramiko's transport is
  thread-safe, but two containments of one host should not interleave anyway.
* Liveness: a connection whose transport is no longer active is dropped and a new one made; one that
  fails while in use is closed, never handed out again. SSH keepalives (``keepalive_s``) notice a peer
  that went away while the connection sat idle.
* Idle expiry: a connection unused for ``idle_s`` is closed by a daemon thread that runs only while the
  pool holds connections (and at the next use of the pool at the latest); ``idle_s = 0`` keeps none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import paramiko

from toolkit.ssh.target import SshTarget, connect

Key = tuple[str, str, int, str, str, str]


@dataclass
class _Entry:
    client: paramiko.SSHClient
    last_used: float
    uses: int = 0


def _key(target: SshTarget) -> Key:
    return (target.name, target.address, target.port, target.user, str(target.key_file or ""),
            str(target.known_hosts or ""))


def alive(client: paramiko.SSHClient) -> bool:
    transport = client.get_transport()
    return transport is not None and transport.is_active() and transport.is_authenticated()


class SshPool:
    """See the module docstring. ``connector`` is `toolkit.ssh.target.connect` (a test may count calls)."""

    def __init__(self, connect_timeout_s: float = 10.0, idle_s: float = 300.0, keepalive_s: int = 15,
                 connector: Callable[[SshTarget, float], paramiko.SSHClient] = connect,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.idle_s = idle_s
        self.keepalive_s = keepalive_s
        self._connector = connector
        self._clock = clock
        self._guard = threading.Lock()
        self._locks: dict[Key, threading.Lock] = {}
        self._entries: dict[Key, _Entry] = {}
        self._reaper: threading.Thread | None = None
        self._closed = threading.Event()
        self.connects = 0  # how many connections were made (the benchmark shows it)

    def _reap(self, now: float) -> None:
        """Close connections idle for longer than ``idle_s`` that nobody holds."""
        with self._guard:
            stale = [k for k, e in self._entries.items() if now - e.last_used > self.idle_s
                     and not self._locks[k].locked()]
            dropped = [self._entries.pop(k) for k in stale]
        for entry in dropped:
            entry.client.close()

    def _reap_loop(self) -> None:
        while not self._closed.wait(min(max(self.idle_s / 2, 1.0), 30.0)):
            self._reap(self._clock())
            with self._guard:
                if not self._entries:
                    self._reaper = None
                    return

    def _start_reaper(self) -> None:
        with self._guard:
            if self._reaper is not None or self.idle_s <= 0 or self._closed.is_set():
                return
            self._reaper = threading.Thread(target=self._reap_loop, name="ssh-pool-reaper", daemon=True)
            self._reaper.start()

    def _take(self, key: Key, target: SshTarget) -> tuple[_Entry, bool]:
        entry = self._entries.get(key)
        if entry is not None and (not alive(entry.client) or self._clock() - entry.last_used > self.idle_s):
            entry.client.close()
            entry = None
        if entry is not None:
            return entry, True
        client = self._connector(target, self.connect_timeout_s)
        transport = client.get_transport()
        if transport is not None and self.keepalive_s > 0:
            transport.set_keepalive(self.keepalive_s)
        self.connects += 1
        entry = _Entry(client=client, last_used=self._clock())
        with self._guard:
            self._entries[key] = entry
        self._start_reaper()
        return entry, False

    @contextmanager
    def session(self, target: SshTarget) -> Iterator[tuple[paramiko.SSHClient, bool]]:
        """``(client, reused)`` for the block's exclusive use; an SSH or socket failure inside the block
        closes the connection (it is not handed out again) and propagates."""
        self._reap(self._clock())
        key = _key(target)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            entry, reused = self._take(key, target)
            try:
                yield entry.client, reused
            except (paramiko.SSHException, OSError, EOFError):
                self._drop(key, entry)  # the connection may be half-used: never hand it out again
                raise
            except BaseException:
                if not alive(entry.client):
                    self._drop(key, entry)
                raise
            if alive(entry.client) and self.idle_s > 0:
                entry.last_used = self._clock()
                entry.uses += 1
            else:
                self._drop(key, entry)

    def _drop(self, key: Key, entry: _Entry) -> None:
        with self._guard:
            if self._entries.get(key) is entry:
                del self._entries[key]
        entry.client.close()

    def forget(self, target: SshTarget) -> None:
        """Close ``target``'s connection, if any (after a failure its caller could not attribute)."""
        key = _key(target)
        with self._guard:
            entry = self._entries.pop(key, None)
        if entry is not None:
            entry.client.close()

    def size(self) -> int:
        with self._guard:
            return len(self._entries)

    def close(self) -> None:
        """Close every connection and stop the reaper (the composition root's `close`)."""
        self._closed.set()
        with self._guard:
            entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            entry.client.close()
