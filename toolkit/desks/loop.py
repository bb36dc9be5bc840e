"""The desks' thread in `spbe serve`: each desk polled every ``poll_interval_s``, its mirror run every second.

One thread for all desks: a poll and a mirror run are HTTP round trips to the desk, not CPU, and a desk that
is down makes its own mirror back off (`toolkit.desks.mirror`) without holding the others for long (every
client call has a timeout).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from toolkit.desks.hub import DeskServices
from toolkit.desks.mirror import DeskMirror

log = logging.getLogger(__name__)


def desk_loop(services: DeskServices, tick_s: float = 1.0) -> Callable[[threading.Event], None] | None:
    """The loop to hand to `Server.side_loops`, or None when no desk is configured."""
    hub = services.desks
    if not hub.desks:
        return None
    mirror = DeskMirror(services, hub)

    def run(stop: threading.Event) -> None:
        last_poll: dict[str, float] = {}
        while not stop.is_set():
            for desk in hub.desks.values():
                now = time.monotonic()
                try:
                    if now - last_poll.get(desk.name, float("-inf")) >= desk.mapping.poll_interval_s:
                        last_poll[desk.name] = now
                        desk.poller.poll_once()
                    mirror.run_desk(desk)
                except Exception as exc:  # noqa: BLE001 - the desks' thread must outlive any one failure
                    log.warning("desk %s: %s", desk.name, services.masker(f"{type(exc).__name__}: {exc}"))
            stop.wait(tick_s)

    return run
