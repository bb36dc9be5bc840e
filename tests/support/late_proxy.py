"""A loopback TCP proxy that delivers every write and holds back the answer to it: a desk that answers late.

Requests pass through at once, so the desk really does what a ``PUT``/``POST`` asks; the bytes of the answer
to one are forwarded only after ``delay_s``, by which time a client with a shorter timeout has given up. That
is the case an outbox's idempotency marker exists for (the write happened, the client does not know), made
real rather than mocked. Answers to reads (``GET``) are not delayed, so the client's own look-up before a
write still works.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType


class LateProxy:
    def __init__(self, upstream_host: str, upstream_port: int, delay_s: float, port: int = 0) -> None:
        """``port``: listen there (a desk that comes back at the address it had); 0 for a free one."""
        self.upstream = (upstream_host, upstream_port)
        self.delay_s = delay_s
        self._sockets: list[socket.socket] = []  # every connection, cut when the proxy stops (a desk gone down)
        self._server = socket.create_server(("127.0.0.1", port))
        self.port = int(self._server.getsockname()[1])
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._accept, name="late-proxy", daemon=True)

    def __enter__(self) -> LateProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        _shut(self._server)  # wakes the blocked accept (closing alone would leave it listening on Linux)
        self._server.close()
        for sock in self._sockets:
            _shut(sock)
        self._thread.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=self.delay_s + 5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream, timeout=30)
            self._sockets += [client, upstream]
            late = threading.Event()  # set while the answer to a write is owed
            for target in (self._requests, self._answers):
                thread = threading.Thread(target=target, args=(client, upstream, late), daemon=True)
                self._threads.append(thread)
                thread.start()

    @staticmethod
    def _requests(client: socket.socket, upstream: socket.socket, late: threading.Event) -> None:
        try:
            while chunk := client.recv(65536):
                if chunk.startswith((b"PUT ", b"POST ")):
                    late.set()
                upstream.sendall(chunk)
        except OSError:
            pass
        finally:
            _shut(upstream)

    def _answers(self, client: socket.socket, upstream: socket.socket, late: threading.Event) -> None:
        try:
            while chunk := upstream.recv(65536):
                if late.is_set():
                    time.sleep(self.delay_s)
                    late.clear()
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            _shut(client)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
