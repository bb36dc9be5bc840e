"""A FAKE GLPI: an HTTP server on loopback that answers GLPI's documented REST API (``apirest.php``).

GLPI (PHP + MariaDB) is not installable on this machine, so the GLPI desk client (`integrations.desks.glpi`)
is tested against this fake. It is not GLPI: it follows GLPI's own API documentation, ``apirest.md`` of the
glpi-project/glpi repository (10.0 branch), section by section, and nothing else:

* "Init session" / "Kill session": ``GET /apirest.php/initSession`` with ``App-Token`` and ``Authorization:
  user_token <token>`` answers ``{"session_token": ...}``; every other call needs ``Session-Token`` and
  ``App-Token`` (headers, or ``session_token``/``app_token`` in the query string). "Get full session",
  "Get my profiles", "Get my entities", "Get active profile".
* "Get an item", "Get all items", "Get sub items" (``Ticket/:id/ITILFollowup``, ``/TicketValidation``,
  ``/Document_Item``, ``/Log``), "Search items" (``search/Ticket`` with criteria), see `lab.glpi_fake_query`
  for ``range``/``Content-Range``/206 and the search engine's strict ``morethan``.
* "Add item(s)" (``{"input": {...}}``, 201, a list of inputs answers a list), "Update item(s)" (PUT or PATCH,
  ``[{"<id>": true, "message": ""}]``), "Upload a document file" (multipart with an ``uploadManifest`` JSON part
  and ``filename[0]``), "Download a document file" (``Accept: application/octet-stream`` or ``alt=media``).
* "Sanitized content": string fields come HTML-encoded unless the request says ``X-GLPI-Sanitized-Content:
  false``. "Errors": a JSON array ``["ERROR_...", "message"]`` with GLPI's status for each code; a GET with a
  body is refused (``ERROR_JSON_PAYLOAD_FORBIDDEN``).

The state is in memory (`lab.glpi_fake_store`), seeded with the directory's people (andi the applicant, sari
the koordinator, kadis the kepala dinas, tamu mapped to nobody, and the ``spbe`` bot account), three entities
and four ITIL categories. Tests act as a person through the HTTP API itself (`GlpiPerson`), inject faults
(`GlpiFake.fail_next`: an answer of 5xx, or a stall longer than the client's timeout, once for a path) and
control the clock (`GlpiFake.clock`), e.g. to write two records in the same second. The Fields plugin
(pluginsGLPI/fields, custom fields on tickets) is installed unless ``GlpiFake(fields_plugin=False)``; what of it
is modelled, and from which of its sources, is in `lab.glpi_fake_fields`. Profiles and their rights
(``getActiveProfile``, ``getMyProfiles``) are in `lab.glpi_fake_rights`.
"""

from __future__ import annotations

import html
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lab.glpi_fake_people import GlpiPerson
from lab.glpi_fake_query import get_item, list_items, php_params, search
from lab.glpi_fake_store import GlpiApiError, GlpiStore

STATUS_TEXT = {200: "OK", 201: "Created", 206: "Partial Content", 207: "Multi-Status"}


class FakeClock:
    """The fake's wall clock, in the server's time zone (naive, as GLPI stores dates); frozen when set."""

    def __init__(self) -> None:
        self.frozen: datetime | None = None

    def __call__(self) -> datetime:
        return self.frozen or datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    def freeze(self, at: datetime | None = None) -> datetime:
        self.frozen = (at or datetime.now(UTC)).replace(tzinfo=None, microsecond=0)
        return self.frozen

    def tick(self, seconds: float = 1.0) -> datetime:
        self.frozen = self() + timedelta(seconds=seconds)
        return self.frozen


@dataclass
class Fault:
    method: str
    path: str  # prefix of the path after /apirest.php, e.g. "/Ticket/3" or "/initSession"
    status: int = 500
    stall_s: float = 0.0
    times: int = 1
    then: Callable[[], None] | None = None  # run once the request was carried out (status 0)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: Nagle would hold the body 40 ms

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: tests read fake.calls
        return

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = parts.path
        fake.record(method, path, dict(self.headers))
        fault = fake.take_fault(method, path.removeprefix("/apirest.php"))
        if fault is not None and fault.status:
            time.sleep(fault.stall_s)
            self._send(fault.status, b"<html><body>Internal Server Error</body></html>", "text/html")
            return
        try:
            status, payload, headers = self._route(method, path, parse_qsl(parts.query, keep_blank_values=True), body)
        except GlpiApiError as exc:
            status, payload, headers = exc.status, [exc.code, exc.message], {}
        if fault is not None:  # status 0: the request is carried out, only its answer is late
            time.sleep(fault.stall_s)
            if fault.then is not None:
                fault.then()
        if isinstance(payload, bytes):
            self._send(status, payload, "application/octet-stream", headers)
            return
        if self.headers.get("X-GLPI-Sanitized-Content", "true").lower() != "false":
            payload = _sanitize(payload)
        self._send(status, json.dumps(payload).encode(), "application/json; charset=UTF-8", headers)

    def _send(self, status: int, data: bytes, media_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status, STATUS_TEXT.get(status))
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str, path: str, query: list[tuple[str, str]], body: bytes
               ) -> tuple[int, Any, dict[str, str]]:
        fake, store = self.server.fake, self.server.fake.store
        if not path.startswith("/apirest.php/"):
            raise GlpiApiError(404, "ERROR_METHOD_NOT_ALLOWED", "Only apirest.php is served here")
        segments = [s for s in path.removeprefix("/apirest.php/").split("/") if s]
        params = php_params(query)
        app_token = self.headers.get("App-Token") or params.get("app_token")
        if not app_token:
            raise GlpiApiError(400, "ERROR_APP_TOKEN_PARAMETERS_MISSING", "missing parameter app_token")
        if app_token != fake.store.app_token:
            raise GlpiApiError(400, "ERROR_WRONG_APP_TOKEN_PARAMETER", "parameter app_token seems wrong")
        if method == "GET" and body:
            raise GlpiApiError(400, "ERROR_JSON_PAYLOAD_FORBIDDEN", "GET Request should not have json payload")
        if segments[:1] == ["initSession"]:
            return 200, self._init_session(params), {}
        session = store.session(self.headers.get("Session-Token") or params.get("session_token"))
        uid = session.user_id
        head = segments[0] if segments else ""
        if head == "killSession":
            store.kill_session(session.token)
            return 200, True, {}
        if head == "getFullSession":
            return 200, {"session": store.full_session(uid)}, {}
        if head == "getMyProfiles":
            return 200, {"myprofiles": store.my_profiles(uid)}, {}
        if head == "getActiveProfile":
            return 200, {"active_profile": store.active_profile(uid)}, {}
        if head == "getMyEntities":
            return 200, {"myentities": [{"id": e["id"], "name": e["completename"]}
                                        for e in store.items["Entity"].values()]}, {}
        if head == "search" and len(segments) == 2 and method == "GET":
            result, start, end, total = search(store, uid, segments[1], params)
            return _paged(200, result, segments[1], start, end, total)
        if head not in store.items:  # the core's itemtypes and those a plugin installed
            raise GlpiApiError(400, "ERROR_ITEMTYPE_NOT_FOUND_NOR_COMMONDBTM", f"resource {head} not found")
        item_id = _int(segments[1]) if len(segments) > 1 else None
        if method == "GET":
            if len(segments) == 3 and item_id is not None:
                rows, start, end, total = list_items(store, uid, segments[2], params, parent=(head, item_id))
                return _paged(200, rows, segments[2], start, end, total)
            if item_id is None:
                rows, start, end, total = list_items(store, uid, head, params)
                return _paged(200, rows, head, start, end, total)
            row = get_item(store, uid, head, item_id)
            wants_file = "application/octet-stream" in self.headers.get("Accept", "") or params.get("alt") == "media"
            if head == "Document" and wants_file:
                return 200, store.files[item_id], {}
            return 200, row, {}
        if method == "POST" and item_id is None:
            return self._add(head, uid, body)
        if method in ("PUT", "PATCH") and item_id is not None:
            data = _json(body).get("input")
            if not isinstance(data, dict):
                raise GlpiApiError(400, "ERROR_BAD_ARRAY", "input parameter must be an array of objects")
            return 200, [store.update(uid, head, item_id, data)], {}
        raise GlpiApiError(405, "ERROR_METHOD_NOT_ALLOWED", f"{method} is not allowed on {head} here")

    def _init_session(self, params: dict[str, Any]) -> dict[str, Any]:
        store = self.server.fake.store
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("user_token ").strip() if auth.startswith("user_token ") else params.get("user_token")
        if auth.startswith("Basic "):
            raise GlpiApiError(400, "ERROR_LOGIN_WITH_CREDENTIALS_DISABLED", "login with credentials is disabled")
        if not token:
            raise GlpiApiError(400, "ERROR_LOGIN_PARAMETERS_MISSING", "parameter(s) login, password or user_token"
                               " are missing")
        session_token = store.init_session(str(token))
        answer: dict[str, Any] = {"session_token": session_token}
        if str(params.get("get_full_session", "")).lower() in ("1", "true"):
            answer["session"] = store.full_session(store.session(session_token).user_id)
        return answer

    def _add(self, itemtype: str, uid: int, body: bytes) -> tuple[int, Any, dict[str, str]]:
        store = self.server.fake.store
        media_type = self.headers.get("Content-Type", "")
        upload: tuple[str, bytes] | None = None
        if media_type.startswith("multipart/form-data"):
            manifest, upload = _multipart(media_type, body)
        else:
            manifest = _json(body)
        data = manifest.get("input")
        if isinstance(data, list):
            results = []
            for entry in data:
                try:
                    results.append(store.add(uid, itemtype, entry))
                except GlpiApiError as exc:
                    results.append({"id": False, "message": exc.message})
            return (201 if all(r["id"] for r in results) else 207), results, {}
        if not isinstance(data, dict):
            raise GlpiApiError(400, "ERROR_BAD_ARRAY", "input parameter must be an array of objects")
        result = store.add(uid, itemtype, data, upload)
        return 201, result, {"Location": f"{self.server.fake.url}/{itemtype}/{result['id']}"}


def _paged(status: int, payload: Any, itemtype: str, start: int, end: int, total: int
           ) -> tuple[int, Any, dict[str, str]]:
    headers = {"Content-Range": f"{start}-{end}/{total}", "Accept-Range": f"{itemtype} 1000"}
    return (206 if end < total - 1 else status), payload, headers


def _int(text: str) -> int:
    if not text.isdigit():
        raise GlpiApiError(400, "ERROR_ITEM_NOT_FOUND", "id must be an integer")
    return int(text)


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise GlpiApiError(400, "ERROR_JSON_BAD_FORMAT", "JSON payload seems not valid") from None
    if not isinstance(data, dict):
        raise GlpiApiError(400, "ERROR_BAD_ARRAY", "input parameter must be an array of objects")
    return data


def _multipart(media_type: str, body: bytes) -> tuple[dict[str, Any], tuple[str, bytes] | None]:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + media_type.encode() + b"\r\n\r\n" + body)
    manifest: dict[str, Any] = {}
    upload: tuple[str, bytes] | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        if name == "uploadManifest":
            manifest = _json(content)
        elif isinstance(name, str) and name.startswith("filename[") and upload is None:
            upload = (str(part.get_filename() or "file"), content)
    if not manifest:
        raise GlpiApiError(400, "ERROR_UPLOAD_FILE_TOO_BIG_POST_MAX_SIZE", "uploadManifest is missing")
    return manifest, upload


def _sanitize(value: Any) -> Any:
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, list):
        return [_sanitize(v) for v in value]
    if isinstance(value, dict):
        return {k: _sanitize(v) for k, v in value.items()}
    return value


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: GlpiFake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out and left is what a stall is for; anything else is printed as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class GlpiFake:
    """The fake server; ``url`` ends with ``/apirest.php``. Use as a context manager or start()/stop()."""

    def __init__(self, fields_plugin: bool = True) -> None:
        """``fields_plugin``: the Fields plugin is installed, with the request form's container
        (`lab.glpi_fake_fields`); without it GLPI has its core fields only."""
        self.clock = FakeClock()
        self.store = GlpiStore(clock=self.clock)
        if fields_plugin:
            self.store.install_fields_plugin()
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/apirest.php"

    def start(self) -> GlpiFake:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="glpi-fake",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever, which never ran otherwise
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> GlpiFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def app_token(self) -> str:
        return self.store.app_token

    def user_token(self, login: str) -> str:
        return str(self.store.user_by_login(login)["api_token"])

    def person(self, login: str) -> GlpiPerson:
        return GlpiPerson(self.url, self.app_token, self.user_token(login))

    def fail_next(self, method: str, path: str, status: int = 500, stall_s: float = 0.0, times: int = 1,
                  then: Callable[[], None] | None = None) -> None:
        """The next ``times`` requests of ``method`` whose path starts with ``path`` answer ``status`` after
        ``stall_s`` seconds without being carried out; with ``status=0`` they are carried out and only the answer
        is ``stall_s`` late, and ``then`` runs before the answer (a change between two pages). A stall longer
        than the client's timeout is how a timeout is injected."""
        with self._lock:
            self._faults.append(Fault(method, path, status, stall_s, times, then))

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and path.startswith(fault.path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def record(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.calls.append((method, path, headers))

