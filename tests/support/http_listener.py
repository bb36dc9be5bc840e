"""One werkzeug server on 127.0.0.1 in a thread, stoppable and restartable on the same port.

Every fake of a system that cannot run here (Kong, WSO2, Keycloak) and the fault-injecting forwarder
in front of the real Express Gateway serve through this: werkzeug (a maintained WSGI toolkit) does the
HTTP, the fakes only model their product's API. ``stop()`` closes the socket, so a test sees
"connection refused" as from an unreachable server, and ``start()`` reopens it on the same port.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:  # tests read stderr clean
        pass


class Listener:
    def __init__(self, handler: Callable[[Request], Response], name: str, *, port: int = 0,
                 poll_interval: float = 0.05) -> None:
        self.handler = handler
        self.name = name
        self.port = port
        self.poll_interval = poll_interval
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.handler(Request(environ))(environ, start_response)

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": self.poll_interval},
                                        name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
