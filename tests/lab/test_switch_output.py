"""The lab switches send what the shell writes in one reactor turn as one SSH write (`CoalescingTransport`).

fake-switches writes each output line separately; without this, ``show running-config`` reached the
client as ~150 SSH packets, most of the client's CPU when 50 switches are configured at once
(benchmarks/network_bench.py). Driven here with Twisted's own `Clock` as the reactor and a transport
that records what reaches the SSH channel.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.task import Clock

from lab.ios_ssh import CoalescingTransport


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


class _Recorder:
    """A terminal controller that keeps what the command processor writes, one entry per write."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def add_any_key_handler(self, callback: Any, *params: Any) -> None:
        raise AssertionError("no paging here")

    def remove_any_key_handler(self) -> None:
        pass


def _enabled_processor() -> tuple[Any, _Recorder]:
    """The lab's privileged exec processor on a 26-port switch with VLANs and access ports spread over them."""
    import logging

    from fake_switches.cisco.command_processor.piping import PipingProcessor
    from fake_switches.switch_configuration import Port

    from lab.ios_shims import IosSwitchConfiguration
    from lab.switch_server import LabCiscoCore
    from lab.switches import ACCESS_PORTS

    conf = IosSwitchConfiguration("127.0.0.1", name="sw-out", privileged_passwords=["x"],
                                  ports=[Port(name) for name in ACCESS_PORTS])  # fmt: skip
    recorder, logger = _Recorder(), logging.getLogger("test.switch_output")
    processor = LabCiscoCore(conf).new_command_processor()
    processor.init(conf, recorder, logger, PipingProcessor(logger))
    lines = ["configure terminal"]
    for vlan in (300, 120, 4000, 301):
        lines += [f"vlan {vlan}", f"name V{vlan}", "exit"]
    for index, port in enumerate(ACCESS_PORTS[:10]):
        lines += [f"interface {port}", f"switchport access vlan {(300, 120, 300, 301)[index % 4]}", "exit"]
    for line in [*lines, "end"]:
        processor.process_command(line)
    return processor, recorder


def test_show_vlan_is_the_stock_output_in_one_write() -> None:
    from fake_switches.cisco.command_processor.enabled import EnabledCommandProcessor

    processor, recorder = _enabled_processor()
    for args in (("vlan", "brief"), ("vlan",), ("vl", "br")):
        recorder.writes.clear()
        EnabledCommandProcessor.do_show(processor, *args)
        stock = list(recorder.writes)
        recorder.writes.clear()
        processor.do_show(*args)
        assert recorder.writes == ["".join(stock)], args  # the same text, in one write
        assert "V300" in "".join(stock) and "Fa0/1, Fa0/3" in "".join(stock)  # the table is really there


def test_show_vlan_under_a_pipe_filters_each_row_as_stock() -> None:
    from fake_switches.cisco.command_processor.enabled import EnabledCommandProcessor

    processor, recorder = _enabled_processor()
    outputs = []
    for show in (EnabledCommandProcessor.do_show, type(processor).do_show):
        recorder.writes.clear()
        processor.activate_piping("include V30")
        show(processor, "vlan", "brief")
        processor.finish_piping()
        outputs.append("".join(recorder.writes))
    assert outputs[0] == outputs[1] and "V300" in outputs[0] and "V120" not in outputs[0]
