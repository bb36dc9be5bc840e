"""A reference "Aplikasi Helpdesk SPBE": our own small home-grown helpdesk with a REST API, for the ``rest`` desk.

Not a fake of a product: it is the kind of application a Diskominfo writes itself, kept here so the tests and the
demo have a real HTTP desk to drive (`integrations.desks.rest`, mapped by ``lab/desks/rest.yml``). It runs on
127.0.0.1 on a free port, in a thread (werkzeug), with its state in memory.

API (JSON; every request carries ``Authorization: Bearer <token>``; errors are ``{"pesan": "..."}``):

* ``GET  /api/v1/saya`` → ``{"data": {"login", "nama", "peran"}}`` (who the token is); ``GET /api/v1/saya/hak``
  → ``{"data": {"login", "hak": [...]}}`` (what it may do: `lab.reference_desk_rights`)
* ``GET  /api/v1/status`` | ``/api/v1/kolom`` | ``/api/v1/antrian`` → ``{"data": [{"nama"}]}`` (queues:
  ``{"kode", "nama"}``); ``GET /api/v1/pengguna`` → ``{"data": [{"login", "nama", "aktif"}]}``
* ``GET  /api/v1/tiket?antrian=Q&diperbarui_sejak=ISO&halaman=1&per_halaman=50`` → ``{"data": [tiket],
  "meta": {"halaman", "per_halaman", "offset", "jumlah"}}``: tickets of queue Q updated AT OR AFTER the time
  (seconds), oldest update first (then by id; ``urut=terbaru``: newest first); ``offset=N&limit=M`` instead of
  ``halaman``/``per_halaman`` too
* ``POST /api/v1/tiket`` ``{"antrian", "judul", "uraian", "jenis", "kolom": {...}}`` → 201 ``{"data": tiket}``
* ``GET  /api/v1/tiket/<id>`` → ``{"data": tiket}``: ``{"id", "antrian", "jenis", "judul", "uraian",
  "pemohon": {"login"}, "status", "kolom": {name: value}, "lampiran": [{"id", "nama", "tipe", "ukuran",
  "keterangan", "oleh"}], "dibuat", "diperbarui", "tautan"}``
* ``PATCH /api/v1/tiket/<id>/kolom`` ``{"kolom": {...}}`` → 200 ``{"data": riwayat}`` (a change with
  ``"perubahan_kolom": [{"kolom", "lama", "baru"}]``)
* ``GET  /api/v1/tiket/<id>/riwayat`` → ``{"data": [riwayat]}``: ``{"id", "waktu", "oleh": {"login"},
  "catatan", "status_lama", "status_baru", "perubahan_kolom"}``, oldest first
* ``POST /api/v1/tiket/<id>/catatan`` ``{"isi"}`` → 201 ``{"data": riwayat}``
* ``POST /api/v1/tiket/<id>/status`` ``{"status", "catatan"}`` → 201 ``{"data": riwayat}``; an unknown status
  → 422; only koordinator, kepala dinas and the bot may (403 otherwise), and the applicant to
  ``Diajukan ulang`` on their own ticket (answering a return)
* an upload is also a change (``"lampiran": nama``, its ``keterangan`` as the note)
* ``POST /api/v1/tiket/<id>/lampiran`` multipart ``berkas`` + ``keterangan`` → 201 ``{"data": lampiran}``
* ``GET  /api/v1/tiket/<id>/lampiran/<nama>`` → the file's bytes
* ``GET  /api/tiket/<id>`` (the old API) → 308 to ``/api/v1/tiket/<id>``

Webhook: with ``webhook_url`` and ``webhook_secret`` set, every change (an opened ticket, a note, a status, a field,
a file) is announced by ``POST webhook_url`` with ``{"issue_key": "<id>"}``, signed the way spbe's
``/hooks/<desk>`` checks (``X-Spbe-Signature: sha256=hex(HMAC-SHA256(secret, "<X-Spbe-Timestamp>." + body))``,
``X-Spbe-Delivery`` unique), from a sender thread so the receiver can read the ticket back at once;
``hooks.deliveries`` lists ``(id, HTTP status or error name)``.

Times are ISO 8601 UTC at SECOND resolution (``2026-12-07T03:00:00Z``), like most such applications, so two
records of the same second are indistinguishable by time: exactly what a poller must survive. ``clock`` may be
replaced (tests freeze it). Faults for tests: ``desk.faults.add("/api/v1/tiket/1/catatan", "500", count=2)``;
kinds ``500``, ``401``, ``hang`` (answer after ``hang_s``) and ``late`` (do the write, then answer after
``hang_s``: the client's answer is lost but the write happened).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from lab.reference_desk_io import Faults, HookSender
from lab.reference_desk_rights import default_rights

USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "andi": ("Andi Pratama", ("pemohon",)),
    "sari": ("Sari Wulandari", ("koordinator",)),
    "kadis": ("Kepala Dinas", ("kepala-dinas",)),
    "kadis2": ("Kepala Dinas (Pemohon)", ("pemohon", "kepala-dinas")),
    "tamu": ("Tamu", ("pemohon",)),
    "spbe": ("Bot SPBE", ("bot",)),
}
STATUSES = ("Baru", "Diperiksa", "Disetujui", "Ditunda", "Selesai", "Ditutup", "Dikembalikan", "Diajukan ulang")
RESUBMITTED = "Diajukan ulang"  # the one status an applicant may set, on their own ticket (a returned request)
QUEUES = {"spbe-uji": "Uji SPBE", "umum": "Layanan umum"}
FIELDS = ("Layanan", "Instansi", "Perihal", "Produk", "Nama aplikasi", "Nama host", "Jumlah vCPU", "Memori (GB)",
          "Penyimpanan (GB)", "Backup", "UAT", "Email kontak", "Keterangan", "Kekurangan")
DECIDERS = {"koordinator", "kepala-dinas", "bot"}


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Ticket:
    id: int
    queue: str
    kind: str
    title: str
    body: str
    author: str
    status: str
    fields: dict[str, str]
    created: datetime
    updated: datetime
    files: list[dict[str, Any]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


class ReferenceDesk:
    """The application: state, routes, a werkzeug server in a thread. ``tokens[login]`` is each user's token."""

    def __init__(self, *, clock: Callable[[], datetime] = _now, hang_s: float = 3.0, webhook_url: str | None = None,
                 webhook_secret: str | None = None, tokens: dict[str, str] | None = None) -> None:
        """``tokens``: login -> bearer token (a demo passes the ones its settings.secrets hold); default random."""
        self.clock = clock
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.hooks = HookSender()
        self.hang_s = hang_s
        if set(tokens or {}) - set(USERS):
            raise ValueError(f"tokens for unknown accounts: {sorted(set(tokens or {}) - set(USERS))}")
        self.tokens = {login: f"hd-{login}-{secrets.token_hex(12)}" for login in USERS} | dict(tokens or {})
        self._by_token = {token: login for login, token in self.tokens.items()}
        self.tickets: dict[int, Ticket] = {}
        self.faults = Faults()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for tests
        self.rights = default_rights(USERS)  # login -> rights; tests may take one away
        self._seq = 0
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._routes = Map([
            Rule("/api/v1/saya", endpoint="me"),
            Rule("/api/v1/saya/hak", endpoint="my_rights"),
            Rule("/api/v1/status", endpoint="statuses"),
            Rule("/api/v1/kolom", endpoint="fields"),
            Rule("/api/v1/antrian", endpoint="queues"),
            Rule("/api/v1/pengguna", endpoint="users"),
            Rule("/api/v1/tiket", endpoint="tickets", methods=["GET", "POST"]),
            Rule("/api/v1/tiket/<int:tid>", endpoint="ticket"),
            Rule("/api/tiket/<int:tid>", redirect_to="/api/v1/tiket/<tid>"),  # the old API's path
            Rule("/api/v1/tiket/<int:tid>/kolom", endpoint="set_fields", methods=["PATCH"]),
            Rule("/api/v1/tiket/<int:tid>/riwayat", endpoint="history"),
            Rule("/api/v1/tiket/<int:tid>/catatan", endpoint="note", methods=["POST"]),
            Rule("/api/v1/tiket/<int:tid>/status", endpoint="status", methods=["POST"]),
            Rule("/api/v1/tiket/<int:tid>/lampiran", endpoint="upload", methods=["POST"]),
            Rule("/api/v1/tiket/<int:tid>/lampiran/<path:name>", endpoint="download"),
        ])

    # ------------------------------------------------------------------ server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ReferenceDesk:
        self._stopping.clear()
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True, request_handler=_Quiet)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="reference-desk", daemon=True)
        self._thread.start()
        self.hooks.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # hanging answers end now
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.hooks.stop()

    def _notify(self, ticket: Ticket) -> None:
        if self.webhook_url and self.webhook_secret:
            self.hooks.announce(self.webhook_url, self.webhook_secret, str(ticket.id))

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            return self.handle(request)(environ, start_response)
        finally:
            request.close()  # an upload's spooled file

    # ------------------------------------------------------------------ helpers used by tests and the demo

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def open(self, login: str, queue: str, title: str, body: str = "", fields: dict[str, str] | None = None,
             kind: str = "Permintaan") -> Ticket:
        """A ticket opened by ``login`` (what ``POST /api/v1/tiket`` does)."""
        with self._lock:
            now = self.clock()
            ticket = Ticket(self._next(), queue, kind, title, body, login, STATUSES[0], dict(fields or {}), now, now)
            self.tickets[ticket.id] = ticket
            self._notify(ticket)
            return ticket

    def record(self, ticket: Ticket, login: str, *, note: str = "", status: str | None = None,
               fields: dict[str, str] | None = None) -> dict[str, Any]:
        """One change (a note, a status change, field edits), stamped with the clock's second."""
        with self._lock:
            now = self.clock()
            changed = [{"kolom": k, "lama": ticket.fields.get(k), "baru": v} for k, v in (fields or {}).items()]
            ticket.fields.update(fields or {})
            entry = {"id": f"r{self._next()}", "waktu": stamp(now), "oleh": {"login": login}, "catatan": note,
                     "status_lama": ticket.status if status else None, "status_baru": status,
                     "perubahan_kolom": changed}
            if status:
                ticket.status = status
            ticket.history.append(entry)
            ticket.updated = now
            self._notify(ticket)
            return entry

    def add_file(self, ticket: Ticket, login: str, name: str, media_type: str, content: bytes,
                 description: str = "") -> dict[str, Any]:
        with self._lock:
            now = self.clock()
            item = {"id": f"l{self._next()}", "nama": name, "tipe": media_type, "ukuran": len(content),
                    "keterangan": description, "oleh": login, "waktu": stamp(now)}
            ticket.files = [f for f in ticket.files if f["nama"] != name] + [item]
            ticket.blobs[name] = content
            ticket.history.append({"id": f"r{self._next()}", "waktu": stamp(now), "oleh": {"login": login},
                                   "catatan": description, "lampiran": name, "status_lama": None,
                                   "status_baru": None, "perubahan_kolom": []})
            ticket.updated = now
            self._notify(ticket)
            return item

    def view(self, ticket: Ticket) -> dict[str, Any]:
        return {"id": ticket.id, "antrian": ticket.queue, "jenis": ticket.kind, "judul": ticket.title,
                "uraian": ticket.body, "pemohon": {"login": ticket.author}, "status": ticket.status,
                "kolom": dict(ticket.fields), "lampiran": [dict(f) for f in ticket.files],
                "dibuat": stamp(ticket.created), "diperbarui": stamp(ticket.updated),
                "tautan": f"{self.url}/tiket/{ticket.id}"}

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        self.requests.append((request.method, request.path))
        taken = self.faults.take(request.method, request.path)
        fault, delay = taken if taken else (None, None)
        delay = self.hang_s if delay is None else delay
        if fault == "500":
            return _error(500, "kesalahan internal")
        if fault == "401":
            return _error(401, "token tidak sah")
        if fault == "hang":
            self._stopping.wait(delay)
        login = self._by_token.get(request.headers.get("Authorization", "").removeprefix("Bearer ").strip())
        if login is None:
            return _error(401, "token tidak sah")
        try:
            endpoint, args = self._routes.bind_to_environ(request.environ).match()
        except RequestRedirect as exc:  # "/tiket/1/" -> "/tiket/1", as werkzeug's routing does
            return exc.get_response(request.environ)
        except HTTPException as exc:  # NotFound, MethodNotAllowed
            code = exc.code or 404
            return _error(code, "tidak ditemukan" if code == 404 else "metode tidak diizinkan")
        with self._lock:
            response: Response = getattr(self, f"_{endpoint}")(request, login, **args)
        if fault == "late":
            self._stopping.wait(delay)
        return response

    def _ticket_or_404(self, tid: int) -> Ticket | Response:
        return self.tickets.get(tid) or _error(404, f"tiket {tid} tidak ditemukan")

    def _me(self, request: Request, login: str) -> Response:
        return _ok({"login": login, "nama": USERS[login][0], "peran": list(USERS[login][1])})

    def _my_rights(self, request: Request, login: str) -> Response:
        return _ok({"login": login, "hak": sorted(self.rights[login])})

    def _statuses(self, request: Request, login: str) -> Response:
        return _ok([{"nama": s} for s in STATUSES])

    def _fields(self, request: Request, login: str) -> Response:
        return _ok([{"nama": f} for f in FIELDS])

    def _queues(self, request: Request, login: str) -> Response:
        return _ok([{"kode": k, "nama": v} for k, v in QUEUES.items()])

    def _users(self, request: Request, login: str) -> Response:
        return _ok([{"login": k, "nama": v[0], "aktif": True} for k, v in USERS.items()])

    def _tickets(self, request: Request, login: str) -> Response:
        if request.method == "POST":
            body = request.get_json(silent=True) or {}
            if body.get("antrian") not in QUEUES or not body.get("judul"):
                return _error(422, "antrian dan judul wajib diisi")
            ticket = self.open(login, body["antrian"], body["judul"], body.get("uraian", ""),
                               {str(k): str(v) for k, v in (body.get("kolom") or {}).items()},
                               body.get("jenis", "Permintaan"))
            return _ok(self.view(ticket), 201)
        args = request.args
        try:
            if "offset" in args:  # the other paging style some such applications use
                size = min(int(args.get("limit", "50")), 200)
                start, page = int(args["offset"]), 0
            else:
                page, size = int(args.get("halaman", "1")), min(int(args.get("per_halaman", "50")), 200)
                start = (page - 1) * size
            since = datetime.fromisoformat(args["diperbarui_sejak"].replace("Z", "+00:00")) \
                if "diperbarui_sejak" in args else None
        except ValueError:
            return _error(422, "parameter halaman, per_halaman, offset, limit atau diperbarui_sejak tidak sah")
        if start < 0 or size < 1:
            return _error(422, "halaman dan per_halaman mulai dari 1")
        rows = sorted((t for t in self.tickets.values()
                       if (not args.get("antrian") or t.queue == args["antrian"])
                       and (since is None or t.updated >= since)), key=lambda t: (t.updated, t.id),
                      reverse=args.get("urut") == "terbaru")
        meta = {"halaman": page, "per_halaman": size, "offset": start, "jumlah": len(rows)}
        return Response(json.dumps({"data": [self.view(t) for t in rows[start:start + size]], "meta": meta}),
                        200, content_type="application/json")

    def _ticket(self, request: Request, login: str, tid: int) -> Response:
        ticket = self._ticket_or_404(tid)
        return ticket if isinstance(ticket, Response) else _ok(self.view(ticket))

    def _history(self, request: Request, login: str, tid: int) -> Response:
        ticket = self._ticket_or_404(tid)
        return ticket if isinstance(ticket, Response) else _ok(list(ticket.history))

    def _set_fields(self, request: Request, login: str, tid: int) -> Response:
        ticket = self._ticket_or_404(tid)
        if isinstance(ticket, Response):
            return ticket
        fields = (request.get_json(silent=True) or {}).get("kolom")
        if not isinstance(fields, dict) or any(k not in FIELDS for k in fields):
            return _error(422, "kolom tidak dikenal")
        return _ok(self.record(ticket, login, fields={str(k): str(v) for k, v in fields.items()}))

    def _note(self, request: Request, login: str, tid: int) -> Response:
        ticket = self._ticket_or_404(tid)
        if isinstance(ticket, Response):
            return ticket
        if "catatan.tulis" not in self.rights[login]:
            return _error(403, f"{login} tidak boleh menulis catatan")
        text = (request.get_json(silent=True) or {}).get("isi")
        if not isinstance(text, str) or not text.strip():
            return _error(422, "isi catatan wajib diisi")
        return _ok(self.record(ticket, login, note=text), 201)

    def _status(self, request: Request, login: str, tid: int) -> Response:
        ticket = self._ticket_or_404(tid)
        if isinstance(ticket, Response):
            return ticket
        body = request.get_json(silent=True) or {}
        own_resubmission = body.get("status") == RESUBMITTED and ticket.author == login
        if not DECIDERS & set(USERS[login][1]) and not own_resubmission:
            return _error(403, f"{login} tidak boleh mengubah status menjadi '{body.get('status')}'")
        if body.get("status") not in STATUSES:
            return _error(422, f"status '{body.get('status')}' tidak dikenal")
        return _ok(self.record(ticket, login, note=str(body.get("catatan") or ""), status=body["status"]), 201)

    def _upload(self, request: Request, login: str, tid: int) -> Response:
        ticket = self._ticket_or_404(tid)
        if isinstance(ticket, Response):
            return ticket
        if "lampiran.tulis" not in self.rights[login]:
            return _error(403, f"{login} tidak boleh mengunggah lampiran")
        upload = request.files.get("berkas")
        if upload is None or not upload.filename:
            return _error(422, "berkas wajib diunggah")
        item = self.add_file(ticket, login, upload.filename, upload.mimetype or "application/octet-stream",
                             upload.read(), request.form.get("keterangan", ""))
        return _ok(item, 201)

    def _download(self, request: Request, login: str, tid: int, name: str) -> Response:
        ticket = self._ticket_or_404(tid)
        if isinstance(ticket, Response):
            return ticket
        name = unquote(name)
        if name not in ticket.blobs:
            return _error(404, f"lampiran {name} tidak ditemukan")
        kind = next((f["tipe"] for f in ticket.files if f["nama"] == name), "application/octet-stream")
        return Response(ticket.blobs[name], 200, content_type=kind)


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _ok(data: Any, status: int = 200) -> Response:
    return Response(json.dumps({"data": data}), status, content_type="application/json")


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"pesan": message}), status, content_type="application/json")
