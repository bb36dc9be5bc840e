"""Serving the front door with uvicorn: alone (``spbe api-server``) or beside the engine (``spbe serve --http``).

uvicorn gets the settings' view of the proxy: ``proxy_headers`` only when ``http.trusted_proxies`` names
some, and then ``forwarded_allow_ips`` is exactly that list (uvicorn's own default would trust
127.0.0.1, which on a shared host is anyone with a local account). ``root_path`` goes to uvicorn (the
ASGI scope's ``root_path``, which FastAPI puts in URLs and the OpenAPI document). The server runs in a
thread of its own when it shares the process with the engine; `stop` ends it.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass, field

import uvicorn

from toolkit.desks.hub import DeskServices
from toolkit.errors import ConfigurationError
from toolkit.settings import Settings
from toolkit.web.app import create_app

log = logging.getLogger("spbe.web")


def uvicorn_config(services: DeskServices, settings: Settings, host: str, port: int) -> uvicorn.Config:
    http = settings.http
    trusted = list(http.trusted_proxies)
    return uvicorn.Config(create_app(services, settings), host=host, port=port, proxy_headers=bool(trusted),
                          forwarded_allow_ips=trusted or [], root_path=http.root_path, server_header=False,
                          date_header=True, log_config=None, access_log=False, lifespan="off",
                          timeout_graceful_shutdown=10, limit_concurrency=256)


@dataclass
class WebServer:
    """One uvicorn server on a socket bound before it starts, so the port (0: a free one) is known."""

    services: DeskServices
    settings: Settings
    host: str
    port: int
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _sock: socket.socket | None = None
    started: threading.Event = field(default_factory=threading.Event)

    def bind(self) -> str:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigurationError(f"cannot serve HTTP on {self.host}:{self.port}: {exc.strerror}",
                                     name="http.bind") from None
        sock.listen(128)
        sock.set_inheritable(True)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(self.services, self.settings, self.host, self.port))
        return self.url

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.settings.http.root_path}"

    def serve(self) -> None:
        """Run in this thread until `stop` (or SIGINT/SIGTERM when this is the main thread)."""
        if self._server is None:
            self.bind()
        assert self._server is not None and self._sock is not None
        log.info("HTTP API on %s/api/v1", self.url, extra={"event": "http.start", "url": self.url})
        self.started.set()
        self._server.run(sockets=[self._sock])

    def start(self) -> str:
        url = self.bind()
        self._thread = threading.Thread(target=self.serve, name="http", daemon=True)
        self._thread.start()
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._sock is not None:
            self._sock.close()
