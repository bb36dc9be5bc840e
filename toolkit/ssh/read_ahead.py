"""A socket whose reads fetch whatever has arrived at once, for paramiko's transport thread.

paramiko's packetizer reads each SSH packet in two or three exact-size ``recv`` calls (the first block,
the rest, the MAC), each a ``poll`` and a ``recv`` system call on a socket with a timeout: ~50 system
calls per device session. `ReadAheadSocket` asks the kernel for up to 64 KiB once and serves the
packetizer's small reads from that, so a burst of packets (an echo, the output, the prompt) costs one
call. The byte stream paramiko sees is unchanged; writes, timeouts and closing go to the socket.
"""

from __future__ import annotations

import socket
from typing import Any

_CHUNK = 65536


class ReadAheadSocket:
    """Wraps a connected socket; only paramiko's transport thread reads from it (one reader)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._data = b""
        self._pos = 0

    def recv(self, n: int) -> bytes:
        if self._pos >= len(self._data):
            data = self._sock.recv(max(n, _CHUNK))  # a timeout or an error propagates as from the socket
            if len(data) <= n:
                return data
            self._data, self._pos = data, 0
        end = self._pos + n
        chunk = self._data[self._pos:end]
        self._pos = end
        return chunk

    def send(self, data: bytes) -> int:
        return self._sock.send(data)

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(data)

    def settimeout(self, timeout: float | None) -> None:
        self._sock.settimeout(timeout)

    def close(self) -> None:
        self._sock.close()

    @property
    def _closed(self) -> bool:  # paramiko's Transport.stop_thread looks at it
        return bool(getattr(self._sock, "_closed", False))

    def __getattr__(self, name: str) -> Any:  # getpeername, fileno, setsockopt, ...
        return getattr(self._sock, name)
