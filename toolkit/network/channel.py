"""Read a device's CLI until a pattern appears, woken by the data itself instead of polling.

netmiko's read loops sleep 10-25 ms between reads and clear buffers with 100 ms sleeps; on a device
that answers in a millisecond that sleeping was most of a push. `ExpectChannel` blocks in the SSH
channel's ``recv`` (woken by the data), so a read ends the moment the awaited prompt arrives and a
timeout only bounds how long a silent device is waited for. Output is decoded incrementally (a
multi-byte character split across two packets stays whole), ``\\r\\n`` / ``\\r`` become ``\\n``
and VT100 escape codes are dropped.
"""

from __future__ import annotations

import codecs
import re
import time
from typing import Protocol

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


class ChannelTimeout(TimeoutError):
    """The pattern did not appear in time; ``output`` is what had arrived (already masked by the caller)."""

    def __init__(self, what: str, output: str) -> None:
        super().__init__(what)
        self.output = output


class RawChannel(Protocol):
    """What `ExpectChannel` needs of a paramiko ``Channel``."""

    def settimeout(self, timeout: float | None) -> None: ...
    def recv(self, nbytes: int) -> bytes: ...
    def sendall(self, s: bytes) -> None: ...
    def close(self) -> None: ...


class PromptPattern(Protocol):
    """What `ExpectChannel.read_answer` needs of a prompt: a compiled regex, or `ios_cli.PromptLine`."""

    def search(self, text: str, pos: int = ...) -> re.Match[str] | None: ...


class ExpectChannel:
    """Send text and read until a regex matches the text received since the last read ended."""

    def __init__(self, channel: RawChannel) -> None:
        self._channel = channel
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._pending_cr = False

    def send(self, text: str) -> None:
        self._channel.sendall(text.encode())

    def read_until(self, pattern: re.Pattern[str], timeout: float) -> tuple[str, re.Match[str]]:
        """Text up to and including the first match of ``pattern``; what follows stays for the next read.

        Raises `ChannelTimeout` after ``timeout`` seconds without a match, EOFError when the device closed.
        """
        deadline = time.monotonic() + timeout
        start = 0
        while True:
            match = pattern.search(self._buffer, start)
            if match is not None:
                text, self._buffer = self._buffer[:match.end()], self._buffer[match.end():]
                return text, match
            # A new match can only end in new data; rescanning from a little before the old end keeps
            # a pattern that spans two packets findable without rescanning a long output each time.
            start = max(0, len(self._buffer) - 512)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChannelTimeout(f"no match for {pattern.pattern!r} in {timeout:g} s", self._buffer)
            self._receive(remaining)

    def read_answer(self, echo: str, prompt: PromptPattern, timeout: float) -> tuple[str, int, re.Match[str]]:
        """Text up to the first ``prompt`` match after the line holding ``echo`` (the device's echo of what
        was sent); also the offset where the answer starts (after the echo's line) and the match.

        A plain substring search and one precompiled prompt pattern per session: a regex per sent line
        (netmiko's way) cost more CPU in ``re.compile`` than all the reads together.
        """
        deadline = time.monotonic() + timeout
        while True:
            at = self._buffer.find(echo)
            newline = self._buffer.find("\n", at + len(echo)) if at >= 0 else -1
            if newline >= 0:
                match = prompt.search(self._buffer, newline + 1)
                if match is not None:
                    text, self._buffer = self._buffer[:match.end()], self._buffer[match.end():]
                    return text, newline + 1, match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChannelTimeout(f"no answer to {echo!r} in {timeout:g} s", self._buffer)
            self._receive(remaining)

    def _receive(self, timeout: float) -> None:
        # paramiko's recv waits on the channel's buffer condition, woken by the transport thread the
        # moment data arrives: no polling, and no descriptor per channel (select/poll on channel.fileno()
        # needs a pipe each: 500 sessions would be 1 000 more open files).
        self._channel.settimeout(timeout)
        try:
            data = self._channel.recv(65536)
        except TimeoutError:
            return
        if not data:
            raise EOFError("the device closed the session")
        self._buffer += self._clean(self._decoder.decode(data))

    def _clean(self, text: str) -> str:
        if self._pending_cr:
            text = "\r" + text
            self._pending_cr = False
        if text.endswith("\r"):  # "\r\n" may be split across packets: keep the "\r" until the next one
            text, self._pending_cr = text[:-1], True
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return _ANSI.sub("", text) if "\x1b" in text else text

    def close(self) -> None:
        self._channel.close()
