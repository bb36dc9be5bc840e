"""What a client sends: bodies over the limit are refused before they are read whole, hostile attachment
names and wrong content types open nothing, and a secret (an issued credential, a token) never shows in
any response but the one reveal, nor in any log line. Real server, real HTTP."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from tests.support.attachment_samples import pdf_bytes, png_bytes
from tests.web.conftest import CANARY_VAULT_SECRET, Front
from toolkit.vault import VaultMeta

LIMIT = 2 * 1024 * 1024  # the fixture's http.max_body_bytes


def _count(front: Front) -> int:
    with front.client("sari") as c:
        return int(c.get("/tickets", params={"limit": 1}).json()["total"])


def test_a_declared_oversized_body_is_refused_before_it_is_sent(front: Front) -> None:
    """Only the headers go out; the server answers 413 without waiting for a byte of the body."""
    host, port = urlsplit(front.url).hostname, urlsplit(front.url).port
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     + front.token("andi").encode() + b"\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     + f"Content-Length: {50 * LIMIT}\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its answer
            received += chunk
        answer = received.decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert '"error":"too_large"' in answer.replace(" ", "")


def test_a_streamed_oversized_body_is_cut_off(front: Front) -> None:
    before = _count(front)

    def chunks() -> Iterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.pdf\"\r\n\r\n"
        for _ in range(3 * LIMIT // 65536):
            yield b"\0" * 65536

    with front.client("andi") as c:
        response = c.post("/tickets", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert _count(front) == before


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "surat\0.pdf", "a" * 300 + ".pdf", "..", "dir/surat.pdf",
                                  "surat\n.pdf"])
def test_hostile_attachment_names_are_refused(front: Front, name: str) -> None:
    before = _count(front)
    with front.client("andi") as c:
        response = c.post("/tickets", data={"service": "uji-web", "title": "Uji nama berkas",
                                            "fields": json.dumps({"instansi": "Dinas Uji"}),
                                            "kinds": ["surat_permohonan"]},
                          files=[("files", (name, pdf_bytes(), "application/pdf"))])
    assert response.status_code == 400, response.text
    assert response.json()["fields"][0]["field"] in ("surat_permohonan", "files")
    assert _count(front) == before


def test_a_wrong_content_type_is_refused_whatever_the_client_claims(front: Front) -> None:
    before = _count(front)
    with front.client("andi") as c:
        response = c.post("/tickets", data={"service": "uji-web", "title": "Uji jenis berkas",
                                            "fields": json.dumps({"instansi": "Dinas Uji"}),
                                            "kinds": ["surat_permohonan"]},
                          files=[("files", ("surat.pdf", png_bytes(), "application/pdf"))])
    assert response.status_code == 400
    assert response.json()["fields"] == [{"field": "surat_permohonan",
                                          "problem": "'surat.pdf' must be application/pdf, got image/png"}]
    assert _count(front) == before


def test_secrets_appear_once_in_the_reveal_and_never_elsewhere(front: Front, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ticket = front.open_ticket("andi")
    front.app.vault.put(ticket["id"], "api-key", SecretStr(CANARY_VAULT_SECRET),
                        meta=VaultMeta(recipient="andi", label="Kunci API uji", attributes={"consumer": "uji"}))
    token = front.token("andi")
    bodies: list[str] = []
    with front.client("andi") as c:
        for path in (f"/tickets/{ticket['id']}", f"/tickets/{ticket['id']}/secrets", "/tickets", "/me"):
            bodies.append(c.get(path).text)
        revealed = c.post(f"/tickets/{ticket['id']}/secrets/api-key/reveal")
        assert revealed.status_code == 200 and revealed.json()["secret"] == CANARY_VAULT_SECRET
        again = c.post(f"/tickets/{ticket['id']}/secrets/api-key/reveal")
        assert again.status_code == 409
        bodies += [again.text, c.get(f"/tickets/{ticket['id']}/secrets").text]
    with front.client("budi") as c:
        bodies.append(c.post(f"/tickets/{ticket['id']}/secrets/api-key/reveal").text)
    with front.client("sari") as c:
        bodies += [c.get(f"/tickets/{ticket['id']}/secrets").text, c.get(f"/tickets/{ticket['id']}").text]
    for text in bodies:
        assert CANARY_VAULT_SECRET not in text and token not in text
    logged = caplog.text + "".join(json.dumps(e.data) for e in front.app.audit.entries())
    assert CANARY_VAULT_SECRET not in logged and token not in logged
    assert [e.data["auth"] for e in front.audit("secret.reveal") if e.ticket_id == ticket["id"]] == ["token"]
