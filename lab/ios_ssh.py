"""The lab switches' SSH side: how typed characters are echoed and read, and who is logged in when.

fake-switches echoes and reads one character at a time, one SSH packet and one Twisted call chain each; a
real switch's TCP stack coalesces them. At 50 and 500 sessions at once that difference was most of the
client's and the simulator's CPU, so the shell here echoes once per received packet (`CoalescingShell`,
`CoalescingTransport`) and takes runs of input at once (`FastInputProtocol`). `SessionEvents` logs session
open/close for the concurrency tests. The IOS command behaviour itself is in `lab.ios_shims`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fake_switches.terminal.ssh import SwitchSSHShell
from fake_switches.transports.ssh_service import SSHDemoAvatar
from twisted.conch import interfaces as conchinterfaces
from twisted.conch.insults import insults
from twisted.conch.ssh import session
from twisted.cred import portal
from zope.interface import implementer


class CoalescingShell(SwitchSSHShell):  # type: ignore[misc]
    """Echo typed characters once per received packet, not one SSH packet per character.

    fake-switches writes every echoed character separately, so a 40-character line costs the client 40
    SSH packets to decrypt and parse; a real switch's TCP stack coalesces them (a pasted line comes
    back in one or a few segments). With 50 sessions at once the per-character packets were most of
    the client's CPU time.
    """

    ended = False

    def lineReceived(self, line: bytes) -> None:  # noqa: N802 - Twisted API
        """As the stock shell, but input typed after the logout is dropped, as a closed vty line drops it
        (the stock shell closed the terminal at once and Twisted failed on the rest of the packet's input,
        dropping the connection before the output of the lines before the logout was sent)."""
        if self.ended:
            return
        if not self.session.receive(line.decode()):
            from twisted.internet import reactor as running  # the running reactor, as in `LabAvatar`

            self.ended = True
            reactor: Any = running
            # Closing now would end the terminal while Twisted still walks the rest of this packet's input.
            reactor.callLater(0, self.terminal.loseConnection)

    def characterReceived(self, ch: bytes, moreCharactersComing: bool) -> None:  # noqa: N802,N803 - Twisted API
        if self.ended:
            return
        processor = self.get_actual_processor()
        echo = ch if processor.replace_input is False else len(ch) * processor.replace_input.encode()
        self._pending = getattr(self, "_pending", b"") + echo
        if not moreCharactersComing:
            self.flush_echo()
        if self.mode == "insert":
            self.lineBuffer.insert(self.lineBufferIndex, ch)
        else:
            self.lineBuffer[self.lineBufferIndex:self.lineBufferIndex + 1] = [ch]
        self.lineBufferIndex += 1

    def typed(self, run: bytes) -> None:
        """A run of printable characters at once (see `FastInputProtocol`): echoed and buffered as the
        per-character path would, in one step instead of ~90 us of Twisted calls per character."""
        if self.ended:
            return
        if self.awaiting_keystroke is not None or self.mode != "insert" or self.lineBufferIndex != len(self.lineBuffer):
            for index in range(len(run)):
                self.keystrokeReceived(run[index:index + 1], None)
            return
        processor = self.get_actual_processor()
        echo = run if processor.replace_input is False else len(run) * processor.replace_input.encode()
        self._pending = getattr(self, "_pending", b"") + echo
        self.lineBuffer.extend(map(int.to_bytes, run))  # one 1-byte bytes per character, as recvline keeps them
        self.lineBufferIndex += len(run)
        self.flush_echo()

    def flush_echo(self) -> None:
        pending, self._pending = getattr(self, "_pending", b""), b""
        if pending:
            self.terminal.write(pending)

    def keystrokeReceived(self, keyID: Any, modifier: Any) -> None:  # noqa: N802,N803 - Twisted API
        if self.ended:
            return
        if keyID not in self._printableChars:
            self.flush_echo()  # Enter and friends: what was typed is echoed before the answer
        super().keystrokeReceived(keyID, modifier)


class CoalescingTransport:
    """The session's transport, with what the shell writes in one reactor turn sent as one SSH packet.

    fake-switches writes every output line separately (``write_line``), and conch sends every write as
    its own SSH packet: ``show running-config`` of a 26-port switch came back as ~150 packets, each one
    decrypted, MAC-checked and parsed by the client. An IOS switch's SSH server sends its output in
    buffered segments; this does the same: writes are queued and flushed together once the reactor has
    finished handling the input that caused them (``callLater(0)``), so byte order is unchanged.
    """

    def __init__(self, transport: Any, reactor: Any, on_close: Any = None) -> None:
        self._transport = transport
        self._reactor = reactor
        self._on_close = on_close
        self._pending: list[bytes] = []
        self._scheduled: Any = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._pending.append(data)
        if self._scheduled is None:
            self._scheduled = self._reactor.callLater(0, self.flush)

    def writeSequence(self, data: list[bytes]) -> None:  # noqa: N802 - Twisted API
        for chunk in data:
            self.write(chunk)

    def flush(self) -> None:
        if self._scheduled is not None and self._scheduled.active():
            self._scheduled.cancel()
        self._scheduled = None
        pending, self._pending = self._pending, []
        if pending:
            self._transport.write(b"".join(pending))

    def loseConnection(self) -> None:  # noqa: N802 - Twisted API
        self.flush()
        if self._on_close is not None:  # before the client can see the channel close (session log order)
            self._on_close()
        self._transport.loseConnection()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


_NOT_PRINTABLE = re.compile(rb"[^\x20-\x7e]")
_ServerProtocol: Any = insults.ServerProtocol


class FastInputProtocol(_ServerProtocol):  # type: ignore[misc]
    """insults' terminal protocol, with each run of printable characters handed to the shell at once.

    The stock protocol calls the shell once per received character through four layers; a pushed
    batch of 25 config lines is ~1 000 characters, and that per-character path was a third of the
    simulator's CPU in the 50- and 500-switch benchmarks. Control characters (Enter, Backspace, ...) and
    escape sequences still take the stock path, one by one, in order.
    """

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted API
        shell = self.terminalProtocol
        if self.state != b"data" or b"\x1b" in data or not isinstance(shell, CoalescingShell):
            super().dataReceived(data)
            return
        start = 0
        for control in _NOT_PRINTABLE.finditer(data):
            if control.start() > start:
                shell.typed(data[start:control.start()])
            super().dataReceived(control.group())
            if self.terminalProtocol is not shell:
                return
            start = control.end()
        if start < len(data):
            shell.typed(data[start:])


class LabAvatar(SSHDemoAvatar):  # type: ignore[misc]
    on_end: Any = None  # called once when the session ends (logout from the shell or connection lost)

    def openShell(self, protocol: Any) -> None:  # noqa: N802 - Twisted API
        from twisted.internet import reactor  # the running reactor; imported late like fake-switches does

        server_protocol: Any = FastInputProtocol(CoalescingShell, self, switch_core=self.switch_core)
        server_protocol.makeConnection(CoalescingTransport(protocol, reactor, self.on_end))
        protocol.makeConnection(session.wrapProtocol(server_protocol))


class SessionEvents:
    """Appends ``<monotonic seconds> <switch> open|close`` per authenticated SSH session to a file.

    Tests read it to see how many sessions were open at once per switch or per group of switches
    (`lab.switches.max_open`), as the switch saw them, without relying on timing.
    """

    def __init__(self, path: str | None) -> None:
        self._file = open(path, "a", encoding="utf-8", buffering=1) if path else None  # noqa: SIM115 - process-long

    def record(self, switch: str, event: str) -> None:
        if self._file is not None:
            self._file.write(f"{time.monotonic():.6f} {switch} {event}\n")


@implementer(portal.IRealm)
class LabRealm:
    """fake-switches' SSH realm, with `LabAvatar` (the coalescing shell) and the session log."""

    def __init__(self, switch_core: Any, events: SessionEvents | None = None) -> None:
        self.switch_core = switch_core
        self.events = events or SessionEvents(None)

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:  # noqa: N802,N803 - Twisted API
        if conchinterfaces.IConchUser in interfaces:
            name = self.switch_core.switch_configuration.name
            ended = False

            def end() -> None:
                nonlocal ended
                if not ended:
                    ended = True
                    self.events.record(name, "close")

            self.events.record(name, "open")
            avatar = LabAvatar(avatarId, switch_core=self.switch_core)
            avatar.on_end = end
            return interfaces[0], avatar, end
        raise NotImplementedError("no supported interface")
