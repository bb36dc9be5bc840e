"""A fake of the BSrE (BSSN) TTE API for tests: the real service cannot be reached from here.

It follows the API `integrations.signing.bsre` calls (field names and answers as agency integrations
use them): ``POST /api/sign/pdf`` (multipart ``file``, ``nik``, ``passphrase``, ``tampilan``, ``page``,
``xAxis``, ``yAxis``, ``width``, ``height``; Basic auth) answers the signed PDF with header
``id_dokumen``; ``GET /api/sign/download/<id>``; ``GET /api/user/status/<nik>``. It **signs for real**
with pyHanko (`toolkit.signing.pdf`), with keys of its own CA (``ca_pem`` is the trust root to verify
with), and answers the documented error cases: wrong passphrase (HTTP 400, status_code 2031), NIK not
registered (400, 2011), certificate expired (400, 2021 — the code is this fake's choice; the real
service's code for it is not documented in the sources we had) and a missing or wrong Basic auth (401).
Users are added with `add_user`; their passphrases are compared as SHA-256 digests in memory.
Served on loopback by the caller (``tests/support/http_listener.Listener``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr
from werkzeug.wrappers import Request, Response

from toolkit.at_rest import Sealer
from toolkit.ports.signing import SignatureBox, SignerIdentity
from toolkit.signing.ca import LocalCa
from toolkit.signing.pdf import sign_pdf


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")

class BsreFake:
    def __init__(self, username: str = "spbe", password: str = "rahasia-api") -> None:  # noqa: S107 - test credential
        self._auth = (username, password)
        self._dir = Path(tempfile.mkdtemp(prefix="bsre-fake-"))
        # The fake's own CA key is sealed under a throwaway key (the fake lives as long as its process).
        throwaway = SecretStr(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        self.ca = LocalCa(self._dir, sealer=Sealer(throwaway))
        self.ca.init("Balai Sertifikasi Elektronik (fake)")
        self.ca_pem = self._dir / "ca.crt"
        self.users: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, bytes] = {}
        self.calls: list[str] = []

    def add_user(self, nik: str, name: str, passphrase: str, *, expired: bool = False) -> None:
        identity = SignerIdentity(username=f"u{nik}", name=name, role="Penandatangan", nik=nik)
        # The fake keeps each key under an internal passphrase; the user's is checked by digest.
        internal = secrets.token_urlsafe(16)
        self.ca.issue(identity, SecretStr(internal), valid_days=1 if expired else 365)
        self.users[nik] = {"identity": identity, "digest": hashlib.sha256(passphrase.encode()).digest(),
                           "internal": internal, "expired": expired}

    def __call__(self, request: Request) -> Response:
        self.calls.append(f"{request.method} {request.path}")
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != self._auth:
            return _json({"error": "Unauthorized", "status_code": 401}, 401)
        if request.method == "POST" and request.path == "/api/sign/pdf":
            return self._sign(request)
        if request.method == "GET" and request.path.startswith("/api/user/status/"):
            return self._status(request.path.rsplit("/", 1)[-1])
        if request.method == "GET" and request.path.startswith("/api/sign/download/"):
            found = self.documents.get(request.path.rsplit("/", 1)[-1])
            return Response(found, mimetype="application/pdf") if found else _json(
                {"error": "Dokumen tidak ditemukan", "status_code": 404}, 404)
        return _json({"error": "Not found"}, 404)

    def _status(self, nik: str) -> Response:
        user = self.users.get(nik)
        if user is None:
            return _json({"status_code": 1110, "status": "NOT_REGISTERED", "message": "User tidak terdaftar"}, 200)
        if user["expired"]:
            return _json({"status_code": 1112, "status": "EXPIRED", "message": "Sertifikat kedaluwarsa"}, 200)
        return _json({"status_code": 1111, "status": "ISSUE", "message": "Sertifikat aktif"}, 200)

    def _sign(self, request: Request) -> Response:
        form, upload = request.form, request.files.get("file")
        content = upload.read() if upload is not None else b""
        for part in request.files.values():
            part.close()  # werkzeug spools uploads to a temporary file
        if upload is None or form.get("tampilan") not in ("visible", "invisible"):
            return _json({"error": "Parameter tidak lengkap", "status_code": 2001}, 400)
        user = self.users.get(form.get("nik", ""))
        if user is None:
            return _json({"error": "User tidak terdaftar", "status_code": 2011}, 400)
        given = hashlib.sha256(form.get("passphrase", "").encode()).digest()
        if not hmac.compare_digest(given, user["digest"]):
            return _json({"error": "Gagal Melakukan Tanda Tangan : Passphrase anda salah", "status_code": 2031}, 400)
        if user["expired"]:
            return _json({"error": "Sertifikat sudah kedaluwarsa", "status_code": 2021}, 400)
        visible = form["tampilan"] == "visible"
        try:
            box = SignatureBox(field_name=f"bsre_{secrets.token_hex(4)}", visible=visible,
                               page=int(form.get("page", 1)), x=float(form.get("xAxis", 0)),
                               y=float(form.get("yAxis", 0)), width=float(form.get("width", 200)),
                               height=float(form.get("height", 60)))
        except ValueError:
            return _json({"error": "Parameter tampilan tidak valid", "status_code": 2002}, 400)
        identity: SignerIdentity = user["identity"]
        cert, key, ca = self.ca.unlock(identity.username, SecretStr(user["internal"]))
        try:
            signed = sign_pdf(content, identity, box, certificate=cert, key=key, chain=[ca],
                              when_label=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
        except Exception:  # noqa: BLE001 - any document the engine refuses is BSrE's "format tidak valid"
            return _json({"error": "Format Dokumen tidak valid", "status_code": 2010}, 400)
        doc_id = secrets.token_hex(12)
        self.documents[doc_id] = signed
        return Response(signed, mimetype="application/pdf", headers={"id_dokumen": doc_id})

    def expire_now(self, nik: str) -> None:
        self.users[nik]["expired"] = True

    def ca_der(self) -> bytes:
        return self.ca.ca_certificate().public_bytes(serialization.Encoding.DER)

