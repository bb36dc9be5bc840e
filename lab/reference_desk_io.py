"""The reference desk's plumbing towards tests and spbe: injected faults, and its signed webhook announcements.

Kept apart from `lab.reference_desk` (the application: state and routes) so each stays small.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
from typing import Any

import requests


class Faults:
    """The next ``count`` requests whose path starts with ``prefix`` (and method, if given) misbehave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[list[Any]] = []

    def add(self, prefix: str, kind: str, count: int = 1, method: str | None = None,
            delay_s: float | None = None) -> None:
        """``delay_s``: how long ``hang`` and ``late`` wait (default: the desk's ``hang_s``)."""
        if kind not in ("500", "401", "hang", "late"):
            raise ValueError(f"unknown fault {kind}")
        with self._lock:
            self._rules.append([prefix, kind, count, method, delay_s])

    def take(self, method: str, path: str) -> tuple[str, float | None] | None:
        with self._lock:
            for rule in self._rules:
                if path.startswith(rule[0]) and rule[3] in (None, method) and rule[2] > 0:
                    rule[2] -= 1
                    return str(rule[1]), rule[4]
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


class HookSender:
    """Announces changes in order from its own thread, outside the request that made the change (the receiver
    reads the ticket back at once, and must not wait for the desk's lock). ``deliveries``: ``(id, status or
    error name)``."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, int | str]] = []
        self._queue: queue.Queue[tuple[str, str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def announce(self, url: str, secret: str, key: str) -> None:
        self._queue.put((url, secret, key))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="reference-desk-hooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=15)
            self._thread = None

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            url, secret, key = item
            body = json.dumps({"issue_key": key}).encode()
            sent = str(int(time.time()))
            signature = hmac.new(secret.encode(), sent.encode() + b"." + body, hashlib.sha256).hexdigest()
            headers: dict[str, Any] = {"Content-Type": "application/json", "X-Spbe-Timestamp": sent,
                                       "X-Spbe-Signature": f"sha256={signature}",
                                       "X-Spbe-Delivery": secrets.token_hex(8)}
            try:
                self.deliveries.append((key, requests.post(url, data=body, headers=headers, timeout=10).status_code))
            except requests.RequestException as exc:
                self.deliveries.append((key, type(exc).__name__))
