"""The CLI from another machine (`spbe login`, `spbe ticket list/show` through the API, `spbe logout`) and
the front door started by the CLI (`spbe api-server`, `spbe serve --http`), as real processes on loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import engine_env, spbe_argv
from tests.support.cli import Spbe
from tests.support.smtp_sink import free_port
from tests.web.conftest import Front


@pytest.fixture
def remote(tmp_path: Path) -> Spbe:
    """The CLI with its own config home and no state directory of the server's."""
    return Spbe(env={"XDG_CONFIG_HOME": str(tmp_path / "config")})


def test_login_stores_a_checked_token_privately_and_list_and_show_go_through_the_api(
        front: Front, remote: Spbe, tmp_path: Path) -> None:
    ticket = front.open_ticket("andi")
    other = front.open_ticket("budi")
    token = front.token("andi", "read")
    refused = remote("login", "--server", front.url, input="spbe_pat_0000000000000000_" + "A" * 43 + "\n")
    assert refused.exit_code == 4, refused.output  # 401 is an authentication error: exit 4 as on the CLI
    credentials = tmp_path / "config" / "spbe" / "credentials"
    assert not credentials.exists()
    assert remote("login", "--server", "http://example.go.id", input=token + "\n").exit_code == 2  # no clear text
    done = remote("login", "--server", front.url, input=token + "\n")
    assert done.exit_code == 0, done.output
    assert "andi" in done.output and token not in done.output
    assert credentials.stat().st_mode & 0o777 == 0o600 and credentials.parent.stat().st_mode & 0o777 == 0o700
    listed = remote.json("ticket", "list")
    ids = {t["id"] for t in listed}
    assert ticket["id"] in ids and other["id"] not in ids  # the server decides what andi sees
    shown = remote.json("ticket", "show", ticket["id"])
    assert shown["ticket"]["id"] == ticket["id"] and shown["current_step"] == "pemeriksaan"
    table = remote("ticket", "list", env={"COLUMNS": "80"})
    assert ticket["id"] in table.output
    assert remote("ticket", "show", other["id"]).exit_code == 3  # not found, as locally
    assert remote("logout").exit_code == 0 and not credentials.exists()


def _wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer")


@pytest.mark.parametrize("argv", [("api-server", "--bind"), ("serve", "--workers", "1", "--http")])
def test_the_cli_serves_the_front_door(state_dir: Path, argv: tuple[str, ...]) -> None:
    port = free_port()
    process = subprocess.Popen(spbe_argv("--state-dir", str(state_dir), *argv, f"127.0.0.1:{port}"),
                               env=engine_env(state_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(url, process)
        assert httpx.get(url + "/readyz").json() == {"status": "ready", "checks": {"tickets": "ok", "queue": "ok"}}
        assert httpx.get(url + "/api/v1/tickets").status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()[-2000:]


def test_a_non_loopback_bind_needs_the_setting_in_writing(state_dir: Path) -> None:
    result = subprocess.run(spbe_argv("--state-dir", str(state_dir), "api-server", "--bind", "0.0.0.0:0"),  # noqa: S104
                            env=engine_env(state_dir), capture_output=True, timeout=60, check=False)
    assert result.returncode == 8 and re.search(rb"allow_non_loopback", result.stderr)
    assert os.environ.get("SPBE_HTTP__ALLOW_NON_LOOPBACK") is None
