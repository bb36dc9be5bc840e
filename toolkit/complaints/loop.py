"""The mailbox poll in `spbe serve`: one thread reads the complaints mailbox every ``poll_interval_s``.

A side loop (`toolkit.engine.server.Server.side_loops`) like the outside desks' poll, so the engine imports no
mail code; none when no mailbox is configured. A round that fails (the server is down, the login refused) is
logged, masked, and tried again at the next interval; a message is marked done only after it was handled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from toolkit.complaints.mail import MailServices, fetch_once

log = logging.getLogger("spbe.complaints.mail")
Loop = Callable[[threading.Event], None]


def mail_loops(services: MailServices) -> tuple[Loop, ...]:
    settings = services.settings.complaints
    if services.settings.mailbox is None:
        return ()

    def poll(stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                outcomes = fetch_once(services)
                created = sum(o.result == "created" for o in outcomes)
                if outcomes:
                    services.audit.append("spbe", "complaint.fetch_mail", None,
                                          {"created": created, "refused": sum(o.result == "refused" for o in outcomes),
                                           "auth": "engine"})
            except Exception as exc:  # noqa: BLE001 - the poll thread must outlive any one failure
                log.warning("complaints mailbox: %s", services.masker(f"{type(exc).__name__}: {exc}"))
            stop.wait(settings.poll_interval_s)

    return (poll,)
