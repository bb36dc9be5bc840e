"""What the remote CLI refuses before anything leaves the machine, and the credentials file's checks.

Hostile input is sent to a loopback listener that records every request it gets: a refusal is exit 2
(or 4 for ``--as``) and the listener saw nothing. The credentials file is refused (exit 8) when it is
readable by others, a link, not a regular file or another account's, and `spbe logout` still revokes a
token whose file was exposed."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.support.cli import Spbe
from tests.web.conftest import Front
from toolkit.cli import remote


class Recorder:
    """A listener on loopback that notes every request line and answers 500."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                outer.seen.append(f"{self.command} {self.path}")
                self.send_error(500)

            do_GET = do_POST = do_DELETE = _any  # noqa: N815 - the http.server API

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Recorder, Spbe]]:
    listener = Recorder()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    remote.save(remote.Credentials(server=listener.url, token=SecretStr("spbe_pat_0123456789abcdef_" + "A" * 43)))
    try:
        yield listener, Spbe()
    finally:
        listener.close()


HOSTILE = [
    ("ticket", "approve", "../jobs/1/retry", "--reason", "ok"),
    ("ticket", "approve", "SPBE-2026-00001?x=1", "--reason", "ok"),
    ("ticket", "approve", "SPBE-2026-00001", "--reason", "ok\x1b[31m merah"),
    ("ticket", "defer", "SPBE-2026-00001", "--reason", "a\u202eb"),
    ("ticket", "comment", "SPBE-2026-00001", "{{ lookup('pipe', 'id') }}"),
    ("ticket", "close", "SPBE-2026-00001", "--note", "baris\u2028baru"),
    ("ticket", "return", "SPBE-2026-00001", "--missing", "../surat", "--note", "lengkapi"),
    ("ticket", "assign", "SPBE-2026-00001", "sari/../../admin"),
    ("ticket", "advance", "SPBE-2026-00001", "--step", "a b", "--note", "x"),
    ("ticket", "decide", "SPBE-2026-00001", "--set", "jenis_insiden=umum\x00", "--reason", "x"),
    ("ticket", "open", "uji-web", "--title", "judul\nkedua", "-f", "instansi=Dinas"),
    ("ticket", "open", "uji-web", "--title", "Judul", "-f", "instansi=Dinas\x07"),
    ("ticket", "open", "../catalog", "--title", "Judul", "-f", "instansi=Dinas"),
    ("ticket", "open", "uji-web", "--title", "Judul", "-a", "surat_permohonan=/dev/zero"),
    ("ticket", "open", "uji-web", "--title", "Judul", "-a", "surat_permohonan=/nonexistent/surat.pdf"),
    ("ticket", "list", "--service", "a/b"),
    ("ticket", "show", "SPBE-2026-00001/../../me"),
    ("jobs", "list", "--ticket", "x y"),
    ("secret", "reveal", "SPBE-2026-00001", "--name", "../../me/token"),
]


@pytest.mark.parametrize("argv", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_is_refused_before_anything_is_sent(recorder: tuple[Recorder, Spbe],
                                                          argv: tuple[str, ...]) -> None:
    listener, spbe = recorder
    result = spbe(*argv)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert listener.seen == []


def test_as_is_refused_before_anything_is_sent(recorder: tuple[Recorder, Spbe]) -> None:
    listener, spbe = recorder
    for argv in (("ticket", "approve", "SPBE-2026-00001", "--as", "kadis", "--reason", "ok"),
                 ("ticket", "show", "SPBE-2026-00001", "--as", "sari"), ("jobs", "retry", "1", "--as", "rudi")):
        result = spbe(*argv)
        assert result.exit_code == 4 and "--as is not honoured" in " ".join(result.output.split()), result.output
    assert listener.seen == []


def test_a_server_that_answers_badly_is_an_error_not_a_traceback(recorder: tuple[Recorder, Spbe]) -> None:
    listener, spbe = recorder
    result = spbe("ticket", "list")
    assert result.exit_code == 1 and "HTTP 500" in result.output and listener.seen == ["GET /api/v1/tickets?"
                                                                                       "offset=0&limit=500"]


def test_server_option_insists_on_a_login_to_that_server(recorder: tuple[Recorder, Spbe]) -> None:
    listener, spbe = recorder
    other = spbe("--server", "http://127.0.0.1:9", "ticket", "list")
    assert other.exit_code == 8 and "not logged in to http://127.0.0.1:9" in other.output
    assert spbe("ticket", "list", env={"SPBE_SERVER": "http://example.go.id"}).exit_code == 2  # https only
    assert listener.seen == []


def _credentials(tmp_path: Path) -> Path:
    return tmp_path / "config" / "spbe" / "credentials"


def test_a_credentials_file_others_may_read_is_refused(recorder: tuple[Recorder, Spbe], tmp_path: Path) -> None:
    listener, spbe = recorder
    path = _credentials(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    path.chmod(0o640)
    result = spbe("ticket", "list")
    assert result.exit_code == 8 and "readable by others" in result.output
    assert listener.seen == []


def test_a_linked_or_special_credentials_file_is_refused(recorder: tuple[Recorder, Spbe], tmp_path: Path) -> None:
    listener, spbe = recorder
    path = _credentials(tmp_path)
    real = path.with_name("real")
    path.rename(real)
    path.symlink_to(real)
    linked = spbe("ticket", "list")
    assert linked.exit_code == 8 and "symbolic link" in linked.output
    path.unlink()
    os.mkfifo(path, 0o600)
    fifo = spbe("jobs", "list")
    assert fifo.exit_code == 8 and "not a regular file" in fifo.output
    assert listener.seen == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the file to another account needs root")
def test_another_accounts_credentials_file_is_refused(recorder: tuple[Recorder, Spbe], tmp_path: Path) -> None:
    listener, spbe = recorder
    os.chown(_credentials(tmp_path), 65534, 65534)
    result = spbe("ticket", "list")
    assert result.exit_code == 8 and "another account" in result.output and listener.seen == []


def test_logout_revokes_a_token_whose_file_was_exposed(front: Front, tmp_path: Path) -> None:
    token = front.token("andi", "read", expires="5h")
    spbe = Spbe(env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert spbe("login", "--server", front.url, input=token + "\n").exit_code == 0
    _credentials(tmp_path).chmod(0o644)
    assert spbe("ticket", "list").exit_code == 8
    out = spbe("logout")
    assert out.exit_code == 0 and not _credentials(tmp_path).exists(), out.output
    with httpx.Client(base_url=front.api, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/me").status_code == 401


def test_logout_from_a_server_that_does_not_answer_fails_but_forgets(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.smtp_sink import free_port

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    remote.save(remote.Credentials(server=f"http://127.0.0.1:{free_port()}", token=SecretStr("spbe_pat_x")))
    result = Spbe()("logout")
    assert result.exit_code == 6 and "cannot be reached" in result.output and not _credentials(tmp_path).exists()
