"""The CLI against a remote spbe: the stored credentials and a small HTTP client of the API.

``spbe login --server URL`` keeps the server and a personal access token in
``$XDG_CONFIG_HOME/spbe/credentials`` (default ``~/.config``), a JSON file created 0600 in a 0700
directory, never following a link. Reading it refuses a link, a file another account owns and a file
anyone else may read (exit 8): the token acts as its person, so a copy others could have read or
swapped is not used. The token travels only over HTTPS, or plain HTTP to a loopback address (a
tunnel, a test), and only in the Authorization header: never in a message, a log record or a URL.
API errors come back as the same `ToolkitError` kinds, so a remote command exits with the same codes
as a local one.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from toolkit.errors import (
    ConfigurationError,
    InvalidInputError,
    ToolkitError,
    UnavailableError,
)
from toolkit.observability.config import is_loopback
from toolkit.web.kinds import KINDS

RELOGIN = ("the server refused the token (unknown, expired or revoked): make a new one there (spbe token create) "
           "and run 'spbe login --server {}'")


class Credentials(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    server: str
    token: SecretStr


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "spbe" / "credentials"


def check_server(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.query or parts.fragment:
        raise InvalidInputError("--server must be an http(s) URL like https://layanan.example.go.id",
                                errors=[("server", "format")])
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InvalidInputError("--server must use https (the token would cross the network in clear); plain http is "
                                "accepted for loopback addresses only", errors=[("server", "not https")])
    return url.rstrip("/")


def save(creds: Credentials) -> Path:
    path = credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    data = json.dumps({"server": creds.server, "token": creds.token.get_secret_value()}).encode()
    tmp = path.with_name(".credentials.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def load(*, exposed_ok: bool = False) -> Credentials | None:
    """The stored credentials, or None when there are none. ``exposed_ok`` (logout only) reads a file
    others could read, so that its possibly exposed token is revoked rather than left valid."""
    path = credentials_path()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO must not hang us
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigurationError(f"{path} is a symbolic link: credentials are read from a file only") from None
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigurationError(f"{path} is not a regular file: remove it and run 'spbe login' again")
        if info.st_uid != os.geteuid():
            raise ConfigurationError(f"{path} belongs to another account: remove it and run 'spbe login' again")
        if info.st_mode & 0o077 and not exposed_ok:
            raise ConfigurationError(f"{path} is readable by others: chmod 600 it, or run 'spbe login' again")
        raw = os.read(fd, 65536)
    finally:
        os.close(fd)
    try:
        return Credentials.model_validate_json(raw)
    except ValueError:
        raise ConfigurationError(f"{path} is not valid: run 'spbe login' again") from None


def load_for_logout() -> Credentials | None:
    return load(exposed_ok=True)


def forget() -> bool:
    try:
        credentials_path().unlink()
    except FileNotFoundError:
        return False
    return True


class RemoteClient:
    """httpx against ``SERVER/api/v1`` with the token in the Authorization header; an error answer is
    raised as the `ToolkitError` of its ``error`` kind, the server's message prefixed with the server."""

    def __init__(self, creds: Credentials, timeout: float = 30.0) -> None:
        self.server = creds.server
        self._client = httpx.Client(base_url=creds.server + "/api/v1", timeout=timeout, follow_redirects=False,
                                    headers={"Authorization": f"Bearer {creds.token.get_secret_value()}"})

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise UnavailableError(f"spbe at {self.server} cannot be reached ({type(exc).__name__})") from None
        if not response.is_success:  # a redirect too: the API never sends one, a portal or proxy in front might
            try:
                body = response.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}  # a proxy's page, or not spbe at all: the status is all there is
            message = str(body.get("message") or "") or f"HTTP {response.status_code}"
            cls = KINDS.get(str(body.get("error")), ToolkitError)
            if response.status_code == 401:
                message = f"{message}; {RELOGIN.format(self.server)}"
            listed = body.get("fields")
            fields = [(f.get("field", ""), f.get("problem", "")) for f in (listed if isinstance(listed, list) else [])
                      if isinstance(f, dict)]
            raise cls(f"{self.server}: {message}", errors=fields)
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            raise UnavailableError(f"{self.server} did not answer as the spbe API does (not JSON): is --server "
                                   "the spbe front door?") from None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})
