"""paramiko's handshake timeout as a deadline instead of a timer thread per connection.

paramiko 4's `Packetizer.start_handshake` starts a `threading.Timer` for every connection, only to set
a flag when the handshake takes too long; the transport thread looks at the flag before each read
(at least every 0.1 s, its socket timeout). A thread per session is started, waited on and woken
again when it is cancelled: ~0.2 ms of CPU per session, and one more thread competing for the GIL
while 64 sessions start at once. `DeadlinePacketizer` keeps the same rule with a clock: timed out
once the deadline has passed and the handshake has not completed; completing it ends the check.
`use_deadline` switches a new transport's packetizer to it before the transport starts.
"""

from __future__ import annotations

import time

import paramiko
from paramiko.packet import Packetizer


class DeadlinePacketizer(Packetizer):  # type: ignore[misc]
    """`Packetizer` whose handshake timeout is a deadline checked when paramiko asks, not a thread."""

    _handshake_deadline: float | None = None
    _handshake_done = False

    def start_handshake(self, timeout: float) -> None:
        if self._handshake_deadline is None:  # as paramiko: only the first start counts
            self._handshake_deadline = time.monotonic() + float(timeout)

    def handshake_timed_out(self) -> bool:
        deadline = self._handshake_deadline
        return deadline is not None and not self._handshake_done and time.monotonic() >= deadline

    def complete_handshake(self) -> None:
        if self._handshake_deadline is not None:
            self._handshake_done = True


def use_deadline(transport: paramiko.Transport) -> paramiko.Transport:
    """``transport``'s packetizer, not yet started, checks the handshake timeout by deadline (same state)."""
    packetizer = transport.packetizer
    if type(packetizer) is Packetizer:
        packetizer.__class__ = DeadlinePacketizer
    return transport
