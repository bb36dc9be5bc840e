"""The lab switches send what the shell writes in one reactor turn as one SSH write (`CoalescingTransport`).

fake-switches writes each output line separately; without this, ``show running-config`` reached the
client as ~150 SSH packets, most of the client's CPU when 50 switches are configured at once
(benchmarks/network_bench.py). Driven here with Twisted's own `Clock` as the reactor and a transport
that records what reaches the SSH channel.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.task import Clock

from lab.ios_shims import CoalescingTransport


class _Channel:
    """Stands in for conch's SSHSessionProcessProtocol: records writes and the close."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed_after: int | None = None
        self.peer = "127.0.0.1:2222"

    def write(self, data: bytes) -> None:
        assert self.closed_after is None, "written after loseConnection"
        self.writes.append(data)

    def loseConnection(self) -> None:  # noqa: N802 - Twisted API
        self.closed_after = len(self.writes)

    def getPeer(self) -> str:  # noqa: N802 - Twisted API
        return self.peer


def _transport() -> tuple[CoalescingTransport, _Channel, Clock]:
    channel, clock = _Channel(), Clock()
    reactor: Any = clock
    return CoalescingTransport(channel, reactor), channel, clock


def test_writes_of_one_turn_leave_as_one_write_in_order() -> None:
    transport, channel, clock = _transport()
    for line in (b"Building configuration...\r\n", b"\r\n", b"hostname sw-1\r\n", b"end\r\n", b"sw-1#"):
        transport.write(line)
    transport.write(b"")
    assert channel.writes == []  # nothing until the reactor has finished the turn
    clock.advance(0)
    assert channel.writes == [b"Building configuration...\r\n\r\nhostname sw-1\r\nend\r\nsw-1#"]


def test_later_turns_are_separate_writes_and_nothing_is_lost() -> None:
    transport, channel, clock = _transport()
    transport.write(b"show vlan brief\r\n")
    clock.advance(0)
    transport.writeSequence([b"1    default", b"    active\r\n", b"sw-1#"])
    clock.advance(0)
    clock.advance(0)  # an idle turn writes nothing
    assert channel.writes == [b"show vlan brief\r\n", b"1    default    active\r\nsw-1#"]


def test_close_sends_what_is_pending_first() -> None:
    transport, channel, clock = _transport()
    transport.write(b"bye\r\n")
    transport.loseConnection()
    assert channel.writes == [b"bye\r\n"] and channel.closed_after == 1
    clock.advance(0)  # the cancelled flush does not write again after the close
    assert channel.writes == [b"bye\r\n"]


def test_other_transport_calls_reach_the_channel() -> None:
    transport, channel, _clock = _transport()
    assert transport.getPeer() == channel.peer
