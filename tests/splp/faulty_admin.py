"""A fault-injecting forwarder in front of the REAL Express Gateway admin API.

Express Gateway runs for real in the lab but cannot be told to fail one request in the middle of a
sequence; this forwarder passes every request through unchanged except those a test arms with
`FaultyApp.fail` (a 500/409/401 with a body, as the gateway itself would answer), and ``down``/``up``
close and reopen its socket (connection refused: the gateway unreachable). What happened is checked
on the real gateway behind it.
"""

from __future__ import annotations

import requests
from werkzeug.wrappers import Request, Response

from tests.integrations.gateway.fakes._server import FaultyApp, Listener

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


class FaultyForwarder(FaultyApp):
    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.listener = Listener(self.admin, "eg-admin-forwarder")

    @property
    def url(self) -> str:
        return self.listener.url

    def start(self) -> FaultyForwarder:
        self.listener.start()
        return self

    def stop(self) -> None:
        self.listener.stop()

    down = stop

    def up(self) -> None:
        self.listener.start()

    def fault_body(self, status: int) -> str:
        return f"injected {status}"

    def route(self, request: Request) -> Response:
        query = ("?" + request.query_string.decode()) if request.query_string else ""
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        answer = requests.request(request.method, self.upstream + request.path + query, data=request.get_data(),
                                  headers=headers, timeout=30)
        kept = [(k, v) for k, v in answer.headers.items() if k.lower() not in _HOP]
        return Response(answer.content, status=answer.status_code, headers=kept)
