"""The desks' threads in `spbe serve`: one polls each desk every ``poll_interval_s``, one runs the mirror.

Two threads, not one: a mirror round writes several notes and files, each a few round trips to the desk, and a
poll waiting behind it would take an approval late by as long. A poll and a mirror run are HTTP round trips,
not CPU, so one thread of each serves every desk; a desk that is down makes its own mirror back off
(`toolkit.desks.mirror`), and every client call has a timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from toolkit.desks.hub import DeskServices
from toolkit.desks.mirror import DeskMirror

log = logging.getLogger(__name__)
Loop = Callable[[threading.Event], None]


def desk_loops(services: DeskServices, tick_s: float = 0.5) -> tuple[Loop, ...]:
    """The loops to hand to `Server.side_loops`; none when no desk is configured."""
    hub = services.desks
    if not hub.desks:
        return ()
    mirror = DeskMirror(services, hub)

    def polls(stop: threading.Event) -> None:
        last_poll: dict[str, float] = {}
        while not stop.is_set():
            for desk in hub.desks.values():
                now = time.monotonic()
                if now - last_poll.get(desk.name, float("-inf")) < desk.mapping.poll_interval_s:
                    continue
                last_poll[desk.name] = now
                try:
                    desk.poller.poll_once()
                except Exception as exc:  # noqa: BLE001 - the poll thread must outlive any one failure
                    log.warning("desk %s: poll: %s", desk.name, services.masker(f"{type(exc).__name__}: {exc}"))
            stop.wait(tick_s)

    def mirrors(stop: threading.Event) -> None:
        while not stop.is_set():
            for desk in hub.desks.values():
                try:
                    mirror.run_desk(desk)
                except Exception as exc:  # noqa: BLE001 - the mirror thread must outlive any one failure
                    log.warning("desk %s: mirror: %s", desk.name, services.masker(f"{type(exc).__name__}: {exc}"))
            stop.wait(tick_s)

    return (polls, mirrors)
