"""What both gateway fakes share: a werkzeug server on 127.0.0.1 (`tests.support.http_listener`) and fault
injection.

werkzeug (a maintained WSGI toolkit) does the HTTP; the fakes only model each product's API. Faults
answer the next N requests matching a method and path pattern with a chosen status and body, and can
wait for ``after`` matching requests first, so a test can fail a call *mid-way* through a sequence.
``down()`` closes the socket (connection refused, as an unreachable gateway) and ``up()`` reopens it on
the same port.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.support.http_listener import Listener

__all__ = ["Fault", "FaultyApp", "HttpError", "Listener", "body_of", "json_response"]


@dataclass
class Fault:
    status: int
    method: str | None
    path: re.Pattern[str]
    times: int
    after: int
    body: Any


class HttpError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def json_response(body: Any, status: int = 200) -> Response:
    if body is None:
        return Response(status=status)
    return Response(json.dumps(body, default=str), status=status, mimetype="application/json")


class FaultyApp:
    """Base of a fake: one lock around every request, faults checked before the product logic."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []

    def fail(self, status: int, path: str = ".*", method: str | None = None, times: int = 1, after: int = 0,
             body: Any = None) -> None:
        """Answer the next ``times`` matching requests with ``status``, after letting ``after`` of them pass."""
        with self.lock:
            self.faults.append(Fault(status, method, re.compile(path), times, after, body))

    def _fault(self, request: Request) -> Response | None:
        for fault in self.faults:
            if fault.times <= 0 or (fault.method and fault.method != request.method):
                continue
            if not fault.path.search(request.path):
                continue
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.times -= 1
            return json_response(fault.body if fault.body is not None else self.fault_body(fault.status), fault.status)
        return None

    def fault_body(self, status: int) -> Any:
        return {"message": f"injected {status}"}

    def admin(self, request: Request) -> Response:
        with self.lock:
            self.requests.append((request.method, request.path))
            injected = self._fault(request)
            if injected is not None:
                return injected
            try:
                return self.route(request)
            except HttpError as exc:
                return json_response(exc.body, exc.status)

    def route(self, request: Request) -> Response:
        raise NotImplementedError


def body_of(request: Request) -> dict[str, Any]:
    if request.mimetype == "application/x-www-form-urlencoded":
        return dict(request.form)
    if not request.data:
        return {}
    try:
        data = json.loads(request.data)
    except ValueError:
        raise HttpError(400, {"message": "Cannot parse JSON body"}) from None
    if not isinstance(data, dict):
        raise HttpError(400, {"message": "body must be an object"})
    return data
